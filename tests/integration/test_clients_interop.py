"""Interoperability with real peers: Debian's mosquitto_pub / mosquitto_sub and paho-mqtt."""

import queue
import subprocess
import threading
import time

import paho.mqtt.client as paho
import pytest

import mqttraw as mr
from brokers import stop_process

PUB = "/usr/bin/mosquitto_pub"
SUB = "/usr/bin/mosquitto_sub"


def start_sub(port, topic, *extra, count=1):
    """mosquitto_sub that exits after `count` messages or 10 s (-W)."""
    return subprocess.Popen([SUB, "-h", "127.0.0.1", "-p", str(port), "-t", topic,
                             "-C", str(count), "-W", "10"] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_pub(port, *args, **kw):
    res = subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(port)] + list(args),
                         capture_output=True, timeout=10, **kw)
    assert res.returncode == 0, res.stderr
    return res


def sub_output(proc):
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        raise
    assert proc.returncode == 0, (proc.returncode, err)
    return out.decode()


class LiveSub:
    """A running mosquitto_sub whose output lines are read by a thread. It also subscribes
    to a probe topic, so the test can wait (bounded) until it is really subscribed."""

    def __init__(self, port, topic, *extra):
        self.port = port
        self.probe = "probe/%d" % id(self)
        self.proc = subprocess.Popen(
            [SUB, "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-t", self.probe,
             "-F", "%t|%q|%r|%P|%p"] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_ready()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode().rstrip("\n"))

    def _wait_ready(self):
        c = mr.client(self.port, "probe-%d" % id(self))
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                c.pub(self.probe, b"probe")
                try:
                    line = self.lines.get(timeout=0.1)
                    assert line.startswith(self.probe + "|"), line
                    return
                except queue.Empty:
                    pass
            pytest.fail("mosquitto_sub never subscribed")
        finally:
            c.disconnect()

    def next(self, timeout=5):
        """Next non-probe line as (topic, qos, retain, user props, payload)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if not line.startswith(self.probe + "|"):
                return tuple(line.split("|", 4))

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def live_sub(port):
    subs = []

    def start(topic, *extra):
        s = LiveSub(port, topic, *extra)
        subs.append(s)
        return s
    yield start
    for s in subs:
        s.stop()


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_sub_round_trip(port, live_sub, version):
    sub = live_sub("cli/t", "-V", version)
    run_pub(port, "-V", version, "-t", "cli/t", "-m", "hello " + version)
    assert sub.next() == ("cli/t", "0", "0", "", "hello " + version)


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_retained(port, version):
    run_pub(port, "-V", version, "-t", "cli/ret", "-m", "kept", "-r")
    sub = start_sub(port, "cli/ret", "-V", version, "-F", "%t|%r|%p")
    assert sub_output(sub).strip() == "cli/ret|1|kept"


def test_mosquitto_sub_retained_only_flag(port):
    run_pub(port, "-t", "cli/ro", "-m", "old", "-r", "-q", "1")
    # --retained-only: print retained messages, exit at the first non-retained one
    sub = start_sub(port, "cli/ro", "--retained-only", "-v")
    assert sub_output(sub).strip() == "cli/ro old"


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_sub_qos2(port, live_sub, version):
    sub = live_sub("cli/q2", "-V", version, "-q", "2")
    run_pub(port, "-V", version, "-q", "2", "-t", "cli/q2", "-m", "exactly once")
    assert sub.next() == ("cli/q2", "2", "0", "", "exactly once")


def test_mosquitto_pub_multiple_lines(port, live_sub):
    sub = live_sub("cli/lines", "-q", "1")
    run_pub(port, "-t", "cli/lines", "-l", "-q", "1", input=b"a\nb\nc\n")
    assert [sub.next()[4] for _ in range(3)] == ["a", "b", "c"]


def test_mosquitto_pub_v5_user_property(port, live_sub):
    sub = live_sub("cli/up", "-V", "mqttv5")
    run_pub(port, "-V", "mqttv5", "-t", "cli/up", "-m", "x",
            "-D", "publish", "user-property", "key", "val")
    assert sub.next() == ("cli/up", "0", "0", "key:val", "x")


def _paho_round_trip(port, protocol, qos):
    got = []
    subscribed = threading.Event()
    arrived = threading.Event()

    def on_subscribe(client, userdata, mid, *args):
        subscribed.set()

    def on_message(client, userdata, msg):
        got.append((msg.topic, msg.payload, msg.qos))
        arrived.set()

    sub = paho.Client("paho-sub-%d" % protocol, protocol=protocol)
    pub = paho.Client("paho-pub-%d" % protocol, protocol=protocol)
    sub.on_subscribe = on_subscribe
    sub.on_message = on_message
    try:
        sub.connect("127.0.0.1", port, 30)
        sub.loop_start()
        sub.subscribe("paho/t", qos=qos)
        assert subscribed.wait(5)
        pub.connect("127.0.0.1", port, 30)
        pub.loop_start()
        info = pub.publish("paho/t", b"via paho", qos=qos)
        info.wait_for_publish(5)
        assert info.is_published()
        assert arrived.wait(5)
        assert got == [("paho/t", b"via paho", qos)]
    finally:
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_paho_v311_round_trip(port, qos):
    _paho_round_trip(port, paho.MQTTv311, qos)


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_paho_v5_round_trip(port, qos):
    _paho_round_trip(port, paho.MQTTv5, qos)


def test_paho_v31_round_trip(port):
    _paho_round_trip(port, paho.MQTTv31, 1)


def test_paho_will_on_abnormal_close(port, conns):
    w = conns(mr.client(port, "paho-will-watch"))
    w.sub("paho/will", 1)
    c = paho.Client("paho-dying", protocol=paho.MQTTv311)
    c.will_set("paho/will", b"paho gone", qos=1)
    c.connect("127.0.0.1", port, 30)
    c.loop(1.0)                       # send CONNECT, read CONNACK
    c.socket().close()                # die without DISCONNECT
    p = w.recv_publish()
    assert (p.topic, p.payload) == ("paho/will", b"paho gone")
