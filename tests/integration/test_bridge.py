"""Bridges (mosquitto.conf `connection`): the broker under test bridging to Debian's real
Mosquitto, and Debian's Mosquitto bridging into the broker under test.

The "peer" is always /usr/sbin/mosquitto on its own free port; the broker under test is mq serve
(or Mosquitto too with MQ_TEST_REFERENCE=1, which validates these tests). Readiness is polled:
probe messages are published until one crosses the bridge, never a fixed sleep.
"""

import os
import signal
import socket
import struct
import subprocess
import time

import pytest

import brokers
import mqttraw as mr

PUB = "/usr/bin/mosquitto_pub"
SUB = "/usr/bin/mosquitto_sub"


class Peer(brokers.Broker):
    """Debian's Mosquitto whatever the broker under test is; restartable on the same port."""

    def start(self, attempts=5):
        for _ in range(attempts):
            if self.port is None:
                self.port = brokers.free_port()
            self.write_conf()
            self.proc = subprocess.Popen(
                [brokers.MOSQUITTO, "-c", self.conf_path], cwd=self.dir,
                stdin=subprocess.DEVNULL, stdout=open(self.stdout_path, "ab"),
                stderr=open(self.stderr_path, "ab"))
            if brokers.wait_for_port(self.port, 5.0, self.proc):
                return self
            brokers.stop_process(self.proc, 1.0)
            self.port = None
        raise RuntimeError("peer mosquitto did not start:\n" + self.log())


@pytest.fixture
def peer(tmp_path):
    """Factory: peer(conf) -> a running Debian Mosquitto; stopped (by pid) at teardown."""
    started = []

    def start(conf=""):
        d = tmp_path / ("peer%d" % len(started))
        d.mkdir()
        p = Peer(d, conf)
        started.append(p)
        return p.start()

    yield start
    for p in started:
        p.stop()


def bridge_conf(name, port, topics, extra=""):
    lines = ["connection %s" % name, "address 127.0.0.1:%d" % port, "restart_timeout 1",
             "remote_clientid %s" % name]
    lines += ["topic %s" % t for t in topics]
    return "\n".join(lines) + "\n" + extra


def probe(pub_port, sub, topic, timeout=10.0):
    """Publish `topic` on pub_port every 100 ms until `sub` receives it; then drain the
    duplicates of the probe so the test starts from a quiet subscriber."""
    deadline = time.monotonic() + timeout
    c = mr.client(pub_port)
    try:
        while time.monotonic() < deadline:
            c.pub(topic, b"probe")
            try:
                p = sub.recv_publish(timeout=0.1)
            except mr.Timeout:
                continue
            if p.topic == topic:
                break
        else:
            raise AssertionError("bridge not up: no probe on %s" % topic)
    finally:
        c.disconnect()
    # Later probes may still be on their way.
    drain(sub, 0.3)


def drain(conn, quiet):
    """Read (and ack) publishes until none arrives for `quiet` seconds."""
    got = []
    while True:
        try:
            got.append(conn.recv_publish(timeout=quiet))
        except mr.Timeout:
            return got


def wait_payload(conn, payload, timeout=10.0):
    """Read publishes until one carries `payload`."""
    deadline = time.monotonic() + timeout
    while True:
        p = conn.recv_publish(timeout=max(0.0, deadline - time.monotonic()))
        if p.payload == payload:
            return p


def sub(port, filt, qos=0, version=mr.V311, cid=""):
    c = mr.client(port, cid, version=version)
    c.sub(filt, qos)
    return c


def pub_cli(port, topic, payload, qos=0, retain=False):
    argv = [PUB, "-p", str(port), "-t", topic, "-m", payload, "-q", str(qos)]
    if retain:
        argv.append("-r")
    subprocess.run(argv, check=True, timeout=10)


def test_topic_remapping_table(start_broker, peer):
    """The mosquitto.conf(5) remapping rows, out and in, with and without prefixes."""
    remote = peer()
    local = start_broker(bridge_conf("tbl", remote.port, [
        "a/# out 0 L/ R/",      # L/pattern <-> R/pattern
        "b/# in 0 L/ R/",
        "c/# out 0 \"\" R/",    # pattern <-> R/pattern
        "d/# in 0 L/ \"\"",     # L/pattern <-> pattern
        "\"\" out 0 one/local one/remote",  # single topic remap
        "\"\" in 0 two/local two/remote",
        "e/# both 0",           # no prefixes
    ]))
    lsub = sub(local.port, "#")
    rsub = sub(remote.port, "#")
    probe(local.port, rsub, "e/probe")
    drain(lsub, 0.1)
    probe(remote.port, lsub, "e/probe")
    drain(rsub, 0.2)

    # out rows: published locally, seen remotely.
    for topic, expect in [("L/a/x", "R/a/x"), ("c/x", "R/c/x"), ("one/local", "one/remote")]:
        pub_cli(local.port, topic, "out " + topic)
        p = rsub.recv_publish()
        assert (p.topic, p.payload) == (expect, b"out " + topic.encode())
        drain(lsub, 0.05)
    # Not matching an out topic: not bridged.
    pub_cli(local.port, "a/x", "no prefix")
    pub_cli(local.port, "L/b/x", "in-only topic")
    rsub.expect_silence(0.5)
    drain(lsub, 0.05)
    # in rows: published remotely, seen locally.
    for topic, expect in [("R/b/x", "L/b/x"), ("d/x", "L/d/x"), ("two/remote", "two/local")]:
        pub_cli(remote.port, topic, "in " + topic)
        got = [p for p in drain(lsub, 0.5) if p.topic == expect]
        assert [p.payload for p in got] == [b"in " + topic.encode()], (topic, got)


@pytest.mark.parametrize("qos", [1, 2])
def test_qos_end_to_end(start_broker, peer, qos):
    remote = peer()
    local = start_broker(bridge_conf("q", remote.port, ["q/# both %d" % qos]))
    lsub = sub(local.port, "q/#", qos)
    rsub = sub(remote.port, "q/#", qos)
    probe(local.port, rsub, "q/probe")
    drain(lsub, 0.1)
    probe(remote.port, lsub, "q/probe")
    drain(rsub, 0.2)

    c = mr.client(local.port)
    c.pub("q/out", b"local", qos=qos)
    p = rsub.recv_publish()
    assert (p.topic, p.payload, p.qos) == ("q/out", b"local", qos)
    r = mr.client(remote.port)
    r.pub("q/in", b"remote", qos=qos)
    p = [x for x in drain(lsub, 0.5) if x.topic == "q/in"]
    assert [(x.payload, x.qos) for x in p] == [(b"remote", qos)]
    c.disconnect()
    r.disconnect()


def test_no_loop_with_both(start_broker, peer):
    """`both` on the same topic without prefixes: each message arrives once on each side."""
    remote = peer()
    local = start_broker(bridge_conf("loop", remote.port, ["loop/# both 1"]))
    lsub = sub(local.port, "loop/#", 1)
    rsub = sub(remote.port, "loop/#", 1)
    probe(local.port, rsub, "loop/probe")
    probe(remote.port, lsub, "loop/probe")
    drain(rsub, 0.3)
    drain(lsub, 0.1)

    pub_cli(local.port, "loop/a", "from local", qos=1)
    assert [p.payload for p in drain(rsub, 0.7)] == [b"from local"]
    assert [p.payload for p in drain(lsub, 0.1)] == [b"from local"]
    pub_cli(remote.port, "loop/b", "from remote", qos=1)
    assert [p.payload for p in drain(lsub, 0.7)] == [b"from remote"]
    assert [p.payload for p in drain(rsub, 0.1)] == [b"from remote"]


def test_notifications_state(start_broker, peer):
    remote = peer()
    local = start_broker(bridge_conf("note", remote.port, ["n/# out 0"]))
    state = "$SYS/broker/connection/note/state"
    rsub = sub(remote.port, state, 1)
    p = rsub.recv_publish(timeout=10)
    assert (p.topic, p.payload) == (state, b"1")
    lsub = sub(local.port, state, 1)
    p = lsub.recv_publish(timeout=10)
    assert (p.topic, p.payload, p.retain) == (state, b"1", True)
    remote.stop()
    p = lsub.recv_publish(timeout=10)
    assert (p.topic, p.payload) == (state, b"0")
    # Retained: a new subscriber sees the last state.
    again = sub(local.port, state)
    p = again.recv_publish()
    assert (p.payload, p.retain) == (b"0", True)


def test_notification_will_on_remote(start_broker, peer):
    """The remote holds a will "0" on the state topic: killing the bridging broker fires it."""
    remote = peer()
    local = start_broker(bridge_conf("will", remote.port, ["w/# out 0"],
                                     "notification_topic bridges/will\n"))
    rsub = sub(remote.port, "bridges/will", 1)
    assert rsub.recv_publish(timeout=10).payload == b"1"
    local.proc.send_signal(signal.SIGKILL)
    local.proc.wait(5)
    assert rsub.recv_publish(timeout=10).payload == b"0"


def test_notifications_local_only(start_broker, peer):
    remote = peer()
    local = start_broker(bridge_conf("lo", remote.port, ["lo/# both 0"],
                                     "notifications_local_only true\n"))
    lsub = sub(local.port, "$SYS/broker/connection/lo/state")
    wait_payload(lsub, b"1")  # a retained "0" from before the connection may come first
    rsub = sub(remote.port, "lo/#")
    probe(local.port, rsub, "lo/probe")
    rstate = sub(remote.port, "$SYS/broker/connection/#")
    rstate.expect_silence(0.3)


@pytest.mark.mq_only  # Mosquitto 2.0.11 keeps jittered backoff (base 5 s) despite restart_timeout 1
def test_reconnect_after_remote_restart(start_broker, peer):
    remote = peer()
    local = start_broker(bridge_conf("re", remote.port, ["re/# both 1"]))
    lsub = sub(local.port, "re/#", 1)
    rsub = sub(remote.port, "re/#", 1)
    probe(local.port, rsub, "re/probe")
    remote.stop()
    local.wait_log(r"Client local\.re closed its connection\.", timeout=10)
    remote.start()
    local.wait_log(r"(?s)closed its connection.*Connecting bridge \(step 1\) re", timeout=10)
    rsub = sub(remote.port, "re/#", 1)
    probe(local.port, rsub, "re/probe2", timeout=15)
    drain(lsub, 0.1)
    pub_cli(remote.port, "re/back", "after restart", qos=1)
    got = [p for p in drain(lsub, 1.0) if p.topic == "re/back"]
    assert [p.payload for p in got] == [b"after restart"]


@pytest.mark.mq_only
def test_queued_qos1_delivered_after_reconnect(start_broker, peer):
    """QoS 1 published locally while the remote is down reaches it once it is back."""
    remote = peer("persistence false\n")
    local = start_broker(bridge_conf("qq", remote.port, ["qq/# out 1"]))
    rsub = sub(remote.port, "qq/#", 1)
    probe(local.port, rsub, "qq/probe")
    remote.stop()
    local.wait_log(r"Client local\.qq closed its connection\.", timeout=10)
    c = mr.client(local.port)
    c.pub("qq/kept", b"queued", qos=1, retain=True)
    c.disconnect()
    remote.start()
    # Retained on the remote once the bridge delivered it.
    deadline = time.monotonic() + 15
    while True:
        s = sub(remote.port, "qq/kept", 1)
        try:
            p = s.recv_publish(timeout=0.3)
            break
        except mr.Timeout:
            s.close()
            assert time.monotonic() < deadline, local.log()
    assert p.payload == b"queued"  # live (retain 0) or retained, depending on timing


def test_mosquitto_bridges_into_broker(start_broker, peer):
    """Debian's Mosquitto (try_private: the 0x80 bridge bit) bridging into the broker under
    test: accepted, messages flow both ways, and the broker never echoes a bridge's own
    messages back to it (else the peer's subscriber would see them twice)."""
    local = start_broker()
    remote = peer(bridge_conf("into", local.port, ["x/# both 1"]))
    if not brokers.REFERENCE:
        local.wait_log(r"New bridge connected from 127\.0\.0\.1:\d+ as into \(p2, c0, k60\)\.",
                       timeout=10)
    # The peer's notification reaches us ($SYS/broker/connection/+/state is writable).
    wait_payload(sub(local.port, "$SYS/broker/connection/into/state"), b"1")
    lsub = sub(local.port, "x/#", 1)
    rsub = sub(remote.port, "x/#", 1)
    probe(remote.port, lsub, "x/probe")
    probe(local.port, rsub, "x/probe")
    drain(lsub, 0.3)
    drain(rsub, 0.1)

    pub_cli(remote.port, "x/from-peer", "p", qos=1)
    assert [p.topic for p in drain(rsub, 0.8)] == ["x/from-peer"]
    assert [p.topic for p in drain(lsub, 0.1)] == ["x/from-peer"]
    pub_cli(local.port, "x/from-mq", "m", qos=1)
    assert [p.topic for p in drain(lsub, 0.8)] == ["x/from-mq"]
    assert [p.topic for p in drain(rsub, 0.1)] == ["x/from-mq"]

    # mosquitto_sub on the peer sees a message published with mosquitto_pub on our side.
    ms = subprocess.Popen(["stdbuf", "-oL", SUB, "-p", str(remote.port), "-t", "x/cli", "-C", "1", "-W", "10",
                           "-q", "1", "-d"], stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while "SUBACK" not in line:
            line = ms.stdout.readline()
            assert line, "mosquitto_sub exited"
        pub_cli(local.port, "x/cli", "hello over the bridge", qos=1)
        out, _ = ms.communicate(timeout=10)
    finally:
        if ms.poll() is None:
            ms.kill()
            ms.wait()
    assert "hello over the bridge" in out


@pytest.mark.mq_only
def test_bridge_log_lines(start_broker, peer):
    remote = peer()
    local = start_broker(bridge_conf("logs", remote.port, ["l/# out 0"]))
    local.wait_log(r"Connecting bridge \(step 1\) logs \(127\.0\.0\.1:%d\)" % remote.port)
    remote.stop()
    local.wait_log(r"Client local\.logs closed its connection\.", timeout=10)
    local.wait_log(r"Error creating bridge: ", timeout=10)


@pytest.mark.mq_only
def test_unimplemented_bridge_options_refused(start_broker, tmp_path):
    conf = tmp_path / "ocsp.conf"
    conf.write_text("connection oc\naddress 127.0.0.1:1\ntopic t\nbridge_require_ocsp true\n")
    r = subprocess.run([brokers.MQ_BIN, "serve", "-c", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert 'The "bridge_require_ocsp" option is not supported yet (%s:4)' % conf in \
        r.stderr + r.stdout


# ---------------------------------------------------------------- a scripted remote broker

class FakeRemote:
    """A listening socket standing in for the remote broker, so the test sees (and decides)
    every byte of the bridge's connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]

    def accept(self, version=mr.V311, timeout=15.0):
        self.sock.settimeout(timeout)
        s, _ = self.sock.accept()
        c = object.__new__(mr.Conn)
        c.version, c.sock, c.buf, c.pending, c.closed, c._pid = version, s, bytearray(), [], False, 0
        return c

    def close(self):
        self.sock.close()


def parse_connect(p):
    """(protocol level byte, connect flags, keep alive, client id, rest) of a CONNECT."""
    b = p.body
    n = struct.unpack_from("!H", b, 0)[0]
    pos = 2 + n
    level, flags, keepalive = b[pos], b[pos + 1], struct.unpack_from("!H", b, pos + 2)[0]
    pos += 4
    if level & 0x7F == 5:
        plen, pos = mr.read_varint(b, pos)
        pos += plen
    n = struct.unpack_from("!H", b, pos)[0]
    return level, flags, keepalive, bytes(b[pos + 2:pos + 2 + n]).decode(), bytes(b[pos + 2 + n:])


@pytest.fixture
def fake_remote():
    f = FakeRemote()
    yield f
    f.close()


@pytest.mark.mq_only
def test_inflight_qos1_resent_with_dup_after_reconnect(start_broker, fake_remote):
    local = start_broker(bridge_conf("dup", fake_remote.port, ["d/# out 1"],
                                     "notifications false\nremote_username ru\n"
                                     "remote_password rp\nkeepalive_interval 30\n"))
    c = fake_remote.accept()
    level, flags, keepalive, cid, rest = parse_connect(c.expect(mr.CONNECT))
    assert (level, keepalive, cid) == (0x84, 30, "dup")  # try_private: 3.1.1 | 0x80
    assert flags == 0xC0  # user name, password, clean session 0, no will
    assert b"ru" in rest and b"rp" in rest
    c.send(b"\x20\x02\x00\x00")
    u = c.expect(mr.UNSUBSCRIBE)  # bridge_attempt_unsubscribe for an out-only topic
    c.send(b"\xb0\x02" + u.body[:2])
    pub = mr.client(local.port)
    pub.pub("d/x", b"one", qos=1)
    p = c.expect(mr.PUBLISH)
    assert (p.topic, p.qos, p.dup) == ("d/x", 1, False)
    c.close()  # no PUBACK: the message stays in flight
    local.wait_log(r"Client local\.dup closed its connection\.", timeout=10)

    c2 = fake_remote.accept()
    parse_connect(c2.expect(mr.CONNECT))
    c2.send(b"\x20\x02\x01\x00")  # session present
    c2.expect(mr.UNSUBSCRIBE)
    again = c2.expect(mr.PUBLISH)
    assert (again.topic, again.qos, again.dup, again.pid, again.payload) == \
        ("d/x", 1, True, p.pid, b"one")
    c2.send(mr.puback(again.pid))
    pub.pub("d/y", b"two", qos=1)
    nxt = c2.expect(mr.PUBLISH)
    assert (nxt.topic, nxt.dup) == ("d/y", False)
    c2.send(mr.puback(nxt.pid))
    c2.expect_silence(0.3)
    pub.disconnect()


@pytest.mark.mq_only
def test_mqtt5_bridge_connect_subscribe_and_qos2(start_broker, fake_remote):
    """mqttv50: no bridge bit; the remote SUBSCRIBE asks for No Local and Retain As Published;
    QoS 2 from the remote is received exactly once and acknowledged; notifications go to the
    remote as a retained QoS 1 PUBLISH with the matching will."""
    local = start_broker(bridge_conf("five", fake_remote.port, ["f/# in 2 L/ R/"],
                                     "bridge_protocol_version mqttv50\n"))
    lsub = sub(local.port, "L/#", 2)
    c = fake_remote.accept(version=mr.V5)
    level, flags, _, cid, rest = parse_connect(c.expect(mr.CONNECT))
    assert (level, cid) == (5, "five")
    assert flags == 0x2C  # will retain, will QoS 1, will flag, clean start 0
    assert b"$SYS/broker/connection/five/state" in rest
    c.send(b"\x20\x03\x00\x00\x00")
    n = c.expect(mr.PUBLISH)
    assert (n.topic, n.payload, n.qos, n.retain) == \
        ("$SYS/broker/connection/five/state", b"1", 1, True)
    c.send(mr.puback(n.pid, mr.V5))
    s = c.expect(mr.SUBSCRIBE)
    # packet id, properties length 0, filter, options: QoS 2 | No Local | Retain As Published
    assert s.body[2:] == b"\x00" + mr.mqstr("R/f/#") + b"\x0e"
    c.send(b"\x90\x04" + s.body[:2] + b"\x00\x02")
    for dup in (False, True):  # a re-send before PUBREL is not delivered twice
        c.send(mr.publish("R/f/x", b"q2", qos=2, pid=7, dup=dup, version=mr.V5))
        assert c.expect(mr.PUBREC).pid == 7
    c.send(mr.pubrel(7, mr.V5))
    assert c.expect(mr.PUBCOMP).pid == 7
    got = drain(lsub, 0.5)
    assert [(p.topic, p.payload, p.qos) for p in got] == [("L/f/x", b"q2", 2)]
    # The local state topic says "1"; the bridge's own messages are not sent back to it.
    st = sub(local.port, "$SYS/broker/connection/five/state")
    assert st.recv_publish().payload == b"1"
    c.expect_silence(0.3)


@pytest.mark.mq_only
def test_bridge_survives_sighup(start_broker, peer):
    """Bridges are not reloaded on SIGHUP (Mosquitto 2.0): the connection stays up."""
    remote = peer()
    local = start_broker(bridge_conf("hup", remote.port, ["h/# out 0"]))
    rsub = sub(remote.port, "h/#")
    probe(local.port, rsub, "h/probe")
    local.proc.send_signal(signal.SIGHUP)
    probe(local.port, rsub, "h/probe2")
    assert local.log().count("Connecting bridge (step 1) hup") == 1


# ---------------------------------------------------------------- TLS bridges

@pytest.fixture(scope="module")
def bridge_pki(tmp_path_factory):
    if not brokers.MQ_BIN:
        pytest.skip("needs MQ_BIN for mq certgen")
    d = tmp_path_factory.mktemp("bridge-pki")
    for sub_dir, client in (("ca", "bridge"), ("other", "stranger")):
        r = subprocess.run([brokers.MQ_BIN, "certgen", "all", "--dir", str(d / sub_dir),
                            "--client", client], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    return d


def tls_peer(peer, pki, extra=""):
    tls_port = brokers.free_port()
    ca = pki / "ca"
    p = peer("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
             "require_certificate true\n%s" % (tls_port, ca / "ca.crt", ca / "server.crt",
                                               ca / "server.key", extra))
    assert brokers.wait_for_port(tls_port, 5.0, p.proc), p.log()
    return p, tls_port


def test_tls_bridge_with_client_certificate(start_broker, peer, bridge_pki):
    remote, tls_port = tls_peer(peer, bridge_pki)
    ca = bridge_pki / "ca"
    local = start_broker(bridge_conf("tls", tls_port, ["s/# both 1"],
                                     "bridge_cafile %s\nbridge_certfile %s\nbridge_keyfile %s\n"
                                     % (ca / "ca.crt", ca / "bridge.crt", ca / "bridge.key")))
    rsub = sub(remote.port, "s/#", 1)
    lsub = sub(local.port, "s/#", 1)
    probe(local.port, rsub, "s/probe")
    probe(remote.port, lsub, "s/back")
    drain(rsub, 0.2)


def test_tls13_bridge(start_broker, peer, bridge_pki):
    """bridge_tls_version tlsv1.3 to a remote whose listener has tls_version tlsv1.3."""
    remote, tls_port = tls_peer(peer, bridge_pki, "tls_version tlsv1.3\n")
    ca = bridge_pki / "ca"
    local = start_broker(bridge_conf("tls13", tls_port, ["s/# both 1"],
                                     "bridge_cafile %s\nbridge_certfile %s\nbridge_keyfile %s\n"
                                     "bridge_tls_version tlsv1.3\n"
                                     % (ca / "ca.crt", ca / "bridge.crt", ca / "bridge.key")))
    rsub = sub(remote.port, "s/#", 1)
    lsub = sub(local.port, "s/#", 1)
    probe(local.port, rsub, "s/probe")
    probe(remote.port, lsub, "s/back")
    drain(rsub, 0.2)


@pytest.mark.mq_only
def test_tls_bridge_unknown_ca_does_not_connect(start_broker, peer, bridge_pki):
    remote, tls_port = tls_peer(peer, bridge_pki)
    other = bridge_pki / "other"
    local = start_broker(bridge_conf("badca", tls_port, ["s/# out 0"],
                                     "bridge_cafile %s\nbridge_certfile %s\nbridge_keyfile %s\n"
                                     % (other / "ca.crt", other / "stranger.crt",
                                        other / "stranger.key")))
    local.wait_log(r"Bridge badca: tls handshake failed: .+", timeout=10)
    assert "New bridge connected" not in remote.log()


def test_psk_bridge(start_broker, peer, tmp_path):
    psk = tmp_path / "psk"
    psk.write_text("bridge1:0123456789abcdef\n")
    tls_port = brokers.free_port()
    remote = peer("listener %d 127.0.0.1\npsk_hint hint\npsk_file %s\n" % (tls_port, psk))
    assert brokers.wait_for_port(tls_port, 5.0, remote.proc), remote.log()
    local = start_broker(bridge_conf("psk", tls_port, ["k/# out 0"],
                                     "bridge_identity bridge1\nbridge_psk 0123456789abcdef\n"))
    rsub = sub(remote.port, "k/#")
    probe(local.port, rsub, "k/probe")


@pytest.mark.mq_only
def test_bad_bridge_certificate_stops_start_up(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("listener 0 127.0.0.1\nconnection bad\naddress 127.0.0.1:1\ntopic t\n"
                    "bridge_cafile %s\n" % (tmp_path / "missing.crt"))
    r = subprocess.run([brokers.MQ_BIN, "serve", "-c", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert "Bridge bad TLS" in r.stderr + r.stdout and ("%s:2" % conf) in r.stderr + r.stdout


@pytest.mark.mq_only
def test_keepalive_pingreq_and_reconnect_without_pingresp(start_broker, fake_remote):
    """keepalive_interval (minimum 5 s): PINGREQ each interval; a PINGREQ left unanswered for
    one interval means the remote is gone: the bridge closes and connects again."""
    local = start_broker(bridge_conf("ka", fake_remote.port, ["k/# out 0"],
                                     "notifications false\nkeepalive_interval 5\n"))
    c = fake_remote.accept()
    assert parse_connect(c.expect(mr.CONNECT))[2] == 5
    t0 = time.monotonic()
    c.send(b"\x20\x02\x00\x00")
    c.expect(mr.UNSUBSCRIBE)
    c.expect(mr.PINGREQ, timeout=7)
    assert 4.0 < time.monotonic() - t0 < 7.0
    # Not answered: closed after one more interval, then a new connection.
    c.expect_closed(timeout=7)
    local.wait_log(r"Client local\.ka has exceeded timeout, disconnecting\.")
    c2 = fake_remote.accept()
    c2.expect(mr.CONNECT)


@pytest.mark.mq_only
def test_shutdown_sends_disconnect(start_broker, fake_remote):
    local = start_broker(bridge_conf("bye", fake_remote.port, ["b/# out 0"],
                                     "notifications false\n"))
    c = fake_remote.accept()
    c.expect(mr.CONNECT)
    c.send(b"\x20\x02\x00\x00")
    c.expect(mr.UNSUBSCRIBE)
    local.proc.send_signal(signal.SIGTERM)
    got = c.expect_closed(timeout=5)
    assert [p.type for p in got] == [mr.DISCONNECT]
    assert local.proc.wait(5) == 0


@pytest.mark.mq_only
def test_lazy_bridge_connects_at_threshold_and_idles_out(start_broker, fake_remote):
    local = start_broker(bridge_conf("lazy", fake_remote.port, ["z/# out 1"],
                                     "start_type lazy\nthreshold 2\nidle_timeout 1\n"
                                     "notifications false\n"))
    c = mr.client(local.port)
    c.pub("z/1", b"one", qos=1)
    with pytest.raises(socket.timeout):
        fake_remote.accept(timeout=0.5)  # one message queued: below the threshold
    c.pub("z/2", b"two", qos=1)
    r = fake_remote.accept(timeout=5)
    r.expect(mr.CONNECT)
    r.send(b"\x20\x02\x00\x00")
    r.expect(mr.UNSUBSCRIBE)
    got = [r.expect(mr.PUBLISH) for _ in range(2)]
    assert [p.payload for p in got] == [b"one", b"two"]
    for p in got:
        r.send(mr.puback(p.pid))
    # idle_timeout 1: DISCONNECT once nothing has moved for a second.
    assert [p.type for p in r.expect_closed(timeout=4)] == [mr.DISCONNECT]
    local.wait_log(r"Bridge lazy reached idle_timeout, disconnecting\.")
    c.disconnect()


def test_several_addresses_tried_in_turn(start_broker, peer):
    remote = peer()
    dead = brokers.free_port()  # nothing listens there
    conf = bridge_conf("multi", remote.port, ["m/# out 0"]).replace(
        "address 127.0.0.1:%d" % remote.port,
        "address 127.0.0.1:%d 127.0.0.1:%d" % (dead, remote.port))
    local = start_broker(conf)
    rsub = sub(remote.port, "m/#")
    probe(local.port, rsub, "m/probe")


@pytest.mark.mq_only
def test_try_private_refused_retries_without_bridge_bit(start_broker, fake_remote):
    start_broker(bridge_conf("priv", fake_remote.port, ["p/# out 0"],
                             "notifications false\ncleansession true\n"))
    c = fake_remote.accept()
    level, flags = parse_connect(c.expect(mr.CONNECT))[:2]
    assert (level, flags) == (0x84, 0x02)  # clean session
    c.send(b"\x20\x02\x00\x01")  # unacceptable protocol version
    c2 = fake_remote.accept(timeout=5)
    assert parse_connect(c2.expect(mr.CONNECT))[0] == 0x04
    c2.send(b"\x20\x02\x00\x00")
    c2.expect(mr.UNSUBSCRIBE)


@pytest.mark.parametrize("outgoing_retain", [True, False])
def test_bridge_outgoing_retain(start_broker, peer, outgoing_retain):
    remote = peer()
    local = start_broker(bridge_conf("ret", remote.port, ["r/# out 1"],
                                     "bridge_outgoing_retain %s\n" % str(outgoing_retain).lower()))
    rsub = sub(remote.port, "r/#", 1)
    probe(local.port, rsub, "r/probe")
    c = mr.client(local.port)
    c.pub("r/kept", b"value", qos=1, retain=True)
    assert rsub.recv_publish().payload == b"value"
    late = sub(remote.port, "r/kept", 1)
    if outgoing_retain:
        p = late.recv_publish()
        assert (p.payload, p.retain) == (b"value", True)
    else:
        late.expect_silence(0.3)
    c.disconnect()
