"""password_file and acl_file in the broker: Mosquitto 2.0 semantics, and logins that never
block the event loop."""

import os
import subprocess
import threading
import time

import pytest

import mqttraw as mr
from brokers import MQ_BIN, REFERENCE, assert_broker_alive

PUB = "/usr/bin/mosquitto_pub"


def make_pwfile(path, users, hash_args=()):
    first = True
    for user, password in users:
        if REFERENCE:
            cmd = ["/usr/bin/mosquitto_passwd"] + (["-c"] if first else []) + ["-b", str(path),
                                                                             user, password]
        else:
            cmd = [MQ_BIN, "passwd"] + list(hash_args) + (["-c"] if first else []) + [
                "-b", str(path), user, password]
        subprocess.run(cmd, check=True, capture_output=True)
        first = False


def pub(port, *args):
    return subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(port), "-t", "t", "-m", "m"] +
                          list(args), capture_output=True, timeout=10).returncode


def test_password_file_accepts_and_refuses(tmp_path, start_broker):
    pw = tmp_path / "pw"
    make_pwfile(pw, [("alice", "secret"), ("bob", "hunter2")])
    b = start_broker("password_file %s\nallow_anonymous false\n" % pw)
    assert pub(b.port, "-u", "alice", "-P", "secret") == 0
    assert pub(b.port, "-u", "bob", "-P", "hunter2", "-V", "mqttv5") == 0
    assert pub(b.port, "-u", "alice", "-P", "wrong") == 5
    assert pub(b.port, "-u", "alice", "-P", "wrong", "-V", "mqttv5") == 135
    assert pub(b.port, "-u", "nobody", "-P", "x") == 5
    assert pub(b.port) == 5  # anonymous


def test_password_file_with_anonymous_allowed(tmp_path, start_broker):
    pw = tmp_path / "pw"
    make_pwfile(pw, [("alice", "secret")])
    b = start_broker("password_file %s\nallow_anonymous true\n" % pw)
    assert pub(b.port) == 0
    assert pub(b.port, "-u", "alice", "-P", "wrong") == 5


def test_no_password_file_and_no_anonymous_refuses_everyone(start_broker):
    b = start_broker("allow_anonymous false\n")
    assert pub(b.port) == 5
    assert pub(b.port, "-u", "alice", "-P", "secret") == 5


def test_acl_read_filters_delivery_and_write_is_dropped(tmp_path, start_broker, conns):
    acl = tmp_path / "acl"
    acl.write_text("topic write pub/#\n"      # anonymous clients: may write pub/#, read nothing
                   "user alice\n"
                   "topic read foo/#\n"
                   "topic deny foo/secret\n"
                   "pattern readwrite clients/%c/#\n")
    pw = tmp_path / "pw"
    make_pwfile(pw, [("alice", "secret")])
    b = start_broker("password_file %s\nacl_file %s\nallow_anonymous true\n" % (pw, acl))
    alice = conns(mr.client(b.port, "alice1", username="alice", password=b"secret"))
    alice.sub([("#", 0)])  # granted: acl_file does not restrict SUBSCRIBE (Mosquitto)
    anon = conns(mr.client(b.port, "anon1"))
    for topic in ["foo/x", "foo/secret", "bar/x", "clients/alice1/x", "clients/other/x"]:
        anon.pub(topic, b"v", qos=1)
    alice.pub("clients/alice1/own", b"mine", qos=1)
    anon.pub("pub/marker", b"", qos=1)
    got = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            p = alice.recv(0.3)
        except mr.Timeout:
            break
        if p.type == 3:
            got.append(p.topic)
    # anon may write only pub/#: the others were dropped; alice reads foo/# (not foo/secret)
    # and her own clients/alice1/#.
    assert sorted(got) == ["clients/alice1/own"], got


def test_acl_anonymous_write_allowed_topic_delivered(tmp_path, start_broker, conns):
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite open/#\n")
    b = start_broker("acl_file %s\nallow_anonymous true\n" % acl)
    s = conns(mr.client(b.port, "reader"))
    s.sub([("open/#", 1)])
    w = conns(mr.client(b.port, "writer"))
    w.pub("open/a", b"hello", qos=1)
    w.pub("closed/a", b"no", qos=1)
    p = s.recv_publish()
    assert (p.topic, p.payload) == ("open/a", b"hello")
    s.expect_silence(0.3)


@pytest.mark.mq_only
def test_acl_subscribe_check_refuses_uncovered_filters(tmp_path, start_broker, conns):
    # mq extension (Mosquitto issues 744, 1387, 2296): SUBSCRIBE itself respects the ACL.
    acl = tmp_path / "acl"
    acl.write_text("topic read foo/#\n")
    b = start_broker("acl_file %s\nallow_anonymous true\nacl_subscribe_check true\n" % acl)
    c = conns(mr.client(b.port, "sc", version=mr.V5))
    c.send(mr.subscribe(1, [("foo/#", 0), ("#", 0), ("foo/bar", 1)], version=mr.V5))
    ack = c.expect(9)
    assert list(ack.codes) == [0x00, 0x87, 0x01]
    c3 = conns(mr.client(b.port, "sc3"))
    c3.send(mr.subscribe(1, [("#", 0)]))
    assert list(c3.expect(9).codes) == [0x80]


@pytest.mark.mq_only
def test_argon2_logins_do_not_block_other_clients(tmp_path, start_broker, conns):
    # Dozens of clients log in at once with Argon2id passwords (~0.1 s of CPU each); a client
    # already connected keeps getting PINGRESP promptly meanwhile, because verification runs
    # off the event loop. If it ran on the loop, one round trip would wait for several hashes.
    pw = tmp_path / "pw"
    make_pwfile(pw, [("u%d" % i, "p%d" % i) for i in range(4)])
    b = start_broker("password_file %s\n" % pw)
    watcher = conns(mr.client(b.port, "watcher", username="u0", password=b"p0"))
    n = 32
    results = [None] * n

    def login(i):
        c = mr.Conn(b.port)
        try:
            c.send(mr.connect("burst%d" % i, username="u%d" % (i % 4), password=b"p%d" % (i % 4)))
            results[i] = c.expect(2, timeout=60).reason
        finally:
            c.close()

    threads = [threading.Thread(target=login, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    rtts = []
    while any(t.is_alive() for t in threads) and time.monotonic() - t0 < 60:
        s = time.monotonic()
        watcher.send(mr.pingreq())
        watcher.expect(13, timeout=5)
        rtts.append(time.monotonic() - s)
    for t in threads:
        t.join(60)
    burst = time.monotonic() - t0
    assert results == [0] * n
    assert len(rtts) >= 3
    rtts.sort()
    median, worst = rtts[len(rtts) // 2], rtts[-1]
    print("login burst: %d logins in %.2f s; watcher PINGREQ round trips: median %.1f ms, "
          "max %.1f ms over %d" % (n, burst, median * 1000, worst * 1000, len(rtts)))
    # The burst costs seconds of CPU; the watcher's round trips stay far below one hash.
    assert median < 0.05, rtts
    assert worst < burst / 4, (worst, burst)
    assert_broker_alive(b.port)


def test_sighup_rechecks_connected_clients(tmp_path, start_broker, conns):
    """SIGHUP re-verifies connected clients against the reloaded password file and
    allow_anonymous (Mosquitto 2.0 mosquitto_security_apply): a removed user and, once
    anonymous access is off, anonymous clients are disconnected; the others stay."""
    import signal
    pw = tmp_path / "pw"
    make_pwfile(pw, [("alice", "secret"), ("bob", "hunter2")])
    b = start_broker("password_file %s\nallow_anonymous true\n" % pw)
    alice = conns(mr.client(b.port, "alice-hup", username="alice", password=b"secret"))
    bob = conns(mr.client(b.port, "bob-hup", username="bob", password=b"hunter2"))
    anon = conns(mr.client(b.port, "anon-hup"))
    tool = ["/usr/bin/mosquitto_passwd"] if REFERENCE else [MQ_BIN, "passwd"]
    subprocess.run(tool + ["-D", str(pw), "bob"], check=True, capture_output=True)
    text = open(b.conf_path).read().replace("allow_anonymous true", "allow_anonymous false")
    with open(b.conf_path, "w") as f:
        f.write(text)
    b.proc.send_signal(signal.SIGHUP)
    bob.expect_closed(5)
    anon.expect_closed(5)
    alice.sub([("still/here", 1)])  # alice's connection is unaffected
    assert pub(b.port, "-u", "bob", "-P", "hunter2") == 5
    assert pub(b.port, "-u", "alice", "-P", "secret") == 0


@pytest.mark.mq_only
def test_refusals_logged_with_reason_never_the_password(tmp_path, start_broker):
    pw = tmp_path / "pw"
    make_pwfile(pw, [("alice", "secret")])
    b = start_broker("password_file %s\nallow_anonymous false\nconnection_messages true\n" % pw)
    assert pub(b.port, "-u", "alice", "-P", "Wr0ngPassw0rd", "-i", "c-bad") == 5
    b.wait_log(r"Client c-bad disconnected, not authorised: bad password\.")
    assert pub(b.port, "-u", "mallory", "-P", "Wr0ngPassw0rd", "-i", "c-unknown") == 5
    b.wait_log(r"Client c-unknown disconnected, not authorised: unknown user\.")
    assert pub(b.port, "-i", "c-anon") == 5
    b.wait_log(r"Client c-anon disconnected, not authorised: no user name and anonymous")
    assert "Wr0ngPassw0rd" not in b.log() and "secret" not in b.log()


def test_per_listener_settings(tmp_path):
    """per_listener_settings true: each listener has its own allow_anonymous, password_file
    and acl_file (Mosquitto 2.0): an open listener and a closed one side by side."""
    import brokers
    from brokers import free_port, stop_process, wait_for_port
    pw = tmp_path / "pw"
    make_pwfile(pw, [("alice", "secret")])
    open_port, closed_port = free_port(), free_port()
    conf = tmp_path / "broker.conf"
    conf.write_text("per_listener_settings true\n%s"
                    "listener %d 127.0.0.1\nallow_anonymous true\n"
                    "listener %d 127.0.0.1\npassword_file %s\nallow_anonymous false\n"
                    % ("user root\n" if os.geteuid() == 0 else "", open_port, closed_port, pw))
    proc = subprocess.Popen(brokers.broker_argv() + ["-c", str(conf)], cwd=str(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(open_port, 5.0, proc) and wait_for_port(closed_port, 5.0, proc)
        assert pub(open_port) == 0                              # anonymous allowed here
        assert pub(closed_port) == 5                            # and refused here
        assert pub(closed_port, "-u", "alice", "-P", "secret") == 0
        assert pub(closed_port, "-u", "alice", "-P", "nope") == 5
        # The open listener has no password file: a user name is accepted as anonymous is.
        assert pub(open_port, "-u", "alice", "-P", "nope") == 0
    finally:
        stop_process(proc)
