"""Persistence files shared with Mosquitto (issue 14, item 1): `mq serve` converts a
mosquitto.db written by Debian's Mosquitto 2.0.11 at start-up (keeping the original as a
backup), and `mq db to-mosquitto` writes a file Debian's Mosquitto loads.

Both directions build the same state with real clients on one broker (retained messages,
persistent sessions of MQTT 5 and 3.1.1 clients with subscriptions, queued QoS 1/2 messages,
an unacknowledged in-flight message, a QoS 2 message whose PUBCOMP is missing, an incoming
QoS 2 message waiting for its PUBREL), stop it with SIGTERM, start the other broker on the
file and check with clients that everything is there. Every wait is bounded.
"""

import os
import subprocess

import pytest

import brokers
import mqttraw as mr

pytestmark = pytest.mark.mq_only  # needs both brokers

MQ_MAGIC = b"MQDB\r\n\x1a\n"
MOSQ_MAGIC = b"\x00\xb5\x00mosquitto db"


class MosquittoBroker:
    """Debian's /usr/sbin/mosquitto with persistence in `workdir`, whatever MQ_BIN says."""

    def __init__(self, workdir):
        self.dir = str(workdir)
        self.proc = None
        self.log_path = os.path.join(self.dir, "mosquitto.log")

    def start(self):
        self.port = brokers.free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        lines = ["listener %d 127.0.0.1" % self.port, "allow_anonymous true",
                 "persistence true", "persistence_location %s/" % self.dir]
        if os.geteuid() == 0:
            lines.append("user root")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([brokers.MOSQUITTO, "-c", conf], cwd=self.dir,
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
        assert brokers.wait_for_port(self.port, 5.0, self.proc), self.log()
        return self

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        return brokers.stop_process(self.proc)


@pytest.fixture
def brokers_made():
    made = []
    yield made
    for b in made:
        if b.proc is not None and b.proc.poll() is None:
            b.proc.kill()
            b.proc.wait(5)


def make_state(port):
    """Builds the state on a running broker; returns what check_state needs to know."""
    pub = mr.client(port, "pub", version=mr.V5)
    pub.pub("keep/1", b"one", qos=1, retain=True,
            properties=[(0x03, "text/plain"), (0x26, ("k", "v"))])
    pub.pub("keep/2", b"two", qos=0, retain=True)
    s5 = mr.client(port, "s5", version=mr.V5, clean=False, properties={0x11: 3600})
    s5.sub([("q/#", mr.sub_options(2, no_local=True))], properties={0x0B: 7})
    s5.disconnect()
    s3 = mr.client(port, "s3", clean=False)
    s3.sub("q/#", qos=1)
    pub.pub("q/inf", b"INF", qos=1)
    inflight = s3.recv_publish(ack=False)  # never acknowledged
    assert (inflight.topic, inflight.qos) == ("q/inf", 1)
    s3.close()
    r2 = mr.client(port, "r2", clean=False)
    r2.sub("r/#", qos=2)
    hold = mr.client(port, "hold", clean=False)
    hold.sub("held/#", qos=2)
    hold.disconnect()
    pub.pub("r/x", b"R", qos=2)
    rp = r2.expect(mr.PUBLISH)
    r2.send(mr.pubrec(rp.pid))
    r2.expect(mr.PUBREL)
    r2.close()  # PUBCOMP never sent
    pub.pub("q/a", b"A", qos=1, properties=[(0x03, "text/plain"), (0x26, ("k", "v"))])
    pub.pub("q/b", b"B", qos=2)
    in2 = mr.client(port, "in2", clean=False)
    in2.send(mr.publish("held/t", b"H", qos=2, pid=42))
    in2.expect(mr.PUBREC)
    in2.close()  # PUBREL not sent yet: the message waits in the broker
    pub.disconnect()
    return {"inflight_pid": inflight.pid, "pubrel_pid": rp.pid}


def check_state(port, known):
    """The state made by make_state, seen by the same clients on another broker."""
    # Retained messages, to a new client (and with their properties to an MQTT 5 one).
    r = mr.client(port, "reader", version=mr.V5)
    r.sub("keep/#", qos=1)
    got = {}
    for _ in range(2):
        p = r.recv_publish()
        got[p.topic] = p
    assert got["keep/1"].payload == b"one" and got["keep/1"].retain
    assert got["keep/1"].props.get(0x03) == "text/plain"
    assert got["keep/1"].props.get(0x26) == [("k", "v")]
    assert got["keep/2"].payload == b"two" and got["keep/2"].retain
    r.disconnect()

    # MQTT 5 session: present, its queue in order with the subscription identifier.
    s5 = mr.Conn(port, mr.V5)
    ack = s5.handshake("s5", clean=False, properties={0x11: 3600})
    assert ack.session_present
    msgs = [s5.recv_publish() for _ in range(3)]
    assert [(m.topic, m.payload, m.qos) for m in msgs] == [
        ("q/inf", b"INF", 1), ("q/a", b"A", 1), ("q/b", b"B", 2)]
    assert all(m.props.get(0x0B) == [7] for m in msgs), msgs
    # Queued messages go out with packet identifiers of their own (Mosquitto numbers them when
    # queuing: the exported file must carry them), never as duplicates.
    assert len({m.pid for m in msgs}) == 3 and all(m.pid and not m.dup for m in msgs), msgs
    assert msgs[1].props.get(0x03) == "text/plain"
    # The subscription itself (with No Local) is there: a new message reaches it.
    s5.pub("q/self", b"own", qos=1)  # No Local: not sent back
    other = mr.client(port, "other", version=mr.V5)
    other.pub("q/new", b"N", qos=1)
    p = s5.recv_publish()
    assert (p.topic, p.payload) == ("q/new", b"N"), p
    s5.disconnect()

    # MQTT 3.1.1 session: the unacknowledged message again (DUP, same packet id), then the
    # queue, then a new message through the converted subscription.
    s3 = mr.Conn(port, mr.V311)
    assert s3.handshake("s3", clean=False).session_present
    first = s3.recv_publish()
    assert (first.topic, first.pid, first.dup) == ("q/inf", known["inflight_pid"], True), first
    rest = [s3.recv_publish() for _ in range(4)]
    assert len({m.pid for m in rest}) == 4 and all(m.pid and not m.dup for m in rest), rest
    assert [(m.topic, m.payload, m.qos) for m in rest] == [
        ("q/a", b"A", 1), ("q/b", b"B", 1), ("q/self", b"own", 1), ("q/new", b"N", 1)]
    s3.disconnect()

    # The QoS 2 delivery whose PUBCOMP was missing: PUBREL again, same packet id.
    r2 = mr.Conn(port, mr.V311)
    assert r2.handshake("r2", clean=False).session_present
    rel = r2.expect(mr.PUBREL)
    assert rel.pid == known["pubrel_pid"]
    r2.send(mr.pubcomp(rel.pid))
    r2.disconnect()

    # The incoming QoS 2 message waiting for PUBREL: released now, it reaches "hold".
    in2 = mr.Conn(port, mr.V311)
    assert in2.handshake("in2", clean=False).session_present
    in2.send(mr.pubrel(42))
    assert in2.expect(mr.PUBCOMP).pid == 42
    in2.disconnect()
    hold = mr.Conn(port, mr.V311)
    assert hold.handshake("hold", clean=False).session_present
    p = hold.recv_publish()
    assert (p.topic, p.payload, p.qos) == ("held/t", b"H", 2)
    hold.disconnect()
    other.disconnect()


def test_mq_converts_mosquitto_db(tmp_path, brokers_made):
    d = tmp_path / "db"
    d.mkdir()
    mosq = MosquittoBroker(d)
    brokers_made.append(mosq)
    mosq.start()
    known = make_state(mosq.port)
    assert mosq.stop() == 0
    db = d / "mosquitto.db"
    original = db.read_bytes()
    assert original.startswith(MOSQ_MAGIC)

    mq = brokers.Broker(str(d), "persistence true\npersistence_location %s/\n" % d)
    brokers_made.append(mq)
    mq.start()
    m = mq.wait_log(r"Converting Mosquitto persistence file \S*mosquitto\.db \(format version 6\)"
                    r": 2 retained messages, 5 persistent sessions with 4 subscriptions, "
                    r"5 queued and 2 in-flight outgoing messages, 1 incoming QoS 2 messages"
                    r"[^\n]*The original is kept as (\S+)\.\n")
    backup = d / "mosquitto.db.mosquitto-backup"
    assert os.path.normpath(m.group(1)) == str(backup)
    assert backup.read_bytes() == original
    mq.wait_log(r"Persistence loaded from")  # the listeners open before this snapshot
    assert db.read_bytes().startswith(MQ_MAGIC)  # mq's own snapshot replaced it
    check_state(mq.port, known)
    assert mq.stop() == 0

    # A second conversion never overwrites the first backup.
    db.write_bytes(original)
    mq.start()
    mq.wait_log(r"The original is kept as \S*mosquitto\.db\.mosquitto-backup\.1\.")
    assert backup.read_bytes() == original
    # mq binds its listeners before it watches SIGTERM: stop it only once it serves.
    brokers.assert_broker_alive(mq.port)
    assert mq.stop() == 0


def test_damaged_mosquitto_db_is_refused(tmp_path):
    d = tmp_path / "db"
    d.mkdir()
    (d / "mosquitto.db").write_bytes(MOSQ_MAGIC + b"\0\0\0\0\0\0\0\x06\0\0\0\x02\0\0\x10\0")
    conf = d / "m.conf"
    conf.write_text("persistence true\npersistence_location %s/\nlistener %d 127.0.0.1\n%s" % (
        d, brokers.free_port(), "user root\n" if os.geteuid() == 0 else ""))
    r = subprocess.run([brokers.MQ_BIN, "serve", "-c", str(conf)], capture_output=True,
                       timeout=10)
    assert r.returncode != 0
    err = (r.stdout + r.stderr).decode()
    assert "is a Mosquitto persistence file damaged at offset 23" in err, err
    assert "Refusing to start" in err
    assert not (d / "mosquitto.db.mosquitto-backup").exists()


def test_export_loads_in_mosquitto(tmp_path, brokers_made):
    d = tmp_path / "mq"
    d.mkdir()
    mq = brokers.Broker(str(d), "persistence true\npersistence_location %s/\n" % d)
    brokers_made.append(mq)
    mq.start()
    known = make_state(mq.port)
    # A shared subscription too (Mosquitto 2.0.11 loads them, but does not save them: the
    # other direction cannot have one).
    sh = mr.client(mq.port, "sh", version=mr.V5, clean=False, properties={0x11: 3600})
    sh.sub("$share/g/sh/#", qos=1)
    sh.disconnect()
    assert mq.stop() == 0

    out = tmp_path / "mosq"
    out.mkdir()
    dest = out / "mosquitto.db"
    r = subprocess.run([brokers.MQ_BIN, "db", "to-mosquitto", str(d / "mosquitto.db"), str(dest)],
                       capture_output=True, timeout=10)
    text = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "2 retained messages, 6 persistent sessions with 5 subscriptions, 5 queued and 2 " \
           "in-flight outgoing messages, 1 incoming QoS 2 messages" in text, text
    assert dest.read_bytes().startswith(MOSQ_MAGIC)
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    # `mq db info` reads both kinds of file.
    info = subprocess.run([brokers.MQ_BIN, "db", "info", str(dest)], capture_output=True,
                          timeout=10)
    assert info.returncode == 0
    assert b"Mosquitto persistence file, format version 6: 2 retained messages, 6 persistent " \
           b"sessions" in info.stdout, info.stdout
    info = subprocess.run([brokers.MQ_BIN, "db", "info", str(d / "mosquitto.db")],
                          capture_output=True, timeout=10)
    assert info.returncode == 0
    assert b"mq persistence (snapshot and journal): 2 retained messages, 6 persistent " \
           b"sessions with 5 subscriptions, 7 outgoing messages, 1 incoming" in info.stdout, \
        info.stdout
    # An existing file is only replaced with --force.
    r = subprocess.run([brokers.MQ_BIN, "db", "to-mosquitto", str(d / "mosquitto.db"), str(dest)],
                       capture_output=True, timeout=10)
    assert r.returncode == 1 and b"--force" in r.stderr

    mosq = MosquittoBroker(out)
    brokers_made.append(mosq)
    mosq.start()
    # Mosquitto's own client for the retained messages.
    sub = subprocess.run(["mosquitto_sub", "-p", str(mosq.port), "-t", "keep/#", "-v", "-C", "2",
                          "-W", "5"], capture_output=True, timeout=10)
    assert sorted(sub.stdout.decode().splitlines()) == ["keep/1 one", "keep/2 two"]
    check_state(mosq.port, known)
    sh = mr.Conn(mosq.port, mr.V5)
    assert sh.handshake("sh", clean=False, properties={0x11: 3600}).session_present
    p2 = mr.client(mosq.port, "p2")
    p2.pub("sh/1", b"S", qos=1)
    p = sh.recv_publish()
    assert (p.topic, p.payload) == ("sh/1", b"S")
    sh.disconnect()
    p2.disconnect()
    assert mosq.stop() == 0
    assert "rror" not in mosq.log(), mosq.log()


def test_drop_in_under_mosquitto_name_converts(tmp_path, brokers_made):
    """Installed as `mosquitto` over Debian's package, mq finds the package's file and converts
    it the same way."""
    d = tmp_path / "db"
    d.mkdir()
    mosq = MosquittoBroker(d)
    brokers_made.append(mosq)
    mosq.start()
    pub = mr.client(mosq.port, "pub")
    pub.pub("keep/x", b"kept", qos=1, retain=True)
    pub.disconnect()
    assert mosq.stop() == 0
    link = tmp_path / "mosquitto"
    os.symlink(brokers.MQ_BIN, link)
    mq = brokers.Broker(str(d), "persistence true\npersistence_location %s/\n" % d,
                        argv0=str(link))
    brokers_made.append(mq)
    mq.start()
    mq.wait_log(r"Converting Mosquitto persistence file \S+ \(format version 6\): 1 retained")
    r = mr.client(mq.port, "reader")
    r.sub("keep/#", qos=1)
    p = r.recv_publish()
    assert (p.topic, p.payload, p.retain) == ("keep/x", b"kept", True)
    r.disconnect()
    assert (d / "mosquitto.db.mosquitto-backup").exists()
