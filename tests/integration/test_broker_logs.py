"""Log destinations and $SYS topics as Mosquitto 2.0.11 has them, and --version everywhere.

Every test here but the --version ones also runs against Debian's mosquitto
(MQ_TEST_REFERENCE=1), which is where the expected topic names and formats come from.
"""

import os
import re
import subprocess
import time

import pytest

import mqttraw as mr
from brokers import MQ_BIN, wait_until

V5 = mr.V5
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
PUB = "/usr/bin/mosquitto_pub"


def collect(conn, until, timeout=5.0):
    """PUBLISHes until `until(list)` is true, answering QoS 1 and 2 flows as they interleave."""
    got = []
    deadline = time.monotonic() + timeout
    while not until(got):
        left = deadline - time.monotonic()
        assert left > 0, "timed out; got %r" % got
        p = conn.recv(left)
        if p.type == mr.PUBREL:
            conn.send(mr.pubcomp(p.pid, conn.version))
            continue
        assert p.type == mr.PUBLISH, p
        if p.qos == 1:
            conn.send(mr.puback(p.pid, conn.version))
        elif p.qos == 2:
            conn.send(mr.pubrec(p.pid, conn.version))
        got.append(p)
    return got


def test_log_dest_topic_publishes_lines_by_level(start_broker, conns):
    b = start_broker("log_dest topic\nlog_type all\n")
    watch = conns(mr.client(b.port, "log-watch", version=V5))
    watch.sub("$SYS/broker/log/#", 2)
    other = conns(mr.client(b.port, "log-other"))
    other.sub("log/foo", 0)

    def seen(got):
        topics = {(p.topic, p.payload.decode()) for p in got}
        return (any(t == "$SYS/broker/log/N" and "New client connected" in m and "log-other" in m
                    for t, m in topics)
                and any(t == "$SYS/broker/log/M/subscribe" and m.endswith("log-other 0 log/foo")
                        for t, m in topics))
    got = collect(watch, seen)
    for p in got:
        assert re.match(r"^\d+: ", p.payload.decode()), p  # the line with its timestamp
        assert p.qos == 2 and not p.retain, p
        assert 0 < p.props.get(mr.MESSAGE_EXPIRY_INTERVAL, 0) <= 20, p
        # Debug lines ("Received CONNECT ...") never go to topics.
        assert p.topic in ("$SYS/broker/log/N", "$SYS/broker/log/I", "$SYS/broker/log/W",
                           "$SYS/broker/log/E", "$SYS/broker/log/M/subscribe",
                           "$SYS/broker/log/M/unsubscribe"), p
    other.send(mr.unsubscribe(other.next_pid(), ["log/foo"]))
    other.expect(mr.UNSUBACK)
    got = collect(watch, lambda g: any(p.topic == "$SYS/broker/log/M/unsubscribe" for p in g))
    assert got[-1].payload.decode().endswith("log-other log/foo"), got[-1]


@pytest.mark.mq_only  # Mosquitto 2.0.11 has no "Received CONNECT" line at all
def test_received_connect_logged_once_with_password_file(start_broker, tmp_path):
    """The CONNECT is handled twice (again after the password check on a worker thread)."""
    pw = tmp_path / "pw"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(pw), "alice", "secret"], check=True,
                   capture_output=True)
    b = start_broker("allow_anonymous false\npassword_file %s\nlog_type all\n" % pw)
    r = subprocess.run([PUB, "-p", str(b.port), "-u", "alice", "-P", "secret", "-i", "once-pub",
                        "-t", "t", "-m", "x"], capture_output=True, timeout=10)
    assert r.returncode == 0, r
    b.wait_log(r"Client once-pub disconnected")
    lines = [l for l in b.log().splitlines() if "Received CONNECT from" in l]
    assert len(lines) == 1, lines


def test_sys_store_and_heap_topics(start_broker, conns):
    b = start_broker("sys_interval 1\n")
    names = ["$SYS/broker/heap/current", "$SYS/broker/heap/maximum",
             "$SYS/broker/messages/stored", "$SYS/broker/store/messages/count",
             "$SYS/broker/store/messages/bytes"]
    watch = conns(mr.client(b.port, "sys-watch"))
    for n in names:
        watch.sub(n, 0)
    latest = {}

    def have_all(got):
        for p in got[len(latest_seen):]:
            latest[p.topic] = p.payload.decode()
            latest_seen.append(p)
        return set(names) <= set(latest)
    latest_seen = []
    collect(watch, have_all, timeout=10.0)
    for n in names:
        assert re.fullmatch(r"\d+", latest[n]), (n, latest[n])
    assert int(latest["$SYS/broker/heap/maximum"]) >= int(latest["$SYS/broker/heap/current"]) > 0
    before = int(latest["$SYS/broker/store/messages/bytes"])
    pub = conns(mr.client(b.port, "sys-pub"))
    pub.pub("store/big", b"b" * 5000, qos=1, retain=True)
    collect(watch, lambda g: have_all(g) and
            int(latest["$SYS/broker/store/messages/bytes"]) >= before + 5000, timeout=10.0)
    assert int(latest["$SYS/broker/store/messages/count"]) > 0


# --- --version ---------------------------------------------------------------------------------

@pytest.fixture
def names(tmp_path):
    out = {}
    for n in ("mosquitto", "mosquitto_passwd", "mosquitto_pub", "mosquitto_sub", "mosquitto_rr"):
        link = tmp_path / n
        os.symlink(os.path.abspath(MQ_BIN), link)
        out[n] = [str(link)]
    for s in ("serve", "passwd", "certgen", "pub", "sub", "rr"):
        out["mq " + s] = [MQ_BIN, s]
    out["mq"] = [MQ_BIN]
    return out


@pytest.mark.mq_only
@pytest.mark.parametrize("name", ["mq", "mq serve", "mq passwd", "mq certgen", "mq pub",
                                  "mq sub", "mq rr", "mosquitto", "mosquitto_passwd"])
def test_version_exits_0(names, name):
    r = subprocess.run(names[name] + ["--version"], capture_output=True, timeout=10)
    assert r.returncode == 0, r
    assert re.search(rb"version .*\d", r.stdout.splitlines()[0]), r.stdout
    assert b"libmosquitto" not in r.stdout or name in ("mq pub", "mq sub", "mq rr")


@pytest.mark.mq_only
@pytest.mark.parametrize("name", ["mq pub", "mq sub", "mq rr"])
def test_client_version_does_not_claim_libmosquitto(names, name):
    r = subprocess.run(names[name] + ["--version"], capture_output=True, timeout=10)
    assert r.returncode == 0 and b"libmosquitto" not in r.stdout, r.stdout
