"""WebSocket listeners (`protocol websockets`), plain and over TLS, with real peers: MQTT.js in
node over ws:// and wss:// (MQTT 3.1.1 and 5.0), `mq sub --ws`, headless Chromium running
MQTT.js in a page, and raw sockets for malformed upgrades and frames. Debian's mosquitto is
built without WebSockets, so these tests are mq-only.

  MQ_BIN=build/mq /usr/bin/python3 -m pytest -q tests/integration/test_websockets.py
"""

import base64
import http.server
import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import paho.mqtt.client as paho
import pytest

import brokers
import mqttraw as mr
from brokers import free_port, stop_process, wait_until

MQ_BIN = os.environ.get("MQ_BIN", "")
HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "js")
HAVE_JS = shutil.which("node") and os.path.isdir(os.path.join(JS, "node_modules", "mqtt"))
CHROMIUM = shutil.which("chromium")

pytestmark = [pytest.mark.mq_only,
              pytest.mark.skipif(not MQ_BIN, reason="MQ_BIN not set")]


def run(argv, timeout=20, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("wspki")
    r = run([MQ_BIN, "certgen", "all", "--dir", str(d)])
    assert r.returncode == 0, r.stderr
    return d


class WsBroker:
    def __init__(self, start_broker, tls_dir=None, extra=""):
        self.ws_port = free_port()
        conf = "listener %d 127.0.0.1\nprotocol websockets\n" % self.ws_port
        if tls_dir:
            conf += "certfile %s\nkeyfile %s\n" % (tls_dir / "server.crt", tls_dir / "server.key")
        self.b = start_broker(conf + extra)
        assert brokers.wait_for_port(self.ws_port, 5.0, self.b.proc), self.b.log()
        self.port = self.b.port


def run_js(port, version, scheme="ws", path="/mqtt", ca=None, tls=None):
    env = dict(os.environ)
    if ca:
        env["NODE_EXTRA_CA_CERTS"] = str(ca)
    extra = ["--tls=%s" % tls] if tls else []
    res = subprocess.run(["node", os.path.join(JS, "roundtrip.js"), "--port=%d" % port,
                          "--version=%d" % version, "--scheme=%s" % scheme, "--path=%s" % path]
                         + extra, capture_output=True, timeout=20, env=env)
    assert res.returncode == 0, (res.stdout, res.stderr)
    return json.loads(res.stdout.decode().strip().splitlines()[-1])


@pytest.mark.skipif(not HAVE_JS, reason="node or MQTT.js missing")
@pytest.mark.parametrize("version", [4, 5])
def test_mqttjs_over_ws(start_broker, version):
    wb = WsBroker(start_broker)
    out = run_js(wb.ws_port, version)
    assert out.get("ok"), out
    got = {m["topic"].rsplit("/", 1)[1]: (m["payload"], m["qos"]) for m in out["got"]}
    assert got == {"q0": ("zero", 0), "q1": ("one", 1), "q2": ("two", 2), "r": ("kept", 1)}


@pytest.mark.skipif(not HAVE_JS, reason="node or MQTT.js missing")
@pytest.mark.parametrize("version", [4, 5])
def test_mqttjs_over_wss(start_broker, pki, version):
    wb = WsBroker(start_broker, tls_dir=pki)
    out = run_js(wb.ws_port, version, scheme="wss", ca=pki / "ca.crt")
    assert out.get("ok"), out


@pytest.mark.skipif(not HAVE_JS, reason="node or MQTT.js missing")
@pytest.mark.parametrize("tls", ["TLSv1.3", "TLSv1.2"])
def test_mqttjs_over_wss_each_tls_version(start_broker, pki, tls):
    """node limited to exactly one TLS version still gets through wss://."""
    wb = WsBroker(start_broker, tls_dir=pki)
    out = run_js(wb.ws_port, 5, scheme="wss", ca=pki / "ca.crt", tls=tls)
    assert out.get("ok"), out


def test_ws_and_tcp_clients_meet(start_broker):
    """mq sub --ws on the WebSocket listener gets what paho publishes on the TCP listener,
    and the other way round."""
    wb = WsBroker(start_broker)
    sub = subprocess.Popen([MQ_BIN, "sub", "--ws", "-h", "127.0.0.1", "-p", str(wb.ws_port),
                            "-t", "w/#", "-v", "-C", "1", "-W", "10"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def published():
            if sub.poll() is not None:
                return True
            run([MQ_BIN, "pub", "-h", "127.0.0.1", "-p", str(wb.port), "-t", "w/1", "-m", "x"])
            return False
        wait_until(published, 10, 0.2)
        out, err = sub.communicate(timeout=10)
        assert (sub.returncode, out) == (0, b"w/1 x\n"), err
    finally:
        stop_process(sub)
    # mq pub over ws -> paho on TCP.
    assert paho_receives(wb.port, "w2/#", [MQ_BIN, "pub", "--ws", "-h", "127.0.0.1", "-p",
                                           str(wb.ws_port), "-t", "w2/a", "-m", "over-ws",
                                           "-q", "1"]) == ("w2/a", b"over-ws")


def paho_receives(port, topic_filter, pub_argv):
    """Runs `pub_argv` (every 0.2 s, at most 10 s) until a paho subscriber to `topic_filter` on
    the TCP listener `port` gets a message; returns its (topic, payload)."""
    got = queue.Queue()
    c = paho.Client(client_id="ws-check")
    c.on_message = lambda cl, u, m: got.put((m.topic, m.payload))
    c.connect("127.0.0.1", port)
    c.subscribe(topic_filter, 1)
    c.loop_start()
    try:
        def sent():
            run(pub_argv)
            return not got.empty()
        assert wait_until(sent, 10, 0.2)
        return got.get()
    finally:
        c.loop_stop()
        c.disconnect()


def ws_upgrade(port, headers=None, path="/mqtt", protocol="mqtt"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    lines += headers or []
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return s


def read_http(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def frame(payload, opcode=2, masked=True, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def closed_soon(s, timeout=5.0):
    """True when the peer closes the TCP connection (after any close frame) in time."""
    s.settimeout(timeout)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_raw_upgrade_split_packets_and_bad_frames(start_broker):
    wb = WsBroker(start_broker)
    s = ws_upgrade(wb.ws_port)
    resp = read_http(s)
    assert resp.startswith(b"HTTP/1.1 101"), resp
    assert b"sec-websocket-protocol: mqtt" in resp.lower()
    # A CONNECT split over three frames, byte boundaries anywhere.
    pkt = mr.connect("raw-ws")
    s.sendall(frame(pkt[:3]) + frame(pkt[3:9]) + frame(pkt[9:]))
    s.settimeout(5)
    got = s.recv(64)
    assert got[:2] == b"\x82\x04" and got[2:6] == b"\x20\x02\x00\x00", got  # unmasked CONNACK
    # An unmasked client frame is a protocol error: the connection closes, others are fine.
    s.sendall(frame(b"\xc0\x00", masked=False))
    assert closed_soon(s)
    brokers.assert_broker_alive(wb.port)
    # A text frame: closed (MQTT is binary).
    s = ws_upgrade(wb.ws_port)
    assert read_http(s).startswith(b"HTTP/1.1 101")
    s.sendall(frame(b"hello", opcode=1))
    assert closed_soon(s)
    # A malformed upgrade request gets an HTTP error and a close.
    s = socket.create_connection(("127.0.0.1", wb.ws_port), timeout=5)
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = read_http(s)
    assert resp.startswith(b"HTTP/1.1 4"), resp
    assert closed_soon(s)
    # Oversized headers.
    s = ws_upgrade(wb.ws_port, headers=["X-Pad: " + "a" * 20000])
    resp = read_http(s)
    assert resp == b"" or resp.startswith(b"HTTP/1.1 4"), resp
    assert closed_soon(s)
    # A connection that never finishes its upgrade does not block anyone.
    idle = socket.create_connection(("127.0.0.1", wb.ws_port), timeout=5)
    idle.sendall(b"GET /mqtt HTTP/1.1\r\n")
    brokers.assert_broker_alive(wb.port)
    idle.close()


def test_websockets_origin(start_broker):
    wb = WsBroker(start_broker, extra="websockets_origin http://good.example\n")
    s = ws_upgrade(wb.ws_port, headers=["Origin: http://evil.example"])
    assert read_http(s).startswith(b"HTTP/1.1 403")
    s = ws_upgrade(wb.ws_port, headers=["Origin: http://good.example"])
    assert read_http(s).startswith(b"HTTP/1.1 101")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.mark.skipif(not CHROMIUM or not HAVE_JS, reason="chromium or MQTT.js missing")
def test_headless_chromium_mqttjs(start_broker, tmp_path):
    """A real browser: Chromium loads a page whose MQTT.js publishes and echoes over ws://."""
    wb = WsBroker(start_broker)
    handler = lambda *a, **kw: _QuietHandler(*a, directory=JS, **kw)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    got = queue.Queue()
    c = paho.Client(client_id="browser-watch")
    c.on_message = lambda cl, u, m: got.put((m.topic, m.payload))
    c.connect("127.0.0.1", wb.port)
    c.subscribe("browser/#", 1)
    c.loop_start()
    url = "http://127.0.0.1:%d/browser.html?port=%d" % (httpd.server_address[1], wb.ws_port)
    profile = tempfile.mkdtemp(dir=str(tmp_path))
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-port=0", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        topic, payload = got.get(timeout=30)
        assert (topic, payload) == ("browser/hello", b"chrome")
        deadline = time.monotonic() + 10
        echo = None
        while echo is None and time.monotonic() < deadline:
            c.publish("browser/in", b"ping-from-test", 1)
            try:
                t, p = got.get(timeout=0.5)
                if t == "browser/echo":
                    echo = p
            except queue.Empty:
                pass
        assert echo == b"ping-from-test"
    finally:
        browser.kill()
        browser.wait(10)
        c.loop_stop()
        c.disconnect()
        httpd.shutdown()


def test_mq_sub_over_wss(start_broker, pki):
    wb = WsBroker(start_broker, tls_dir=pki)
    sub = subprocess.Popen([MQ_BIN, "sub", "--ws", "--cafile", str(pki / "ca.crt"),
                            "-h", "localhost", "-p", str(wb.ws_port), "-t", "s/#", "-v",
                            "-C", "1", "-W", "10"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def published():
            if sub.poll() is not None:
                return True
            run([MQ_BIN, "pub", "-h", "127.0.0.1", "-p", str(wb.port), "-t", "s/1", "-m", "y"])
            return False
        wait_until(published, 10, 0.2)
        out, err = sub.communicate(timeout=10)
        assert (sub.returncode, out) == (0, b"s/1 y\n"), err
    finally:
        stop_process(sub)


def test_url_ws_path_and_topic(start_broker):
    """-L ws://host:port/mqtt/w3/x (Mosquitto 2.1): the first path level is the WebSocket path,
    the rest is the topic. The upgrade request is read by a plain socket first (its request
    line), then the message goes through the broker on topic w3/x."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(10)
    port = lsock.getsockname()[1]
    pub = subprocess.Popen([MQ_BIN, "pub", "-L", "ws://127.0.0.1:%d/mqtt/w3/x" % port, "-m", "hi"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn, _ = lsock.accept()
        conn.settimeout(5)
        request = b""
        while b"\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                break
            request += chunk
        conn.close()
        assert request.startswith(b"GET /mqtt HTTP/1.1\r\n"), request[:80]
    finally:
        stop_process(pub)
        lsock.close()

    wb = WsBroker(start_broker)
    assert paho_receives(wb.port, "w3/#", [MQ_BIN, "pub", "-L",
                                           "ws://127.0.0.1:%d/mqtt/w3/x" % wb.ws_port, "-m", "hi",
                                           "-q", "1"]) == ("w3/x", b"hi")
