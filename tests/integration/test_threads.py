"""thread_count (mq extension): the broker on several event loops.

Shard 0 accepts and deals sockets round robin; a client id lives on shard hash(id) % N and its
connection moves there before the CONNECT is handled (logged at debug level as "Client X moves
from loop A to loop B"). These tests find client ids homed on each loop from those lines, then
check that what crosses loops behaves as on one loop."""

import re
import subprocess
import threading
import time

import pytest

import mqttraw as mr
from brokers import MQ_BIN, free_port, wait_until

pytestmark = pytest.mark.mq_only

CONF = "thread_count 2\nlog_type all\nsys_interval 1\n"


def home_ids(broker, prefix, want_each=3, probes=80):
    """Client ids homed on loop 0 and on loop 1: {0: [...], 1: [...]}."""
    for i in range(probes):
        c = mr.client(broker.port, "%s-%d" % (prefix, i))
        c.disconnect()
    homes = {0: [], 1: []}

    def enough():
        for m in re.finditer(r"Client (%s-\d+) moves from loop (\d) to loop (\d)\." %
                             re.escape(prefix), broker.log()):
            cid, home = m.group(1), int(m.group(3))
            if cid not in homes[home]:
                homes[home].append(cid)
        return all(len(v) >= want_each for v in homes.values())
    assert wait_until(enough, 5.0), homes
    return homes


@pytest.fixture
def threaded(start_broker):
    return start_broker(CONF)


def test_thread_count_in_log_and_both_loops_used(threaded):
    threaded.wait_log(r"Serving on 2 event loops\.")
    homes = home_ids(threaded, "probe", want_each=1)
    assert homes[0] and homes[1]


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_order_across_loops_with_mosquitto_clients(threaded, qos):
    """Debian's mosquitto_pub / mosquitto_sub, publisher and subscriber homed on different
    loops, both directions: every message arrives, in the order sent."""
    homes = home_ids(threaded, "q%d" % qos, want_each=2)
    n = 300
    for pub_home in (0, 1):
        sub_id = homes[1 - pub_home][0]
        pub_id = homes[pub_home][1]
        topic = "order/%d/%d" % (qos, pub_home)
        sub = subprocess.Popen(
            ["mosquitto_sub", "-p", str(threaded.port), "-h", "127.0.0.1", "-i", sub_id,
             "-t", topic, "-q", str(qos), "-C", str(n), "-W", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The subscription is in place once the broker logged it (log_type all).
        threaded.wait_log(r"%s %d %s" % (re.escape(sub_id), qos, re.escape(topic)))
        lines = "".join("m%04d\n" % i for i in range(n))
        pub = subprocess.run(
            ["mosquitto_pub", "-p", str(threaded.port), "-h", "127.0.0.1", "-i", pub_id,
             "-t", topic, "-q", str(qos), "-l"], input=lines.encode(), timeout=30,
            capture_output=True)
        assert pub.returncode == 0, pub.stderr
        out, err = sub.communicate(timeout=30)
        got = out.decode().split()
        assert got == ["m%04d" % i for i in range(n)], (len(got), err)


def test_raw_clients_every_qos_both_ways(threaded, conns):
    """MQTT 5 raw clients: a publisher on one loop, a subscriber on the other, each direction,
    QoS 0, 1 and 2 interleaved: all arrive, in order, at the QoS asked."""
    homes = home_ids(threaded, "raw")
    for pub_home in (0, 1):
        pub = conns(mr.client(threaded.port, homes[pub_home][0], version=mr.V5))
        sub = conns(mr.client(threaded.port, homes[1 - pub_home][0], version=mr.V5))
        sub.sub([("to/%d" % pub_home, 2), ("mark", 0)])
        want = []
        for i in range(30):
            qos = i % 3
            pub.pub("to/%d" % pub_home, b"%d" % i, qos=qos)
            want.append((b"%d" % i, qos))
        pub.send(mr.publish("mark", b"", version=mr.V5))
        got = sub.publishes_until("mark")
        assert [(p.payload, p.qos) for p in got] == want
        pub.disconnect()
        sub.disconnect()


def test_retained_set_on_one_loop_seen_on_the_other(threaded, conns):
    homes = home_ids(threaded, "ret")
    pub = conns(mr.client(threaded.port, homes[0][0]))
    pub.pub("ret/x", b"kept", qos=1, retain=True)
    for home in (0, 1):
        s = conns(mr.client(threaded.port, homes[home][1]))

        def got_it():
            s.sub("ret/x", 1)
            p = s.recv_publish(timeout=2.0)
            return (p.payload, p.retain) == (b"kept", True)
        assert wait_until(got_it, 5.0)
        s.disconnect()
    # Cleared on the other loop: gone everywhere.
    other = conns(mr.client(threaded.port, homes[1][2]))
    other.pub("ret/x", b"", qos=1, retain=True)
    for home in (0, 1):
        s = conns(mr.client(threaded.port, homes[home][2] if home == 0 else homes[1][1]))
        s.sub([("ret/x", 0), ("mark", 0)])
        other.send(mr.publish("mark", b""))
        assert s.publishes_until("mark") == []
        s.disconnect()


def test_retained_concurrent_writers_converge(threaded, conns):
    """Two loops publish the same retained topic at once: every loop ends with the same one."""
    homes = home_ids(threaded, "conv")
    p0 = conns(mr.client(threaded.port, homes[0][0]))
    p1 = conns(mr.client(threaded.port, homes[1][0]))

    def blast(c, tag):
        for i in range(200):
            c.send(mr.publish("conv/t", b"%s%d" % (tag, i), retain=True))
    t = threading.Thread(target=blast, args=(p1, b"b"))
    t.start()
    blast(p0, b"a")
    t.join()
    # Each publisher's own last message is after its others; flush both with a QoS 1 round trip.
    p0.pub("conv/flush", b"", qos=1)
    p1.pub("conv/flush", b"", qos=1)

    def views():
        seen = []
        for home in (0, 1):
            s = mr.client(threaded.port, homes[home][1])
            s.sub("conv/t", 0)
            seen.append(s.recv_publish().payload)
            s.disconnect()
        return seen
    assert wait_until(lambda: len(set(views())) == 1, 5.0), views()
    assert views()[0] in (b"a199", b"b199")


def test_takeover_across_loops(threaded, conns):
    """The same client id from two consecutive connections (dealt to different loops): the
    second takes over on the id's loop, the first is told so."""
    homes = home_ids(threaded, "tk", want_each=1)
    for cid in (homes[0][0], homes[1][0]):
        first = conns(mr.client(threaded.port, cid, version=mr.V5))
        second = conns(mr.client(threaded.port, cid, version=mr.V5))
        d = first.expect(mr.DISCONNECT)
        assert d.reason == 0x8E
        first.expect_closed()
        second.sub("tk/alive", 0)
        second.pub("tk/alive", b"yes", qos=1)
        assert second.recv_publish().payload == b"yes"
        second.disconnect()


def test_session_resume_across_loops(threaded, conns):
    """clean_session false: subscribe, go away, a message is queued by a publisher on the other
    loop, reconnect (through the other accepting loop): session present, message delivered."""
    homes = home_ids(threaded, "rs", want_each=1)
    for home in (0, 1):
        cid = homes[home][0]
        pub_id = homes[1 - home][0]
        c = mr.client(threaded.port, cid, clean=False)
        c.sub("rs/q/%d" % home, 1)
        c.disconnect()
        pub = conns(mr.client(threaded.port, pub_id))
        pub.pub("rs/q/%d" % home, b"while-away", qos=1)
        pub.disconnect()
        # Twice: consecutive connections are accepted by different loops.
        back = conns(mr.client(threaded.port, cid, clean=False))
        assert back.connack.session_present
        assert back.recv_publish(timeout=5.0).payload == b"while-away"
        back.disconnect()
        again = conns(mr.client(threaded.port, cid, clean=False))
        assert again.connack.session_present
        again.sub("rs/q/%d" % home, 1)  # still subscribed: answered, nothing left queued
        again.expect_silence(0.2)
        again.disconnect()


def test_sys_client_count_sums_loops(threaded, conns):
    homes = home_ids(threaded, "sys")
    watcher = conns(mr.client(threaded.port, homes[0][0]))
    held = [conns(mr.client(threaded.port, cid)) for cid in homes[0][1:3] + homes[1][0:3]]
    assert len(held) == 5
    watcher.sub("$SYS/broker/clients/connected", 0)

    def six():
        try:
            p = watcher.recv_publish(timeout=1.5)
        except mr.Timeout:
            return False
        return p.payload == b"6"
    assert wait_until(six, 6.0)


def test_shared_subscriptions_refused(threaded, conns):
    c = conns(mr.client(threaded.port, "shared-5", version=mr.V5))
    assert c.connack.props.get(0x2A) == 0  # Shared Subscription Available
    assert c.sub("$share/g/t", 0).codes == [0x9E]
    c3 = conns(mr.client(threaded.port, "shared-3"))
    assert c3.sub("$share/g/t", 0).codes == [0x80]


def test_sighup_reaches_every_loop(start_broker, conns, tmp_path):
    """allow_anonymous turned off by SIGHUP disconnects anonymous clients on every loop."""
    b = start_broker(CONF)
    homes = home_ids(b, "hup", want_each=1)
    held = [conns(mr.client(b.port, homes[h][0])) for h in (0, 1)]
    with open(b.conf_path) as f:
        text = f.read()
    with open(b.conf_path, "w") as f:
        f.write(text.replace("allow_anonymous true", "allow_anonymous false"))
    b.proc.send_signal(1)
    for c in held:
        c.expect_closed(timeout=5.0)


@pytest.mark.parametrize("line,why", [
    ("thread_count 0", "Invalid thread_count value"),
    ("thread_count x", "Invalid thread_count value"),
    ("thread_count 257", "Invalid thread_count value"),
    ("thread_count 2\npersistence true", r"persistence \(.*:\d+\) is not supported with "
                                         r"thread_count 2 \(.*:\d+\)"),
    ("thread_count 2\nlog_dest topic", r"log_dest topic \(.*:\d+\) is not supported"),
    ("thread_count 2\nconnection b\naddress 127.0.0.1:1\ntopic # out",
     r"bridge \"b\" \(.*:\d+\) is not supported"),
])
def test_refused_configurations(tmp_path, line, why):
    conf = tmp_path / "m.conf"
    conf.write_text("listener 0 127.0.0.1\nallow_anonymous true\n" + line + "\n")
    r = subprocess.run([MQ_BIN, "serve", "-c", str(conf), "--test-config"], capture_output=True,
                       timeout=10)
    assert r.returncode == 3, r
    assert re.search(why, r.stderr.decode()), r.stderr


@pytest.mark.parametrize("value", ["1", "2", "auto"])
def test_accepted_configurations(tmp_path, value):
    conf = tmp_path / "m.conf"
    conf.write_text("listener 0 127.0.0.1\nallow_anonymous true\nthread_count %s\n" % value)
    r = subprocess.run([MQ_BIN, "serve", "-c", str(conf), "--test-config"], capture_output=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr


def test_tls_connections_move_between_loops(start_broker, tmp_path):
    """TLS sessions established on the accepting loop move, mid-stream, to their id's loop."""
    pki = tmp_path / "pki"
    r = subprocess.run([MQ_BIN, "certgen", "all", "--dir", str(pki)], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    tls_port = free_port()
    b = start_broker(CONF + "listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n" % (
        tls_port, pki / "server.crt", pki / "server.key"))
    homes = home_ids(b, "tls", want_each=2)
    tls = ["-h", "127.0.0.1", "-p", str(tls_port), "--cafile", str(pki / "ca.crt")]
    tls_log_start = len(b.log())
    n = 50
    for pub_home in (0, 1):
        sub_id, pub_id = homes[1 - pub_home][0], homes[pub_home][1]
        topic = "tls/%d" % pub_home
        sub = subprocess.Popen(["mosquitto_sub"] + tls + ["-i", sub_id, "-t", topic, "-q", "1",
                                                          "-C", str(n), "-W", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        b.wait_log(r"%s 1 %s" % (re.escape(sub_id), re.escape(topic)))
        lines = "".join("t%03d\n" % i for i in range(n))
        pub = subprocess.run(["mosquitto_pub"] + tls + ["-i", pub_id, "-t", topic, "-q", "1",
                                                        "-l"],
                             input=lines.encode(), capture_output=True, timeout=30)
        assert pub.returncode == 0, pub.stderr
        out, err = sub.communicate(timeout=30)
        assert out.decode().split() == ["t%03d" % i for i in range(n)], err
    # Consecutive connections are dealt to alternate loops, and each round's subscriber and
    # publisher are homed on different loops: some of the four TLS connections moved.
    assert re.search(r"Client tls-\d+ moves from loop", b.log()[tls_log_start:]), b.log()


def test_forwarded_only_where_a_subscriber_may_be(threaded, conns):
    """A loop gets a message only when it may have a subscriber for it (or it is retained):
    MQTT 5's "no matching subscribers" (0x10) tells which way it went."""
    homes = home_ids(threaded, "int")
    pub = conns(mr.client(threaded.port, homes[0][0], version=mr.V5))
    assert pub.pub("int/none", b"x", qos=1).reason == 0x10
    sub = mr.client(threaded.port, homes[1][0], version=mr.V5)
    sub.sub("int/#", 1)
    assert pub.pub("int/none", b"y", qos=1).reason == 0
    assert sub.recv_publish().payload == b"y"
    wild = mr.client(threaded.port, homes[1][1])
    wild.sub("+/w", 0)  # a filter starting with a wildcard
    assert pub.pub("other/w", b"z", qos=1).reason == 0
    assert wild.recv_publish().payload == b"z"
    # Sessions gone: their subscriptions no longer draw messages to that loop.
    sub.disconnect()
    wild.disconnect()
    assert wait_until(lambda: pub.pub("int/none", b"", qos=1).reason == 0x10, 5.0)
    assert pub.pub("other/w", b"", qos=1).reason == 0x10
