"""The Mosquitto 2.1 additions to our clients (sub: %f / %d, hex grouping, -w/--watch,
--message-rate, --retain-handling, -U without -t; rr: --retain-handling, --latency) and the
sub / pub behaviours issue 4 asks tests for (--remove-retained, --random-filter, -U, wills),
each against Debian's mosquitto broker and against `mq serve` (fixture any_broker).

  MQ_BIN=build/mq /usr/bin/python3 -m pytest -q tests/integration/test_clients_sub21.py
"""

import os
import queue
import re
import signal
import struct
import subprocess
import threading
import time

import pytest

from brokers import stop_process
# Shared helpers and fixtures (any_broker, links) of the client tests.
from test_clients_mq import DEB, MQ_BIN, Reader, any_broker, links, mq, run  # noqa: F401

pytestmark = pytest.mark.skipif(not MQ_BIN, reason="MQ_BIN not set: nothing to test")


def pub(port, *args, stdin=None):
    r = subprocess.run([DEB["pub"], "-p", str(port)] + list(args), input=stdin,
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r


class RawReader:
    """Collects a child's stdout bytes as they come (watch mode writes no newline on redraws)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.data = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def wait_for(self, n, timeout=5.0):
        """Waits until at least n bytes arrived; returns all so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.data) >= n:
                    return self.data
            time.sleep(0.02)
        with self.lock:
            return self.data


# --- -F: %f, %d, hex grouping, %x width ----------------------------------------------------------

def publish_numbers(port):
    pub(port, "-t", "fd/f", "-r", "-s", stdin=struct.pack("<f", 1.5))
    pub(port, "-t", "fd/d", "-r", "-s", stdin=struct.pack("<d", -2.25))
    pub(port, "-t", "fd/h", "-r", "-s", stdin=b"\x18\x83\xab")


def test_float_double_and_hex_grouping(any_broker, links):
    publish_numbers(any_broker.port)
    r = run([links["sub"], "-p", str(any_broker.port), "-t", "fd/#", "-C", "3", "-W", "5",
             "-F", "%t [%.1f] [%6.2d] %.2:x %.4X"])
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == [
        b"fd/d [] [ -2.25] 00:00:00:00:00:00:02:c0 0000 0000 0000 02C0",
        b"fd/f [1.5] [] 00:00:c0:3f 0000 C03F",
        b"fd/h [] [] 18:83:ab 1883 AB",
    ]
    # A wrong payload length prints nothing for the field and says so on stderr, as %J does.
    errors = sorted(r.stderr.decode().splitlines())
    assert errors == [
        "Error: Message payload is not a 4 byte float on topic fd/d.",
        "Error: Message payload is not a 4 byte float on topic fd/h.",
        "Error: Message payload is not an 8 byte double on topic fd/f.",
        "Error: Message payload is not an 8 byte double on topic fd/h.",
    ]
    quiet = run([links["sub"], "-p", str(any_broker.port), "-t", "fd/h", "-C", "1", "-W", "5",
                 "-F", "%f", "--quiet"])
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"\n", b"")


def test_hex_width_20_under_mosquitto_names_21_under_mq(any_broker, links):
    publish_numbers(any_broker.port)
    args = ["-p", str(any_broker.port), "-t", "fd/h", "-C", "1", "-W", "5", "-F", "%4x|%-8X|"]
    ours = run([links["sub"]] + args)
    theirs = run([DEB["sub"]] + args)
    assert ours.stdout == theirs.stdout == b"  18|18      |\n"  # 2.0.11: width/2 bytes at most
    r = run(mq("sub", *args))
    assert (r.returncode, r.stdout) == (0, b"1883ab|1883AB  |\n"), r.stderr  # 2.1: a minimum


# --- -w / --watch ------------------------------------------------------------------------------

def test_watch_redraws_one_line_per_topic(any_broker, links):
    port = any_broker.port
    pub(port, "-t", "w/a", "-m", "1", "-r")
    s = RawReader([links["sub"], "-p", str(port), "-t", "w/#", "-w", "-W", "15"])
    try:
        assert s.wait_for(len(b"w/a 1\n")) == b"w/a 1\n"  # retained: the subscription is up
        pub(port, "-t", "w/b", "-m", "x")
        assert s.wait_for(12) == b"w/a 1\nw/b x\n"
        pub(port, "-t", "w/a", "-m", "2")
        want = b"w/a 1\nw/b x\n\x1b[2A\r\x1b[2Kw/a 2\x1b[2B\r"
        assert s.wait_for(len(want)) == want
        pub(port, "-t", "w/b", "-m", "multi\nline")
        want += b"\x1b[1A\r\x1b[2Kw/b multi line\x1b[1B\r"
        assert s.wait_for(len(want)) == want
    finally:
        stop_process(s.proc)


def test_watch_with_format(any_broker, links):
    port = any_broker.port
    pub(port, "-t", "wf/a", "-m", "abc", "-r")
    s = RawReader([links["sub"], "-p", str(port), "-t", "wf/#", "--watch", "-F", "%t=%x", "-W", "15"])
    try:
        assert s.wait_for(len(b"wf/a=616263\n")) == b"wf/a=616263\n"
        pub(port, "-t", "wf/a", "-m", "d")
        want = b"wf/a=616263\n\x1b[1A\r\x1b[2Kwf/a=64\x1b[1B\r"
        assert s.wait_for(len(want)) == want
    finally:
        stop_process(s.proc)


# --- --message-rate ----------------------------------------------------------------------------

def test_message_rate_counts_a_second(any_broker, links):
    port = any_broker.port
    pub(port, "-t", "mr/r", "-m", "retained", "-r")
    s = Reader([links["sub"], "-p", str(port), "-t", "mr/#", "--message-rate", "-q", "1", "-W", "20"])
    lines = []
    try:
        # The retained message is counted once the subscription is up.
        while sum(int(l.split()[0]) for l in lines) < 1:
            lines.append(s.get(5.0))
        pub(port, "-t", "mr/live", "-l", "-q", "1", stdin=b"1\n2\n3\n4\n5\n")
        deadline = time.monotonic() + 8
        while sum(int(l.split()[0]) for l in lines) < 6 and time.monotonic() < deadline:
            lines.append(s.get(5.0))
        lines.append(s.get(5.0))  # one more second: nothing more, a zero
    finally:
        stop_process(s.proc)
    assert all(re.fullmatch(rb"\d+ messages/s\n", l) for l in lines), lines
    assert sum(int(l.split()[0]) for l in lines) == 6
    assert lines[-1] == b"0 messages/s\n"


def test_watch_and_message_rate_are_exclusive(links):
    r = run([links["sub"], "-t", "a", "-w", "--message-rate"])
    assert (r.returncode, r.stderr) == (
        1, b"Error: --watch and --message-rate cannot be used together.\n\nUse 'mosquitto_sub --help' to see usage.\n")


# --- --retain-handling (sub and rr), rr --latency ----------------------------------------------

@pytest.mark.parametrize("handling,code,out", [("never", 27, b""), ("always", 0, b"kept\n"),
                                                ("new", 0, b"kept\n")])
def test_sub_retain_handling(any_broker, links, handling, code, out):
    pub(any_broker.port, "-t", "rh/t", "-m", "kept", "-r")
    r = run([links["sub"], "-p", str(any_broker.port), "-t", "rh/t", "-V", "5", "-C", "1",
             "-W", "1", "--retain-handling", handling])
    assert (r.returncode, r.stdout) == (code, out), r.stderr


@pytest.mark.parametrize("handling,code,out", [("never", 27, b""), ("always", 0, b"answer\n")])
def test_rr_retain_handling(any_broker, links, handling, code, out):
    # A retained message on the response topic is taken for the response unless never sent.
    pub(any_broker.port, "-t", "rh/resp", "-m", "answer", "-r")
    r = run([links["rr"], "-p", str(any_broker.port), "-t", "rh/req", "-e", "rh/resp", "-m", "q",
             "-W", "1", "--retain-handling", handling])
    assert (r.returncode, r.stdout) == (code, out), r.stderr


def test_rr_latency(any_broker, links):
    pub(any_broker.port, "-t", "lat/resp", "-m", "answer", "-r")
    r = run([links["rr"], "-p", str(any_broker.port), "-t", "lat/req", "-e", "lat/resp", "-m", "q",
             "-W", "5", "--latency"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rb"answer\nLatency: \d+\.\d{3} ms\n", r.stdout), r.stdout


# --- --remove-retained, --random-filter, -U ----------------------------------------------------

@pytest.mark.parametrize("client", ["ours", "debian"])
def test_remove_retained_spares_filtered_topics(any_broker, links, client):
    port = any_broker.port
    for t in ("a", "b", "keep"):
        pub(port, "-t", "rm/" + t, "-m", t, "-r")
    sub = links["sub"] if client == "ours" else DEB["sub"]
    r = run([sub, "-p", str(port), "-t", "rm/#", "--remove-retained", "-T", "rm/keep", "-C", "2",
             "-W", "2", "-v"])
    # Debian's 2.0.11 mosquitto_sub does not stop at -C while its clearing publishes are in
    # flight (it waits for -W); ours exits once they are acknowledged.
    assert r.returncode == (0 if client == "ours" else 27), r.stderr
    assert sorted(r.stdout.splitlines()) == [b"rm/a a", b"rm/b b"]
    left = run([DEB["sub"], "-p", str(port), "-t", "rm/#", "--retained-only", "-W", "1", "-v"])
    assert (left.returncode, left.stdout) == (27, b"rm/keep keep\n")


def test_random_filter_prints_about_the_share(any_broker, links):
    """--random-filter P: Mosquitto 2.0 prints P/10 % of the messages (it draws out of 10,000
    against 10 x P; Debian's mosquitto_sub prints about 40 of 400 with P=100), and the Mosquitto
    names keep that; `mq sub` prints P %. -C counts every message received, printed or not."""
    port = any_broker.port
    n = 400
    common = ["-p", str(port), "-t", "rf", "-q", "1", "-C", str(n), "-W", "20", "-d"]
    subs = [Reader([links["sub"]] + common + ["--random-filter", "100"]),
            Reader(mq("sub", *common, "--random-filter", "50"))]
    printed = [0, 0]
    try:
        for s in subs:
            while not s.get(5.0).startswith(b"Subscribed"):
                pass
        pub(port, "-t", "rf", "-l", "-q", "1", stdin=b"m\n" * n)
        for i, s in enumerate(subs):
            assert s.proc.wait(15) == 0
            while True:
                try:
                    printed[i] += s.get(1.0) == b"m\n"
                except queue.Empty:
                    break
    finally:
        for s in subs:
            stop_process(s.proc)
    assert 10 <= printed[0] <= 90, printed  # ~40 (10%)
    assert 120 <= printed[1] <= 280, printed  # ~200 (50%); outside either: p < 1e-9


@pytest.mark.parametrize("unsubscribe", [False, True])
def test_unsubscribe_without_topic(any_broker, links, unsubscribe):
    """2.1: sub takes -U without -t. A persistent session subscribed to u/t is unsubscribed
    by a later `sub -U u/t`, so a message published meanwhile is not queued for it."""
    port = str(any_broker.port)
    common = ["-p", port, "-i", "u21-client", "-c", "-q", "1"]
    r = run([links["sub"]] + common + ["-t", "u/t", "-E"])
    assert r.returncode == 0, r.stderr
    if unsubscribe:
        # -E with only -U: exit once the UNSUBSCRIBE is acknowledged.
        r = run([links["sub"]] + common + ["-U", "u/t", "-E", "-W", "5"])
        assert (r.returncode, r.stdout) == (0, b""), r.stderr
    pub(port, "-t", "u/t", "-m", "queued", "-q", "1")
    r = run([links["sub"]] + common + ["-t", "u/other", "-C", "1", "-W", "2"])
    if unsubscribe:
        assert (r.returncode, r.stdout) == (27, b"")
    else:
        assert (r.returncode, r.stdout) == (0, b"queued\n"), r.stderr


# --- wills from pub and sub ----------------------------------------------------------------------

def will_args(topic, version="311"):
    return ["--will-topic", topic, "--will-payload", "gone", "--will-qos", "1", "-V", version]


@pytest.mark.parametrize("tool", ["pub", "sub"])
def test_will_published_when_client_killed(any_broker, links, tool):
    port = any_broker.port
    watcher = Reader([DEB["sub"], "-p", str(port), "-t", "will/#", "-t", "alive/#", "-v", "-W", "20"])
    child = None
    try:
        watcher.wait_probe(port, "alive/probe")
        if tool == "sub":
            child = Reader([links["sub"], "-p", str(port), "-t", "alive/sub"] + will_args("will/sub"))
            child.wait_probe(port, "alive/sub")
        else:
            child = subprocess.Popen([links["pub"], "-p", str(port), "-t", "alive/pub", "-l", "-q", "1"]
                                     + will_args("will/pub"),
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            child.stdin.write(b"hello\n")
            child.stdin.flush()
            while watcher.get() != b"alive/pub hello\n":
                pass
        proc = child.proc if tool == "sub" else child
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        line = watcher.get()
        while line.startswith(b"alive/"):
            line = watcher.get()
        assert line == b"will/%s gone\n" % tool.encode()
    finally:
        if child is not None:
            stop_process(child.proc if tool == "sub" else child)
        stop_process(watcher.proc)


@pytest.mark.parametrize("client", ["ours", "debian"])
@pytest.mark.parametrize("version,will_sent", [("5", True), ("311", False)])
def test_sigterm_sends_will_only_on_v5(any_broker, links, client, version, will_sent):
    """SIGTERM: sub sends DISCONNECT with reason 0x04 (with will) on MQTT 5, as Mosquitto's
    signal handler does; on 3.1.1 a DISCONNECT discards the will."""
    port = any_broker.port
    watcher = Reader([DEB["sub"], "-p", str(port), "-t", "will/#", "-v", "-W", "20"])
    sub = links["sub"] if client == "ours" else DEB["sub"]
    child = Reader([sub, "-p", str(port), "-t", "alive/t"] + will_args("will/term", version))
    try:
        watcher.wait_probe(port, "will/probe")
        child.wait_probe(port, "alive/t")
        child.proc.send_signal(signal.SIGTERM)
        assert child.proc.wait(5) == 0
        lines = []
        try:
            while True:
                l = watcher.get(1.5)
                if not l.startswith(b"will/probe"):
                    lines.append(l)
        except queue.Empty:
            pass
        assert lines == ([b"will/term gone\n"] if will_sent else [])
    finally:
        stop_process(child.proc)
        stop_process(watcher.proc)
