"""TLS listeners and TLS clients, with certificates made at test time by `mq certgen`:
the TLS walkthrough of the user's notes (CA, server and client certificates, a listener with
require_certificate and use_identity_as_username, mosquitto_pub/_sub with --cafile --cert --key,
openssl s_client), Debian's clients against `mq serve`, our clients against Debian's mosquitto,
an ACL keyed on the certificate's name, PSK, and the errors a person gets.

  MQ_BIN=build/mq /usr/bin/python3 -m pytest -q tests/integration/test_tls.py
"""

import os
import queue
import shutil
import signal
import subprocess
import threading
import time

import pytest

import brokers
from brokers import free_port, stop_process, wait_until

MQ_BIN = os.environ.get("MQ_BIN", "")
DEB_PUB = "/usr/bin/mosquitto_pub"
DEB_SUB = "/usr/bin/mosquitto_sub"
MOSQUITTO = "/usr/sbin/mosquitto"

pytestmark = pytest.mark.skipif(not MQ_BIN or not shutil.which("openssl"),
                                reason="needs MQ_BIN (for certgen) and openssl")


def run(argv, timeout=15, **kw):
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)


def s_client_until_refused(argv, deadline=10.0):
    """Run openssl s_client with stdin held open; returns (exit code or None if it was still
    connected at the deadline, stderr)."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.wait(deadline)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = None
        p.kill()
    _, err = p.communicate(timeout=10)
    return rc, err


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca/ server + alice + bob; other/ a second CA with its own client 'mallory'."""
    d = tmp_path_factory.mktemp("pki")
    r = run([MQ_BIN, "certgen", "all", "--dir", str(d / "ca"), "--client", "alice",
             "--client", "bob"])
    assert r.returncode == 0, r.stderr
    r = run([MQ_BIN, "certgen", "all", "--dir", str(d / "other"), "--client", "mallory"])
    assert r.returncode == 0, r.stderr
    # A server certificate that names only broker.local and 127.0.0.2.
    os.mkdir(d / "named")
    r = run([MQ_BIN, "certgen", "server", "--dir", str(d / "named"), "--ca-dir", str(d / "ca"),
             "--dns", "broker.local", "--ip", "127.0.0.2", "--no-local"])
    assert r.returncode == 0, r.stderr
    return d


def tls_conf(pki, port=None, require=True, identity=True, extra=""):
    ca = pki / "ca"
    lines = ["listener %d 127.0.0.1" % (port or free_port()) if port is not None else "",
             "cafile %s" % (ca / "ca.crt"), "certfile %s" % (ca / "server.crt"),
             "keyfile %s" % (ca / "server.key")]
    if require:
        lines.append("require_certificate true")
    if identity:
        lines.append("use_identity_as_username true")
    return "\n".join(l for l in lines if l) + "\n" + extra


def client_tls(pki, name="alice", ca="ca"):
    d = pki / ca
    return ["--cafile", str(pki / "ca" / "ca.crt"), "--cert", str(d / (name + ".crt")),
            "--key", str(d / (name + ".key"))]


class TlsBroker:
    """`mq serve` (or Mosquitto in reference mode) with one plain listener for probes and one
    TLS listener."""

    def __init__(self, start_broker, pki, require=True, identity=True, extra="", tls_extra=""):
        self.tls_port = free_port()
        conf = ("listener %d 127.0.0.1\n" % self.tls_port) + tls_conf(
            pki, None, require, identity, tls_extra) + "\n" + extra
        self.b = start_broker(conf)
        assert brokers.wait_for_port(self.tls_port, 5.0, self.b.proc), self.b.log()
        self.port = self.b.port


class Reader:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for raw in self.proc.stdout:
            self.lines.put(raw)

    def get(self, timeout=5.0):
        return self.lines.get(timeout=timeout)

    def until(self, publish, timeout=10.0):
        """Call publish() until a line arrives (the subscriber is then really subscribed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            publish()
            try:
                return self.get(0.3)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError("subscriber exited: %r" % self.proc.stderr.read())
        raise AssertionError("subscriber never got a message")

    def stop(self):
        stop_process(self.proc)


def test_walkthrough_mosquitto_clients(start_broker, pki):
    """Section 4 of the notes with mq in Mosquitto's place: Debian's mosquitto_sub and
    mosquitto_pub with --cafile --cert --key, on 127.0.0.1 and on localhost."""
    tb = TlsBroker(start_broker, pki)
    for host in ("localhost", "127.0.0.1"):
        sub = Reader([DEB_SUB, "-h", host, "-p", str(tb.tls_port)] + client_tls(pki) +
                     ["-t", "test/#", "-v"])
        try:
            line = sub.until(lambda: run([DEB_PUB, "-h", host, "-p", str(tb.tls_port)] +
                                         client_tls(pki, "bob") +
                                         ["-t", "test/hello", "-m", "hello"]))
            assert line == b"test/hello hello\n"
        finally:
            sub.stop()


def test_openssl_s_client(start_broker, pki):
    tb = TlsBroker(start_broker, pki)
    ca = pki / "ca"
    base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % tb.tls_port,
            "-CAfile", str(ca / "ca.crt"), "-verify_return_error", "-servername", "localhost"]
    ok = run(base + ["-cert", str(ca / "alice.crt"), "-key", str(ca / "alice.key"),
                     "-alpn", "mqtt", "-brief"], input=b"")
    text = ok.stdout + ok.stderr
    assert ok.returncode == 0, text
    assert b"Verification: OK" in text
    full = run(base + ["-cert", str(ca / "alice.crt"), "-key", str(ca / "alice.key"),
                       "-alpn", "mqtt"], input=b"")
    assert full.returncode == 0 and b"Verify return code: 0 (ok)" in full.stdout
    if not brokers.REFERENCE:
        assert b"ALPN protocol: mqtt" in full.stdout, full.stdout
    # No client certificate, or one from another CA: the server refuses. With TLS 1.3 the
    # client's handshake ends before the server's verdict, so s_client keeps its stdin open and
    # must end by itself on the server's alert (bounded); a server that accepted would leave it
    # waiting on stdin until the deadline.
    other = pki / "other"
    for extra in ([], ["-cert", str(other / "mallory.crt"), "-key", str(other / "mallory.key")]):
        rc, err = s_client_until_refused(base + extra + ["-brief"])
        assert rc is not None, "s_client was not refused within 10 s: %r" % err
        assert rc != 0 or b"alert" in err, err
    if not brokers.REFERENCE:
        tb.b.wait_log(r"handshake: .*certificate")


def test_identity_as_username_with_acl(start_broker, pki, tmp_path):
    """use_identity_as_username: the certificate's CN is the user name an ACL is keyed on."""
    acl = tmp_path / "acl"
    acl.write_text("user alice\ntopic readwrite alice/#\ntopic read shared/#\n"
                   "user bob\ntopic readwrite shared/#\n")
    tb = TlsBroker(start_broker, pki, extra="acl_file %s\n" % acl)
    port = str(tb.tls_port)
    sub = Reader([DEB_SUB, "-h", "localhost", "-p", port] + client_tls(pki) +
                 ["-t", "alice/#", "-t", "shared/#", "-v"])
    try:
        sub.until(lambda: run([DEB_PUB, "-h", "localhost", "-p", port] + client_tls(pki) +
                              ["-t", "alice/probe", "-m", "p"]))
        # bob may write shared/, alice gets it; bob may not write alice/ (dropped silently).
        r = run([DEB_PUB, "-h", "localhost", "-p", port] + client_tls(pki, "bob") +
                ["-t", "alice/x", "-m", "denied", "-q", "1"])
        assert r.returncode == 0, r.stderr
        r = run([DEB_PUB, "-h", "localhost", "-p", port] + client_tls(pki, "bob") +
                ["-t", "shared/x", "-m", "allowed", "-q", "1"])
        assert r.returncode == 0, r.stderr
        lines = []
        while True:
            line = sub.get(3)
            if line != b"alice/probe p\n":
                lines.append(line)
            if b"allowed" in line:
                break
        assert lines == [b"shared/x allowed\n"]
    finally:
        sub.stop()


def test_plain_client_on_tls_listener_fails_cleanly(start_broker, pki):
    tb = TlsBroker(start_broker, pki)
    r = run([DEB_PUB, "-h", "127.0.0.1", "-p", str(tb.tls_port), "-t", "a", "-m", "x"])
    assert r.returncode != 0
    brokers.assert_broker_alive(tb.port)


@pytest.mark.mq_only
def test_mq_clients_against_mq_serve(start_broker, pki):
    tb = TlsBroker(start_broker, pki)
    port = str(tb.tls_port)
    sub = Reader([MQ_BIN, "sub", "-p", port, "-h", "localhost"] + client_tls(pki) +
                 ["-t", "m/#", "-v"])
    try:
        line = sub.until(lambda: run([MQ_BIN, "pub", "-p", port, "-h", "127.0.0.1"] +
                                     client_tls(pki, "bob") + ["-t", "m/1", "-m", "via-mq"]))
        assert line == b"m/1 via-mq\n"
    finally:
        sub.stop()


@pytest.mark.parametrize("version", ["tlsv1.3", "tlsv1.2"])
def test_large_payloads_cross_the_record_limits(start_broker, pki, tmp_path, version):
    """A 100 KB payload from Debian's mosquitto_pub (OpenSSL: full 16 KiB records into the
    broker) and from `mq pub` (mbedTLS: records of at most MBEDTLS_SSL_OUT_CONTENT_LEN, 4 KiB in
    mq's own mbedTLS build), delivered to mosquitto_sub and `mq sub` (the broker's records out):
    each arrives whole and unchanged at both."""
    tb = TlsBroker(start_broker, pki)
    port = str(tb.tls_port)
    payload = os.urandom(50_000).hex().encode()  # 100,000 bytes, no newline
    big = tmp_path / "big"
    big.write_bytes(payload)
    deb = [DEB_SUB, "-h", "localhost", "-p", port, "--tls-version", version]
    subs = [Reader(deb + client_tls(pki) + ["-t", "big/#", "-v"]),
            Reader([MQ_BIN, "sub", "-h", "localhost", "-p", port] + client_tls(pki) +
                   ["-t", "big/#", "-v"])]
    probe = [DEB_PUB, "-h", "localhost", "-p", port] + client_tls(pki, "bob") + [
        "-t", "big/probe", "-m", "p"]
    try:
        for sub in subs:
            sub.until(lambda: run(probe))
        r = run([DEB_PUB, "-h", "localhost", "-p", port, "--tls-version", version] +
                client_tls(pki, "bob") + ["-t", "big/openssl", "-f", str(big), "-q", "1"])
        assert r.returncode == 0, r.stderr
        r = run([MQ_BIN, "pub", "-h", "localhost", "-p", port] + client_tls(pki, "bob") +
                ["-t", "big/mq", "-f", str(big), "-q", "1"])
        assert r.returncode == 0, r.stderr
        for sub in subs:
            got = {}
            while len(got) < 2:
                line = sub.get(10)
                topic, _, body = line.partition(b" ")
                if topic != b"big/probe":
                    got[topic] = body
            assert got[b"big/openssl"] == payload + b"\n"
            assert got[b"big/mq"] == payload + b"\n"
    finally:
        for sub in subs:
            sub.stop()


@pytest.fixture
def debian_tls(tmp_path, pki):
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\n" % port + tls_conf(pki, None) +
                    ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert brokers.wait_for_port(port, 5.0, proc)
    yield port
    stop_process(proc)


def test_mq_clients_against_debian_mosquitto(debian_tls, pki):
    port = str(debian_tls)
    sub = Reader([MQ_BIN, "sub", "-p", port, "-h", "localhost"] + client_tls(pki) +
                 ["-t", "d/#", "-v"])
    try:
        line = sub.until(lambda: run([MQ_BIN, "pub", "-p", port, "-h", "localhost"] +
                                     client_tls(pki, "bob") + ["-t", "d/1", "-m", "to-mosq"]))
        assert line == b"d/1 to-mosq\n"
    finally:
        sub.stop()


def test_mq_client_errors_a_person_can_act_on(debian_tls, pki):
    port = str(debian_tls)
    named = pki / "named"
    # Unknown CA: our client trusts only the other CA.
    r = run([MQ_BIN, "pub", "-p", port, "-h", "localhost", "--cafile",
             str(pki / "other" / "ca.crt"), "-t", "a", "-m", "x"])
    assert r.returncode != 0
    assert b"unknown certificate authority" in r.stderr, r.stderr
    # No client certificate where the server requires one.
    r = run([MQ_BIN, "pub", "-p", port, "-h", "localhost", "--cafile",
             str(pki / "ca" / "ca.crt"), "-t", "a", "-m", "x"])
    assert r.returncode != 0
    assert r.stderr.strip(), r.stderr


@pytest.mark.mq_only
def test_hostname_mismatch_names_the_certificate(start_broker, pki):
    named = pki / "named"
    ca = pki / "ca"
    port = free_port()
    conf = ("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n" %
            (port, named / "server.crt", named / "server.key"))
    b = start_broker(conf)
    assert brokers.wait_for_port(port, 5.0, b.proc)
    r = run([MQ_BIN, "pub", "-p", str(port), "-h", "127.0.0.1", "--cafile", str(ca / "ca.crt"),
             "-t", "a", "-m", "x"])
    assert r.returncode != 0
    assert b"does not match" in r.stderr and b"broker.local" in r.stderr, r.stderr
    assert b"127.0.0.2" in r.stderr, r.stderr
    # --insecure skips the host name check (the chain is still verified).
    r = run([MQ_BIN, "pub", "-p", str(port), "-h", "127.0.0.1", "--cafile", str(ca / "ca.crt"),
             "--insecure", "-t", "a", "-m", "x"])
    assert r.returncode == 0, r.stderr


def test_psk_listener(start_broker, tmp_path):
    psk = tmp_path / "psk"
    psk.write_text("sensor1:deadbeefcafe0123\n")
    port = free_port()
    b = start_broker("listener %d 127.0.0.1\npsk_hint hint\npsk_file %s\n"
                     "use_identity_as_username true\n" % (port, psk))
    assert brokers.wait_for_port(port, 5.0, b.proc), b.log()
    base = ["-h", "127.0.0.1", "-p", str(port), "--psk-identity", "sensor1"]
    sub = Reader([DEB_SUB] + base + ["--psk", "deadbeefcafe0123", "-t", "p/#", "-v"])
    try:
        line = sub.until(lambda: run([DEB_PUB] + base + ["--psk", "deadbeefcafe0123",
                                                         "-t", "p/1", "-m", "psk"]))
        assert line == b"p/1 psk\n"
        bad = run([DEB_PUB] + base + ["--psk", "00112233", "-t", "p/1", "-m", "x"])
        assert bad.returncode != 0
    finally:
        sub.stop()
    if MQ_BIN and not brokers.REFERENCE:
        r = run([MQ_BIN, "pub"] + base + ["--psk", "deadbeefcafe0123", "-t", "p/2", "-m", "y"])
        assert r.returncode == 0, r.stderr


def test_subject_as_username_with_acl(start_broker, pki, tmp_path):
    """use_subject_as_username: the RFC 2253 subject is the user name (here "CN=alice")."""
    acl = tmp_path / "acl"
    acl.write_text("user CN=alice\ntopic readwrite subj/#\n")
    port = free_port()
    conf = ("listener %d 127.0.0.1\n" % port) + tls_conf(pki, None, identity=False) + \
        "use_subject_as_username true\nacl_file %s\n" % acl
    b = start_broker(conf)
    assert brokers.wait_for_port(port, 5.0, b.proc), b.log()
    sub = Reader([DEB_SUB, "-h", "localhost", "-p", str(port)] + client_tls(pki) +
                 ["-t", "subj/#", "-v"])
    try:
        line = sub.until(lambda: run([DEB_PUB, "-h", "localhost", "-p", str(port)] +
                                     client_tls(pki) + ["-t", "subj/1", "-m", "s"]))
        assert line == b"subj/1 s\n"
        # bob's subject is CN=bob: the ACL gives him nothing, so his message never arrives.
        r = run([DEB_PUB, "-h", "localhost", "-p", str(port)] + client_tls(pki, "bob") +
                ["-t", "subj/2", "-m", "from-bob", "-q", "1"])
        assert r.returncode == 0, r.stderr
        run([DEB_PUB, "-h", "localhost", "-p", str(port)] + client_tls(pki) +
            ["-t", "subj/3", "-m", "last", "-q", "1"])
        lines = []
        while not lines or lines[-1] != b"subj/3 last\n":
            lines.append(sub.get(5))
        assert b"subj/2 from-bob\n" not in lines
    finally:
        sub.stop()


def server_serial(port, ca):
    r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", str(ca),
             "-showcerts"], input=b"")
    cert = r.stdout[r.stdout.index(b"-----BEGIN CERTIFICATE-----"):]
    cert = cert[:cert.index(b"-----END CERTIFICATE-----") + 25]
    x = run(["openssl", "x509", "-noout", "-serial"], input=cert)
    return x.stdout.strip()


@pytest.mark.mq_only
def test_sighup_reloads_certificates(start_broker, pki, tmp_path):
    d = tmp_path / "reload"
    shutil.copytree(pki / "ca", d)
    port = free_port()
    b = start_broker("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n" %
                     (port, d / "server.crt", d / "server.key"))
    assert brokers.wait_for_port(port, 5.0, b.proc), b.log()
    before = server_serial(port, d / "ca.crt")
    r = run([MQ_BIN, "certgen", "renew", "server", "--dir", str(d), "--new-key", "--force"])
    assert r.returncode == 0, r.stderr
    b.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: server_serial(port, d / "ca.crt") != before, 5.0), b.log()
    brokers.assert_broker_alive(b.port)
