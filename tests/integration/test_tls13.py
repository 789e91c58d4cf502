"""TLS 1.3 and TLS 1.2 side by side with real peers: `openssl s_client -tls1_3` / `-tls1_2`
against the broker (refusals included, read as the alert the client gets), `tls_version
tlsv1.3` and `ciphers_tls1.3` on a listener, Debian's mosquitto_pub/_sub with `--tls-version
tlsv1.3` against the broker (certificates and PSK), mq's clients with `--tls-version tlsv1.3`
against Debian's mosquitto, and session resumption as s_client sees it.

  MQ_BIN=build/mq /usr/bin/python3 -m pytest -q tests/integration/test_tls13.py
"""

import os
import shutil
import subprocess

import pytest

import brokers
from brokers import free_port, stop_process
from test_tls import DEB_PUB, DEB_SUB, MOSQUITTO, Reader, client_tls, run, tls_conf

MQ_BIN = os.environ.get("MQ_BIN", "")

pytestmark = pytest.mark.skipif(not MQ_BIN or not shutil.which("openssl"),
                                reason="needs MQ_BIN (for certgen) and openssl")

VERSIONS = [("-tls1_3", "TLSv1.3", "tlsv1.3"), ("-tls1_2", "TLSv1.2", "tlsv1.2")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca/ server + alice + bob; other/ a second CA with its own client 'mallory'."""
    d = tmp_path_factory.mktemp("pki13")
    r = run([MQ_BIN, "certgen", "all", "--dir", str(d / "ca"), "--client", "alice",
             "--client", "bob"])
    assert r.returncode == 0, r.stderr
    r = run([MQ_BIN, "certgen", "all", "--dir", str(d / "other"), "--client", "mallory"])
    assert r.returncode == 0, r.stderr
    return d


def start_tls(start_broker, pki, require=True, extra=""):
    port = free_port()
    b = start_broker("listener %d 127.0.0.1\n" % port + tls_conf(pki, None, require, True, extra))
    assert brokers.wait_for_port(port, 5.0, b.proc), b.log()
    return b, port


def s_client(port, pki, flag, *more, cert="alice", ca_dir="ca", hold=3.0):
    """openssl s_client with stdin held open for `hold` seconds (bounded), so it keeps reading:
    a TLS 1.3 client has finished its handshake before the server judges its certificate, and
    the refusal comes as an alert afterwards. Returns (exit status, stdout + stderr)."""
    argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
            str(pki / "ca" / "ca.crt"), "-verify_return_error", "-servername", "localhost",
            "-brief", flag] + list(more)
    if cert:
        argv += ["-cert", str(pki / ca_dir / (cert + ".crt")),
                 "-key", str(pki / ca_dir / (cert + ".key"))]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.wait(hold)
    except subprocess.TimeoutExpired:
        pass  # still connected: communicate() ends it as a user would, with EOF on stdin
    out, err = p.communicate(timeout=10)
    return p.returncode, out + err


@pytest.mark.parametrize("flag,name,_", VERSIONS)
def test_s_client_each_version(start_broker, pki, flag, name, _):
    b, port = start_tls(start_broker, pki)
    rc, text = s_client(port, pki, flag, hold=0.5)
    assert rc == 0, text
    assert b"Protocol version: " + name.encode() in text, text
    assert b"Verification: OK" in text
    # A client certificate from another CA, and none at all: the alert says why.
    rc, text = s_client(port, pki, flag, cert="mallory", ca_dir="other")
    assert rc != 0 and b"alert unknown ca" in text, text
    rc, text = s_client(port, pki, flag, cert=None)
    want = b"alert certificate required" if name == "TLSv1.3" else b"alert handshake failure"
    assert rc != 0 and want in text, text
    if not brokers.REFERENCE:
        b.wait_log(r"handshake: client certificate from an unknown certificate authority")
        b.wait_log(r"handshake: client did not present a certificate")


def test_tls_version_tlsv13_listener_and_ciphers(start_broker, pki):
    """tls_version is the lowest version (Mosquitto 2.0): tlsv1.3 shuts TLS 1.2 out;
    ciphers_tls1.3 picks the TLS 1.3 suites."""
    b, port = start_tls(start_broker, pki, extra="tls_version tlsv1.3\n"
                        "ciphers_tls1.3 TLS_CHACHA20_POLY1305_SHA256\n")
    rc, text = s_client(port, pki, "-tls1_3", hold=0.5)
    assert rc == 0, text
    assert b"Ciphersuite: TLS_CHACHA20_POLY1305_SHA256" in text, text
    rc, text = s_client(port, pki, "-tls1_2", hold=0.5)
    assert rc != 0 and b"alert protocol version" in text, text


@pytest.mark.parametrize("flag,name,version", VERSIONS)
def test_debian_clients_each_version(start_broker, pki, flag, name, version):
    b, port = start_tls(start_broker, pki)
    sub = Reader([DEB_SUB, "-h", "localhost", "-p", str(port), "--tls-version", version] +
                 client_tls(pki) + ["-t", "v/#", "-v"])
    try:
        line = sub.until(lambda: run([DEB_PUB, "-h", "127.0.0.1", "-p", str(port),
                                      "--tls-version", version] + client_tls(pki, "bob") +
                                     ["-t", "v/1", "-m", name]))
        assert line == b"v/1 " + name.encode() + b"\n"
    finally:
        sub.stop()


def test_debian_psk_clients_tls13(start_broker, tmp_path):
    port = free_port()
    psk = tmp_path / "psk"
    psk.write_text("dev1:00112233445566778899aabbccddeeff\n")
    b = start_broker("psk_file %s\nlistener %d 127.0.0.1\npsk_hint mq\n" % (psk, port))
    assert brokers.wait_for_port(port, 5.0, b.proc), b.log()
    args = ["-h", "127.0.0.1", "-p", str(port), "--psk", "00112233445566778899aabbccddeeff",
            "--psk-identity", "dev1", "--tls-version", "tlsv1.3"]
    sub = Reader([DEB_SUB] + args + ["-t", "p/#", "-v"])
    try:
        line = sub.until(lambda: run([DEB_PUB] + args + ["-t", "p/1", "-m", "psk13"]))
        assert line == b"p/1 psk13\n"
    finally:
        sub.stop()
    r = run([DEB_PUB, "-h", "127.0.0.1", "-p", str(port), "--psk", "0011",
             "--psk-identity", "dev1", "--tls-version", "tlsv1.3", "-t", "p/1", "-m", "x"])
    assert r.returncode != 0


@pytest.fixture
def debian_tls13(tmp_path, pki):
    """Debian's mosquitto with a TLS 1.3-only listener that requires client certificates."""
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\n" % port + tls_conf(pki, None) +
                    "tls_version tlsv1.3\n" + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert brokers.wait_for_port(port, 5.0, proc)
    yield port
    stop_process(proc)


@pytest.mark.mq_only
@pytest.mark.parametrize("names", ["mq", "mosquitto"])
def test_mq_clients_tls13_against_debian_mosquitto(debian_tls13, pki, tmp_path, names):
    """mq pub/sub, and the same binary under Mosquitto's names, with --tls-version tlsv1.3
    against a broker that speaks nothing older."""
    port = str(debian_tls13)
    if names == "mq":
        pub, sub = [MQ_BIN, "pub"], [MQ_BIN, "sub"]
    else:
        for tool in ("mosquitto_pub", "mosquitto_sub"):
            os.symlink(MQ_BIN, tmp_path / tool)
        pub, sub = [str(tmp_path / "mosquitto_pub")], [str(tmp_path / "mosquitto_sub")]
    reader = Reader(sub + ["-p", port, "-h", "localhost", "--tls-version", "tlsv1.3"] +
                    client_tls(pki) + ["-t", "d/#", "-v"])
    try:
        line = reader.until(lambda: run(pub + ["-p", port, "-h", "localhost", "--tls-version",
                                               "tlsv1.3"] + client_tls(pki, "bob") +
                                        ["-t", "d/1", "-m", "tls13"]))
        assert line == b"d/1 tls13\n"
    finally:
        reader.stop()
    # Without a client certificate the TLS 1.3 refusal reaches the client after its handshake,
    # when the client has sent its CONNECT already: Mosquitto then closes with that CONNECT
    # unread, and the kernel's reset can overtake the certificate_required alert.
    r = run(pub + ["-p", port, "-h", "localhost", "--tls-version", "tlsv1.3", "--cafile",
                   str(pki / "ca" / "ca.crt"), "-t", "d/1", "-m", "x"])
    assert r.returncode != 0
    if names == "mq":
        assert (b"server requires a client certificate" in r.stderr or
                b"connection was lost" in r.stderr), r.stderr


def s_client_session(port, pki, flag, sess, out, cert=None, send=b""):
    """s_client saving (-sess_out) or offering (-sess_in) a session; stdin held open briefly so
    TLS 1.3 tickets, which come after the handshake, are read. Returns stdout + stderr."""
    argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
            str(pki / "ca" / "ca.crt"), "-servername", "localhost", flag,
            "-sess_out" if out else "-sess_in", str(sess)]
    if cert:
        argv += ["-cert", str(pki / "ca" / (cert + ".crt")), "-key",
                 str(pki / "ca" / (cert + ".key"))]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    if send:
        p.stdin.write(send)
        p.stdin.flush()
    try:
        p.wait(0.7)
    except subprocess.TimeoutExpired:
        pass
    o, e = p.communicate(timeout=10)
    return o + e


CONNECT_ALICE = b"\x10\x11\x00\x04MQTT\x04\x02\x00\x3c\x00\x05res01"


@pytest.mark.parametrize("flag,name,_", VERSIONS)
def test_session_resumption(start_broker, pki, tmp_path, flag, name, _):
    """A reconnecting client resumes its session (tickets) instead of a full handshake."""
    port = free_port()
    b = start_broker("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n" %
                     (port, pki / "ca" / "server.crt", pki / "ca" / "server.key"))
    assert brokers.wait_for_port(port, 5.0, b.proc), b.log()
    sess = tmp_path / "sess"
    first = s_client_session(port, pki, flag, sess, True)
    assert b"New, " + name.encode() in first, first
    again = s_client_session(port, pki, flag, sess, False)
    assert b"Reused, " + name.encode() in again, again


@pytest.mark.mq_only
@pytest.mark.parametrize("flag,name,_", VERSIONS)
def test_resumption_keeps_the_certificate_identity(start_broker, pki, tmp_path, flag, name, _):
    """require_certificate + use_identity_as_username: a TLS 1.2 session resumed from a ticket
    still carries the client's certificate (its CN is the user name). mbedTLS's TLS 1.3 tickets
    would not, so such a listener issues none (the next connect is a full handshake)."""
    b, port = start_tls(start_broker, pki)
    sess = tmp_path / "sess"
    first = s_client_session(port, pki, flag, sess, True, cert="alice")
    assert b"New, " + name.encode() in first, first
    if name == "TLSv1.3":
        assert not sess.exists()  # s_client got no ticket, so it saved no session
        return
    again = s_client_session(port, pki, flag, sess, False, cert="alice", send=CONNECT_ALICE)
    assert b"Reused, " + name.encode() in again, again
    b.wait_log(r"New client connected from .* as res01 .*u'alice'")
