"""Edge to cluster: the broker under test (`mq serve`, with persistence) bridges to a real
3-node NATS cluster (Debian's nats-server, JetStream, MQTT listener on each node) with the
configuration of packaging/examples/edge-bridge.conf (its addresses and directory swapped).

- Store and forward through an outage: with the whole cluster down, QoS 1 messages published
  at the edge (each acknowledged to Debian's mosquitto_pub) survive a kill -9 of the edge and
  its restart, and reach a persistent subscriber on the cluster once it is back, every one
  exactly once. The bridge's $SYS topics say what happens meanwhile.
- Failover: the node the bridge uses is killed; the bridge moves to another node and keeps
  forwarding; once the first (primary) node is back, the bridge returns to it.
- Bounds (no cluster needed): a full bridge queue refuses new messages or drops the oldest, as
  configured, says so once in the log and counts it in $SYS; a bad value names file and line.

Every wait is bounded and polls; all nodes and brokers are stopped by pid at the end.
"""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import brokers
import mqttraw as mr
import nats_cluster

PUB = "/usr/bin/mosquitto_pub"
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "packaging", "examples",
                       "edge-bridge.conf")

pytestmark = pytest.mark.skipif(brokers.REFERENCE,
                                reason="mq's persistent bridge queue and $SYS topics")


class Edge(brokers.Broker):
    """mq serve with the example configuration: its listener on our free port, its addresses
    the cluster's MQTT ports, its persistence in the test's directory."""

    def __init__(self, workdir, cluster_ports, extra=""):
        super().__init__(workdir, listener=False)
        with open(EXAMPLE) as f:
            text = f.read()
        addresses = " ".join("127.0.0.1:%d" % p for p in cluster_ports)
        text, n1 = re.subn(r"(?m)^addresses .*$", "addresses " + addresses, text)
        text, n2 = re.subn(r"(?m)^persistence_location .*$",
                           "persistence_location " + os.path.join(self.dir, ""), text)
        assert n1 == 1 and n2 == 1, "the example config changed shape"
        self.template = text + extra

    def write_conf(self):
        text, n = re.subn(r"(?m)^listener 1883$", "listener %d 127.0.0.1" % self.port,
                          self.template)
        assert n == 1
        if os.geteuid() == 0:
            text += "user root\n"
        with open(self.conf_path, "w") as f:
            f.write(text)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)


@pytest.fixture
def cluster(tmp_path):
    if not os.path.exists(nats_cluster.NATS_SERVER):
        pytest.skip("needs Debian's nats-server (setup.sh --test installs it)")
    d = tmp_path / "nats"
    d.mkdir()
    c = nats_cluster.NatsCluster(d)
    yield c
    c.stop()


@pytest.fixture
def edges():
    started = []
    yield started
    for e in started:
        if e.running():
            e.kill9()


def sys_values(port, prefix="$SYS/broker/bridges/cluster/", quiet=0.5, timeout=3.0):
    """The retained $SYS values of the bridge, read by a real subscriber."""
    c = mr.client(port)
    try:
        c.sub(prefix + "#", 0)
        got = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                p = c.recv_publish(timeout=quiet)
            except mr.Timeout:
                break
            got[p.topic[len(prefix):]] = p.payload.decode()
        return got
    finally:
        c.disconnect()


def wait_sys(port, pred, timeout=15.0):
    last = {}

    def check():
        last.clear()
        last.update(sys_values(port))
        return pred(last)
    assert brokers.wait_until(check, timeout, 0.2), "bridge $SYS never matched: %r" % last
    return dict(last)


def collect(conn, expected, timeout):
    """Read (and ack) publishes until every payload of `expected` arrived, then for a quiet
    0.5 s more (late duplicates). Returns the PUBLISH packets."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got.append(conn.recv_publish(timeout=0.5))
        except mr.Timeout:
            if expected <= {p.payload for p in got}:
                break
    return got


def connect_retry(port, client_id, timeout=30.0):
    """A persistent session on a cluster node, retried while JetStream is not ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return mr.client(port, client_id, clean=False)
        except (OSError, AssertionError, mr.Closed, mr.MalformedPacket):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_store_and_forward_through_outage_and_kill9(cluster, edges, tmp_path):
    cluster.start()
    cluster.wait_ready()
    node_sub = cluster.mqtt_ports[1]
    # The persistent subscriber session on the cluster exists before the outage.
    s = connect_retry(node_sub, "keeper")
    s.sub("site/edge-1/#", 1)
    s.disconnect()

    edge_dir = tmp_path / "edge"
    edge_dir.mkdir()
    edge = Edge(edge_dir, cluster.mqtt_ports, extra="sys_interval 1\n")
    edges.append(edge)
    edge.start()
    wait_sys(edge.port, lambda v: v.get("connected") == "1")

    cluster.stop()
    wait_sys(edge.port, lambda v: v.get("connected") == "0")
    n = 20
    payloads = {b"msg-%03d" % i for i in range(n)}
    for i in range(n):
        # Exit status 0: the edge acknowledged the message (PUBACK).
        subprocess.run([PUB, "-p", str(edge.port), "-q", "1", "-t", "sensors/room1/temp",
                        "-m", "msg-%03d" % i, "-i", "pub%d" % i], check=True, timeout=10)
    v = wait_sys(edge.port, lambda v: v.get("queued/messages") == str(n))
    assert v["connected"] == "0"
    assert v["queued/bytes"] == str(7 * n)
    assert v["last_error"] != "none"

    edge.kill9()
    edge.start()  # same directory: the same snapshot and journal
    edge.wait_log(r"Bridge cluster: restored %d queued messages" % n)
    assert sys_values(edge.port).get("queued/messages") == str(n)

    cluster.start()
    s = connect_retry(node_sub, "keeper", timeout=40.0)
    got = collect(s, payloads, timeout=40.0)
    s.disconnect()
    received = [p.payload for p in got if p.topic == "site/edge-1/sensors/room1/temp"]
    assert set(received) == payloads, "missing: %r" % sorted(payloads - set(received))
    # Exactly once, or a re-delivery marked DUP.
    firsts = [p.payload for p in got if not p.dup]
    assert len(firsts) == len(set(firsts)), "duplicates without DUP: %r" % sorted(firsts)
    v = wait_sys(edge.port, lambda v: v.get("queued/messages") == "0" and v.get("connected") == "1")
    assert v["queued/bytes"] == "0"


def test_failover_to_another_node_and_keeps_forwarding(cluster, edges, tmp_path):
    cluster.start()
    cluster.wait_ready()
    node_sub = cluster.mqtt_ports[2]
    s = connect_retry(node_sub, "watcher")
    s.sub("site/edge-1/#", 1)

    edge_dir = tmp_path / "edge"
    edge_dir.mkdir()
    edge = Edge(edge_dir, cluster.mqtt_ports, extra="sys_interval 1\n")
    edges.append(edge)
    edge.start()
    v = wait_sys(edge.port, lambda v: v.get("connected") == "1")
    used = v["address"]
    first = cluster.mqtt_ports.index(int(used.rsplit(":", 1)[1]))
    assert first == 0, "every node is up: the bridge uses its first (primary) address"

    def publish_range(lo, hi):
        for i in range(lo, hi):
            subprocess.run([PUB, "-p", str(edge.port), "-q", "1", "-t", "sensors/x",
                            "-m", "f-%03d" % i], check=True, timeout=10)

    publish_range(0, 10)
    got = collect(s, {b"f-%03d" % i for i in range(10)}, timeout=20.0)
    assert {p.payload for p in got} >= {b"f-%03d" % i for i in range(10)}

    cluster.kill_node(first)  # kill -9 the node the bridge is connected to
    publish_range(10, 30)  # acknowledged by the edge while the bridge moves
    v = wait_sys(edge.port, lambda v: v.get("connected") == "1" and v.get("address") != used,
                 timeout=30.0)
    now = cluster.mqtt_ports.index(int(v["address"].rsplit(":", 1)[1]))
    assert now != first
    expected = {b"f-%03d" % i for i in range(10, 30)}
    got = collect(s, expected, timeout=30.0)
    assert {p.payload for p in got} >= expected, \
        "missing: %r" % sorted(expected - {p.payload for p in got})
    wait_sys(edge.port, lambda v: v.get("queued/messages") == "0")

    # The primary (first address) is back: the bridge returns to it and keeps forwarding.
    cluster.start_node(0)
    v = wait_sys(edge.port, lambda v: v.get("connected") == "1" and v.get("address") == used,
                 timeout=30.0)
    edge.wait_log(r"Bridge cluster: primary address 127\.0\.0\.1:%d is back" %
                  cluster.mqtt_ports[0])
    publish_range(30, 40)
    expected = {b"f-%03d" % i for i in range(30, 40)}
    got = collect(s, expected, timeout=30.0)
    assert {p.payload for p in got} >= expected, \
        "missing: %r" % sorted(expected - {p.payload for p in got})
    s.disconnect()


@pytest.mark.parametrize("policy", ["drop_oldest", "refuse_new"])
def test_queue_bounds_policy_logged_and_counted(edges, tmp_path, policy):
    dead = brokers.free_port()  # nothing listens there: the bridge stays disconnected
    edge = Edge(tmp_path, [dead, dead, dead], extra="sys_interval 1\n")
    edge.template = re.sub(r"(?m)^bridge_max_queued_messages .*$",
                           "bridge_max_queued_messages 3", edge.template)
    edge.template = re.sub(r"(?m)^bridge_queue_policy .*$",
                           "bridge_queue_policy " + policy, edge.template)
    edges.append(edge)
    edge.start()
    for i in range(5):
        subprocess.run([PUB, "-p", str(edge.port), "-q", "1", "-t", "sensors/x",
                        "-m", "b-%d" % i], check=True, timeout=10)
    v = wait_sys(edge.port, lambda v: v.get("dropped") == "2")
    assert v["queued/messages"] == "3" and v["queued/bytes"] == "9"
    m = edge.wait_log(r"Warning: bridge cluster queue full \(3 messages, .*\): (\w+)")
    assert m.group(1) == ("dropping" if policy == "drop_oldest" else "refusing")
    assert len(re.findall("queue full", edge.log())) == 1  # once, not per message
    # What is kept is what the policy says: restart (kill -9) and read the restored queue's
    # size; the payloads are checked by the unit tests.
    edge.kill9()
    edge.start()
    edge.wait_log(r"Bridge cluster: restored 3 queued messages")


def test_queue_option_errors_name_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("connection c\naddress 127.0.0.1:1\ntopic # out 1\n"
                    "bridge_queue_policy sometimes\n")
    r = brokers.run_broker(["-c", str(conf)], tmp_path)
    assert r.returncode != 0
    err = r.stderr.decode() + r.stdout.decode()
    assert "bridge_queue_policy" in err and "%s:4" % conf in err, err


def test_in_flight_survives_kill9_resent_with_dup_and_packet_id(edges, tmp_path):
    """Against a scripted remote: a QoS 1 message sent and not acknowledged, and a QoS 2 one
    whose PUBREC arrived, are still in flight after a kill -9 and restart of the edge: the first
    goes again with DUP and its packet identifier, the second goes on with PUBREL only."""
    import test_bridge as tb
    remote = tb.FakeRemote()
    try:
        edge = Edge(tmp_path, [remote.port] * 3, extra="sys_interval 1\ntopic q2/# out 2\n")
        edges.append(edge)
        edge.start()

        def session(present):
            c = remote.accept()
            c.expect(mr.CONNECT)
            c.send(b"\x20\x02" + (b"\x01" if present else b"\x00") + b"\x00")
            return c

        def next_packet(c):
            while True:
                p = c.recv(10.0)
                if p.type != mr.UNSUBSCRIBE:  # bridge_attempt_unsubscribe, one per out topic
                    return p

        c = session(False)
        subprocess.run([PUB, "-p", str(edge.port), "-q", "1", "-t", "sensors/a", "-m", "one"],
                       check=True, timeout=10)
        p1 = next_packet(c)
        assert (p1.type, p1.topic, p1.qos, p1.dup) == (mr.PUBLISH, "site/edge-1/sensors/a", 1,
                                                        False)
        subprocess.run([PUB, "-p", str(edge.port), "-q", "2", "-t", "q2/b", "-m", "two"],
                       check=True, timeout=10)
        p2 = next_packet(c)
        assert (p2.type, p2.topic, p2.qos) == (mr.PUBLISH, "q2/b", 2)
        c.send(mr.pubrec(p2.pid))
        rel = next_packet(c)
        assert (rel.type, rel.pid) == (mr.PUBREL, p2.pid)  # the PUBREC is journaled by now

        edge.kill9()
        c.close()
        edge.start()
        edge.wait_log(r"Bridge cluster: restored 2 queued messages")
        c2 = session(True)
        again = next_packet(c2)
        assert (again.type, again.topic, again.dup, again.pid, again.payload) == \
            (mr.PUBLISH, "site/edge-1/sensors/a", True, p1.pid, b"one")
        rel2 = next_packet(c2)
        assert (rel2.type, rel2.pid) == (mr.PUBREL, p2.pid)
        c2.send(mr.puback(p1.pid))
        c2.send(mr.pubcomp(p2.pid))
        wait_sys(edge.port, lambda v: v.get("queued/messages") == "0")
        c2.close()
    finally:
        remote.close()
