"""Persistence: retained messages, persistent sessions, their queues and in-flight QoS state
survive a clean restart and kill -9 (issue 8).

Crash tests publish numbered messages with paho-mqtt while the broker is SIGKILLed at a random
moment, restart it on the same persistence directory, and check that everything whose
acknowledgement reached the publisher (PUBACK, PUBCOMP, SUBACK) is still there. Every wait is
bounded; the broker is killed by pid.
"""

import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import paho.mqtt.client as paho
import pytest

import brokers
import mqttraw as mr

pytestmark = pytest.mark.mq_only  # the reference Mosquitto loses acknowledged data on kill -9


class PersistentBroker(brokers.Broker):
    """A broker whose persistence directory survives restarts (each start gets a new port)."""

    def __init__(self, workdir, extra=""):
        conf = "persistence true\npersistence_location %s/\nmax_queued_messages 1000000\n%s" % (
            workdir, extra)
        super().__init__(workdir, conf)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def restart(self):
        if self.running():
            self.stop()
        return self.start()


@pytest.fixture
def pbroker(tmp_path):
    made = []

    def make(extra=""):
        d = tmp_path / ("p%d" % len(made))
        d.mkdir()
        b = PersistentBroker(str(d), extra)
        made.append(b)
        return b.start()

    yield make
    for b in made:
        if b.running():
            b.kill9()


def drain(conn, total_timeout=15.0, quiet=1.0):
    """Every message delivered to the application until nothing arrives for `quiet` seconds
    (bounded by total_timeout). Acknowledges as a QoS 2 receiver that keeps packet ids until
    PUBREL: a re-sent PUBLISH with an unreleased id is not a new delivery."""
    got, unreleased = [], set()
    deadline = time.monotonic() + total_timeout
    while time.monotonic() < deadline:
        try:
            p = conn.recv(timeout=quiet)
        except mr.Timeout:
            break
        if p.type == mr.PUBLISH:
            if p.qos == 1:
                conn.send(mr.puback(p.pid, conn.version))
            elif p.qos == 2:
                conn.send(mr.pubrec(p.pid, conn.version))
                if p.pid in unreleased:
                    continue
                unreleased.add(p.pid)
            got.append(p)
        elif p.type == mr.PUBREL:
            unreleased.discard(p.pid)
            conn.send(mr.pubcomp(p.pid, conn.version))
    return got


def paho_client(port, client_id, inflight=20):
    c = paho.Client(client_id, clean_session=True, protocol=paho.MQTTv311)
    c.max_inflight_messages_set(inflight)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port, keepalive=30)
    return c


def publish_until_killed(b, topic_of, qos, retain=False, kill_after=(0.2, 0.7), limit=5000):
    """Publishes numbered messages with paho until the broker is SIGKILLed at a random
    moment. Returns the numbers whose PUBACK (QoS 1) / PUBCOMP (QoS 2) arrived."""
    acked_mids, mids, lock = set(), {}, threading.Lock()
    c = paho_client(b.port, "crash-pub-%d" % os.getpid())
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()

    def on_publish(client, userdata, mid):
        with lock:  # never held around paho calls: paho holds its own locks here
            acked_mids.add(mid)
    c.on_publish = on_publish
    c.loop_start()
    try:
        assert connected.wait(5), "paho did not connect"
        killer = threading.Timer(random.uniform(*kill_after), b.kill9)
        killer.start()
        n = 0
        while b.running() and n < limit:
            info = c.publish(topic_of(n), b"%d" % n, qos=qos, retain=retain)
            mids[info.mid] = n  # limit < 65535: mids do not wrap
            n += 1
            if n % 50 == 0:
                time.sleep(0.005)  # let acks flow; keeps paho's queue short
        killer.join(5)
        if b.running():
            b.kill9()
        time.sleep(0.1)  # acks already read by paho's thread are counted
    finally:
        c.loop_stop()
    with lock:
        return {mids[m] for m in acked_mids if m in mids}, n


def test_restart_gives_session_present_and_queued_messages(pbroker):
    b = pbroker()
    s = mr.client(b.port, "keep-sub", clean=False)
    s.sub("keep/t", 1)
    s.disconnect()
    p = mr.client(b.port, "keep-pub")
    for i in range(3):
        p.pub("keep/t", b"m%d" % i, qos=1)
    p.pub("keep/r", b"retained", qos=1, retain=True)
    p.disconnect()
    b.restart()  # clean shutdown (SIGTERM): snapshot
    s = mr.client(b.port, "keep-sub", clean=False)
    assert s.connack.session_present is True
    assert [m.payload for m in drain(s, quiet=0.5)] == [b"m0", b"m1", b"m2"]
    s.sub("keep/r", 1)
    assert s.recv_publish().payload == b"retained"
    s.disconnect()
    b.kill9()  # now the journal alone must carry the subscription change
    b.start()
    s = mr.client(b.port, "keep-sub", clean=False)
    assert s.connack.session_present is True
    s.disconnect()


def crash_rounds(b, qos, rounds=3):
    """The offline subscriber's topic receives numbered messages during `rounds` kills."""
    s = mr.client(b.port, "crash-sub-q%d" % qos, clean=False)
    s.sub("crash/q%d" % qos, qos)
    s.disconnect()
    acked_all, sent_all = set(), 0
    for r in range(rounds):
        base = r * 100000
        acked, n = publish_until_killed(b, lambda i: "crash/q%d" % qos, qos)
        acked_all |= {base + a for a in acked}
        sent_all += n
        # The numbers restart each round: tag them with the round via the payload below.
        b.start()
        # Receive what this round left, so the next round's numbers stay distinct.
        s = mr.client(b.port, "crash-sub-q%d" % qos, clean=False)
        assert s.connack.session_present is True
        got = drain(s, quiet=0.7)
        s.disconnect()
        payloads = [int(m.payload) for m in got]
        missing = acked - set(payloads)
        assert not missing, "round %d: %d acknowledged messages lost (e.g. %r)" % (
            r, len(missing), sorted(missing)[:5])
        seen = set()
        for m in got:
            v = int(m.payload)
            if v in seen:
                assert qos == 1 and m.dup, "duplicate %d without DUP (qos %d)" % (v, qos)
            seen.add(v)
    assert acked_all, "no message was acknowledged before the kills"
    return acked_all, sent_all


def test_kill9_loses_no_acknowledged_qos1(pbroker):
    b = pbroker("autosave_on_changes true\nautosave_interval 300\n")
    crash_rounds(b, 1)


def test_kill9_loses_no_acknowledged_qos2(pbroker):
    b = pbroker()
    crash_rounds(b, 2)


def test_kill9_keeps_acknowledged_retained(pbroker):
    b = pbroker("autosave_on_changes true\nautosave_interval 500\n")
    acked, _ = publish_until_killed(b, lambda i: "ret/%d" % i, 1, retain=True)
    assert acked
    b.start()
    s = mr.client(b.port, "ret-check")
    s.sub("ret/#", 1)
    got = {int(m.payload) for m in drain(s, quiet=0.7)}
    missing = acked - got
    assert not missing, "%d acknowledged retained messages lost, e.g. %r" % (
        len(missing), sorted(missing)[:5])


def test_kill9_keeps_acknowledged_subscriptions(pbroker):
    b = pbroker()
    s = mr.Conn(b.port)
    s.handshake("sub-crash", clean=False)
    acked = []
    killer = threading.Timer(random.uniform(0.1, 0.4), b.kill9)
    killer.start()
    try:
        for i in range(100000):
            s.send(mr.subscribe(i % 65535 + 1, [("subs/%d" % i, 1)]))
            s.expect(mr.SUBACK, timeout=2)
            acked.append(i)
    except (mr.Closed, mr.Timeout, OSError, AssertionError):
        pass
    killer.join(5)
    s.close()
    assert acked
    b.start()
    s = mr.client(b.port, "sub-crash", clean=False)
    assert s.connack.session_present is True
    p = mr.client(b.port, "sub-crash-pub")
    sample = sorted(set(acked[-20:] + random.sample(acked, min(20, len(acked)))))
    for i in sample:
        p.pub("subs/%d" % i, b"%d" % i, qos=1)
    got = {int(m.payload) for m in drain(s, quiet=0.7)}
    assert got == set(sample)


def test_qos2_inbound_packet_id_survives_kill9(pbroker):
    b = pbroker()
    sub = mr.client(b.port, "q2-sub", clean=False)
    sub.sub("q2/in", 2)
    sub.disconnect()
    p = mr.client(b.port, "q2-pub", clean=False)
    p.send(mr.publish("q2/in", b"once", qos=2, pid=7))
    assert p.expect(mr.PUBREC).pid == 7
    b.kill9()
    b.start()
    p = mr.client(b.port, "q2-pub", clean=False)
    assert p.connack.session_present is True
    # The re-sent PUBLISH is recognised: PUBREC again, no second delivery [MQTT-4.3.3-9].
    p.send(mr.publish("q2/in", b"once", qos=2, pid=7, dup=True))
    assert p.expect(mr.PUBREC).pid == 7
    p.send(mr.pubrel(7))
    assert p.expect(mr.PUBCOMP).pid == 7
    sub = mr.client(b.port, "q2-sub", clean=False)
    assert [m.payload for m in drain(sub, quiet=0.5)] == [b"once"]


def test_qos2_inbound_message_held_until_pubrel_survives_kill9(pbroker):
    """An incoming QoS 2 message is forwarded when PUBREL comes (as Mosquitto does): one whose
    PUBREC went out before a kill -9 is still forwarded by a PUBREL after the restart."""
    b = pbroker()
    sub = mr.client(b.port, "q2h-sub", clean=False)
    sub.sub("q2h/in", 2)
    sub.disconnect()
    p = mr.client(b.port, "q2h-pub", clean=False)
    p.send(mr.publish("q2h/in", b"held", qos=2, pid=9))
    assert p.expect(mr.PUBREC).pid == 9
    b.kill9()
    b.start()
    sub = mr.client(b.port, "q2h-sub", clean=False)
    assert drain(sub, quiet=0.3) == [], "forwarded before PUBREL"
    p = mr.client(b.port, "q2h-pub", clean=False)
    assert p.connack.session_present is True
    p.send(mr.pubrel(9))
    assert p.expect(mr.PUBCOMP).pid == 9
    got = drain(sub, quiet=0.5)
    assert [(m.payload, m.qos) for m in got] == [(b"held", 2)]


def test_qos2_outbound_pubrel_state_survives_kill9(pbroker):
    b = pbroker()
    sub = mr.client(b.port, "q2o-sub", clean=False)
    sub.sub("q2/out", 2)
    p = mr.client(b.port, "q2o-pub")
    p.pub("q2/out", b"one", qos=2)
    m = sub.recv_publish(ack=False)
    sub.send(mr.pubrec(m.pid))
    assert sub.expect(mr.PUBREL).pid == m.pid
    b.kill9()  # PUBCOMP never sent
    b.start()
    sub = mr.client(b.port, "q2o-sub", clean=False)
    assert sub.connack.session_present is True
    # Only the PUBREL is repeated: the message is not delivered a second time.
    rel = sub.recv(timeout=3)
    assert rel.type == mr.PUBREL and rel.pid == m.pid
    sub.send(mr.pubcomp(m.pid))
    sub.expect_silence(0.5)


def test_expired_sessions_are_gone_after_restart(pbroker):
    b = pbroker()
    kw = dict(properties={mr.SESSION_EXPIRY_INTERVAL: 1})
    s = mr.client(b.port, "short", version=mr.V5, clean=False, **kw)
    s.sub("x/y", 1)
    s.disconnect()
    kw = dict(properties={mr.SESSION_EXPIRY_INTERVAL: 600})
    s = mr.client(b.port, "long", version=mr.V5, clean=False, **kw)
    s.disconnect()
    b.kill9()
    time.sleep(1.2)  # the short session's deadline passes while the broker is down
    b.start()
    b.wait_log(r"1 expired while the broker was down")
    s = mr.client(b.port, "short", version=mr.V5, clean=False, **kw)
    assert s.connack.session_present is False
    s = mr.client(b.port, "long", version=mr.V5, clean=False, **kw)
    assert s.connack.session_present is True


def test_sigusr1_saves_snapshot(pbroker):
    b = pbroker()
    p = mr.client(b.port, "usr1")
    p.pub("u/r", b"v", qos=1, retain=True)
    b.proc.send_signal(signal.SIGUSR1)
    b.wait_log(r"Saving in-memory database to .*\(SIGUSR1\)")


def test_torn_journal_tail_is_cut_with_a_log_line(pbroker):
    b = pbroker()
    p = mr.client(b.port, "torn")
    p.pub("t/1", b"kept", qos=1, retain=True)
    b.kill9()
    with open(os.path.join(b.dir, "mosquitto.db.journal"), "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage")
    b.start()
    b.wait_log(r"cut off a torn or corrupt tail of 11 bytes")
    s = mr.client(b.port, "torn-check")
    s.sub("t/#", 1)
    assert s.recv_publish().payload == b"kept"


def test_corrupt_snapshot_refuses_start_unless_asked(pbroker):
    b = pbroker()
    p = mr.client(b.port, "corrupt")
    p.pub("c/1", b"kept", qos=1, retain=True)
    b.stop()
    path = os.path.join(b.dir, "mosquitto.db")
    data = bytearray(open(path, "rb").read())
    data[40] ^= 0x10
    open(path, "wb").write(bytes(data))
    with pytest.raises(RuntimeError, match=r"mosquitto.db is corrupt at offset \d+"):
        b.start(attempts=1)
    b.extra_conf += "persistence_on_corrupt start_empty\n"
    b.start()
    b.wait_log(r"starting empty")
    assert any(n.startswith("mosquitto.db.corrupt-") for n in os.listdir(b.dir))


def traced_qos1_run(tmp_path, extra_conf, syscalls, name, count):
    """Runs the broker with persistence under `strace -f` (all threads), subscribes a persistent
    client `<name>-sub` to `<name>/t` and disconnects it, then publishes `count` QoS 1 messages
    to it; returns the trace file."""
    port = brokers.free_port()
    conf = tmp_path / "broker.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "%spersistence_location %s/\n%s" % (
                        port, extra_conf, tmp_path, "user root\n" if os.geteuid() == 0 else ""))
    trace = tmp_path / "trace"
    proc = subprocess.Popen(
        ["strace", "-f", "-qq", "-s", "8", "-e", "trace=" + syscalls, "-o", str(trace),
         brokers.MQ_BIN, "serve", "-c", str(conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # strace and the broker in one group, killed together
    try:
        assert brokers.wait_for_port(port, 10.0, proc)
        s = mr.client(port, name + "-sub", clean=False)
        s.sub(name + "/t", 1)
        s.disconnect()
        p = mr.client(port, name + "-pub")
        for i in range(count):
            p.pub(name + "/t", b"%d" % i, qos=1)
        p.disconnect()
    finally:
        # Killing strace alone would leave the traced broker running.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    return trace


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_journal_write_reaches_the_kernel_before_each_ack(tmp_path):
    """The ordering rule itself, checked on the system calls: every SUBACK and PUBACK for a
    change to a persistent session is written to the socket only after a write(2) to the
    journal that came after the previous acknowledgement."""
    trace = traced_qos1_run(tmp_path, "", "openat,write,sendmsg", "order", 20)
    # Events in system-call order: "J" a write to the journal, (fd, kind) a packet sent.
    journal_fd, events = None, []
    kinds = {" \\2": "CONNACK", "\\220": "SUBACK", "@\\2": "PUBACK"}
    for line in trace.read_text().splitlines():
        m = re.search(r'openat\(.*"[^"]*mosquitto\.db\.journal".*O_APPEND.* = (\d+)$', line)
        if m:
            journal_fd = m.group(1)
            continue
        m = re.search(r"\bwrite\((\d+),", line)
        if m and m.group(1) == journal_fd:
            events.append("J")
            continue
        m = re.search(r'sendmsg\((\d+), \{.*?msg_iov=\[\{iov_base="( \\2|\\220|@\\2)', line)
        if m:
            events.append((m.group(1), kinds[m.group(2)]))
    assert journal_fd is not None, "journal never opened"

    def journal_writes_before(index, since=0):
        return sum(1 for e in events[since:index] if e == "J")

    sub_fd = next(e[0] for e in events if e != "J" and e[1] == "SUBACK")
    sub_connack = events.index((sub_fd, "CONNACK"))
    suback = events.index((sub_fd, "SUBACK"))
    assert journal_writes_before(sub_connack) >= 1, "CONNACK before the session was journaled"
    assert journal_writes_before(suback) >= 2, "SUBACK before the subscription was journaled"
    pubacks = [i for i, e in enumerate(events) if e != "J" and e[1] == "PUBACK"]
    assert len(pubacks) == 20, events
    pub_fd = events[pubacks[0]][0]
    pub_connack = max(i for i in range(pubacks[0]) if events[i] == (pub_fd, "CONNACK"))
    for n, i in enumerate(pubacks, 1):
        # Message n is queued for the offline persistent session: its records are written
        # (one write per loop iteration) before PUBACK n.
        assert journal_writes_before(i, pub_connack) >= n, "PUBACK %d before its journal write" % n


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_fsync_completes_before_each_ack(tmp_path):
    """persistence_fsync: the fdatasync runs on a worker thread, and each PUBACK for a message
    to an offline persistent session leaves only after an fdatasync that finished after that
    message's journal write (checked on the system calls of all threads)."""
    trace = traced_qos1_run(tmp_path, "persistence_fsync true\n",
                            "openat,write,dup,fdatasync,sendmsg", "fsync", 10)
    journal_fd, dups, events = None, set(), []
    pending = {}  # pid -> fd of an fdatasync not finished yet
    for line in trace.read_text().splitlines():
        pid = line.split(" ", 1)[0]
        m = re.search(r'openat\(.*"[^"]*mosquitto\.db\.journal".*O_APPEND.* = (\d+)$', line)
        if m:
            journal_fd = m.group(1)
            continue
        m = re.search(r"\bdup\((\d+)\)\s+= (\d+)", line)
        if m and m.group(1) == journal_fd:
            dups.add(m.group(2))
            continue
        m = re.search(r"\bwrite\((\d+),", line)
        if m and m.group(1) == journal_fd:
            events.append("J")
            continue
        m = re.search(r"fdatasync\((\d+)\)\s+= 0", line)
        if m and (m.group(1) in dups or m.group(1) == journal_fd):
            events.append("S")
            continue
        m = re.search(r"fdatasync\((\d+) <unfinished", line)
        if m:
            pending[pid] = m.group(1)
            continue
        if "<... fdatasync resumed>" in line and line.rstrip().endswith("= 0"):
            fd = pending.pop(pid, None)
            if fd in dups or fd == journal_fd:
                events.append("S")
            continue
        m = re.search(r'sendmsg\((\d+), \{.*?msg_iov=\[\{iov_base="@\\2', line)
        if m:
            events.append("A")
    assert journal_fd is not None and dups, "no fdatasync on a duplicate of the journal"
    acks = [i for i, e in enumerate(events) if e == "A"]
    assert len(acks) == 10, events
    for i in acks:
        last_write = max(j for j in range(i) if events[j] == "J")
        assert "S" in events[last_write:i], "PUBACK before its journal write was synced"
