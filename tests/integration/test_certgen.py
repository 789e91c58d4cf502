"""`mq certgen`: certificates that OpenSSL and Debian's real Mosquitto accept (and refuse where
they should). Needs MQ_BIN; openssl, mosquitto and mosquitto_pub come from Debian.

  MQ_BIN=build/mq /usr/bin/python3 -m pytest -q tests/integration/test_certgen.py
"""

import os
import re
import stat
import subprocess

import pytest

import brokers

MQ_BIN = os.environ.get("MQ_BIN", "")
MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"

pytestmark = [
    pytest.mark.mq_only,
    pytest.mark.skipif(not MQ_BIN, reason="certgen tests need MQ_BIN"),
]


def certgen(*args, cwd=None, check=True, timeout=120):
    r = subprocess.run([MQ_BIN, "certgen"] + [str(a) for a in args], cwd=cwd and str(cwd),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, "certgen %s failed (%d):\n%s%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout, r.stderr)
    return r


def openssl_verify(d, cert, *extra, ca="ca.crt"):
    r = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(str(d), ca)] + list(extra) +
                       [os.path.join(str(d), cert)], capture_output=True, text=True, timeout=30)
    return r.returncode == 0, r.stdout + r.stderr


def openssl_text(path):
    return subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-text"],
                          capture_output=True, text=True, timeout=30, check=True).stdout


def public_key(path):
    return subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-pubkey"],
                          capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.fixture
def certs(tmp_path):
    """A full set made by `certgen all` with extra names."""
    d = tmp_path / "tls"
    r = certgen("all", "--dir", d, "--dns", "broker.test", "--dns", "mqtt.test",
                "--ip", "192.0.2.10")
    (tmp_path / "certgen.out").write_text(r.stdout)
    return d


# --- OpenSSL's view -------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["broker.test", "mqtt.test", "localhost"])
def test_server_cert_verifies_for_each_name(certs, host):
    ok, out = openssl_verify(certs, "server.crt", "-purpose", "sslserver", "-verify_hostname", host)
    assert ok, out


@pytest.mark.parametrize("ip", ["192.0.2.10", "127.0.0.1", "::1"])
def test_server_cert_verifies_for_each_address(certs, ip):
    ok, out = openssl_verify(certs, "server.crt", "-purpose", "sslserver", "-verify_ip", ip)
    assert ok, out


def test_client_cert_verifies_as_client(certs):
    ok, out = openssl_verify(certs, "client.crt", "-purpose", "sslclient")
    assert ok, out
    assert "Subject: CN = client" in openssl_text(certs / "client.crt")


@pytest.mark.parametrize("cert,extra", [
    ("client.crt", ["-purpose", "sslserver"]),                       # client cert as server
    ("server.crt", ["-purpose", "sslclient"]),                       # server cert as client
    ("server.crt", ["-purpose", "sslserver", "-verify_hostname", "other.test"]),
    ("server.crt", ["-purpose", "sslserver", "-verify_ip", "192.0.2.11"]),
])
def test_verification_fails_where_it_should(certs, cert, extra):
    ok, out = openssl_verify(certs, cert, *extra)
    assert not ok, out


def test_extensions_as_openssl_reads_them(certs):
    ca = openssl_text(certs / "ca.crt")
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE, pathlen:0", ca)
    assert re.search(r"Key Usage: critical\s+Certificate Sign, CRL Sign", ca)
    assert "Public-Key: (256 bit)" in ca and "P-256" in ca
    server = openssl_text(certs / "server.crt")
    assert re.search(r"Extended Key Usage:\s+TLS Web Server Authentication\n", server)
    assert ("DNS:broker.test, DNS:mqtt.test, DNS:localhost, IP Address:192.0.2.10, "
            "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1") in server
    client = openssl_text(certs / "client.crt")
    assert re.search(r"Extended Key Usage:\s+TLS Web Client Authentication\n", client)
    # Fresh random serial numbers.
    serials = {re.search(r"Serial Number:\s*\n?\s*([0-9a-f:]+)", openssl_text(certs / f)).group(1)
               for f in ("ca.crt", "server.crt", "client.crt")}
    assert len(serials) == 3


def test_modes_names_and_printed_config(certs):
    names = sorted(os.listdir(certs))
    assert names == ["ca.crt", "ca.key", "client.crt", "client.key", "server.crt", "server.key"]
    for n in names:
        mode = stat.S_IMODE(os.stat(certs / n).st_mode)
        assert mode == (0o600 if n.endswith(".key") else 0o644), (n, oct(mode))
    out = (certs.parent / "certgen.out").read_text()
    assert "cafile %s\n" % (certs / "ca.crt") in out
    assert "certfile %s\n" % (certs / "server.crt") in out
    assert "keyfile %s\n" % (certs / "server.key") in out
    assert "require_certificate true\nuse_identity_as_username true\n" in out
    assert re.search(r"mosquitto_pub -h broker.test -p 8883 --cafile \S+ca.crt --cert \S+client.crt "
                     r"--key \S+client.key", out)


def test_nothing_overwritten_without_force(certs):
    before = (certs / "ca.crt").read_bytes()
    r = certgen("ca", "--dir", certs, check=False)
    assert r.returncode == 1
    assert "not replacing existing" in r.stderr and "--force" in r.stderr
    assert (certs / "ca.crt").read_bytes() == before
    certgen("ca", "--dir", certs, "--force")
    assert (certs / "ca.crt").read_bytes() != before
    assert not [n for n in os.listdir(certs) if n.startswith(".")]  # no temp files left


@pytest.mark.parametrize("key_type,marker", [
    ("rsa:2048", "Public-Key: (2048 bit)"),
    ("ec:p384", "NIST CURVE: P-384"),
])
def test_other_key_types(tmp_path, key_type, marker):
    certgen("all", "--dir", tmp_path, "--key-type", key_type, "--days", "30")
    for f in ("ca.crt", "server.crt", "client.crt"):
        assert marker in openssl_text(tmp_path / f), f
    ok, out = openssl_verify(tmp_path, "server.crt", "-purpose", "sslserver",
                             "-verify_hostname", "localhost")
    assert ok, out
    ok, out = openssl_verify(tmp_path, "client.crt", "-purpose", "sslclient")
    assert ok, out


# --- errors -----------------------------------------------------------------------------------

def test_clear_errors(tmp_path):
    r = certgen("server", "--dir", tmp_path, check=False)
    assert r.returncode == 1 and "CA certificate: cannot read" in r.stderr
    assert "mq certgen ca" in r.stderr
    certgen("ca", "--dir", tmp_path)
    r = certgen("server", "--dir", tmp_path, "--ip", "10.0.0.256", check=False)
    assert r.returncode == 1 and "'10.0.0.256' is not an IP address" in r.stderr
    r = certgen("server", "--dir", tmp_path, "--dns", "bad name", check=False)
    assert r.returncode == 1 and "not a valid DNS name" in r.stderr
    r = certgen("ca", "--dir", tmp_path / "x", "--key-type", "rsa:1024", check=False)
    assert r.returncode == 2 and "unknown key type 'rsa:1024'" in r.stderr
    certgen("ca", "--dir", tmp_path / "other")
    r = certgen("client", "bob", "--dir", tmp_path, "--ca-cert", tmp_path / "ca.crt",
                "--ca-key", tmp_path / "other" / "ca.key", check=False)
    assert r.returncode == 1 and "does not match CA certificate" in r.stderr
    r = certgen("nosuchaction", check=False)
    assert r.returncode == 2
    assert not (tmp_path / "server.crt").exists() and not (tmp_path / "bob.crt").exists()


# --- sign, show, renew ------------------------------------------------------------------------

def test_sign_a_csr_made_by_openssl(tmp_path):
    certgen("ca", "--dir", tmp_path)
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(tmp_path / "dev.key"), "-out", str(tmp_path / "dev.csr"),
                    "-subj", "/O=Acme/CN=dev.test", "-addext", "subjectAltName=DNS:dev.test"],
                   check=True, capture_output=True, timeout=60)
    r = certgen("sign", "--csr", tmp_path / "dev.csr", "--dir", tmp_path, check=False)
    assert r.returncode == 1 and "--as server or --as client" in r.stderr
    certgen("sign", "--csr", tmp_path / "dev.csr", "--as", "server", "--dir", tmp_path,
            "--ip", "198.51.100.5")  # writes dev.crt beside the other files
    ok, out = openssl_verify(tmp_path, "dev.crt", "-purpose", "sslserver", "-verify_hostname",
                             "dev.test")
    assert ok, out
    ok, out = openssl_verify(tmp_path, "dev.crt", "-purpose", "sslserver", "-verify_ip",
                             "198.51.100.5")
    assert ok, out
    assert "Subject: O = Acme, CN = dev.test" in openssl_text(tmp_path / "dev.crt")
    # The certificate is for the CSR's key.
    key_pub = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "dev.key"), "-pubout"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
    assert public_key(tmp_path / "dev.crt") == key_pub


def test_show_reports_and_warns(tmp_path):
    certgen("all", "--dir", tmp_path, "--days", "10")
    r = certgen("show", tmp_path / "server.crt", tmp_path / "client.crt", "--ca-dir", tmp_path)
    assert "subject:    CN=localhost" in r.stdout
    assert "names:      DNS:localhost, IP:127.0.0.1, IP:::1" in r.stdout
    assert "(10 days left)" in r.stdout or "(9 days left)" in r.stdout
    assert "key:        EC P-256" in r.stdout
    assert r.stdout.count("ca.crt: yes") == 2
    assert re.search(r"warning: \S+server.crt: expires in \d+ days", r.stderr)
    # Against a different CA: reported, and exit status 1.
    certgen("ca", "--dir", tmp_path / "other")
    r = certgen("show", tmp_path / "server.crt", "--ca-dir", tmp_path / "other", check=False)
    assert r.returncode == 1 and "NO (not signed by the given CA)" in r.stdout


def test_renew_same_key_and_new_key(certs):
    old_serial = openssl_text(certs / "server.crt")
    old_pub = public_key(certs / "server.crt")
    certgen("renew", "server", "--dir", certs)
    assert public_key(certs / "server.crt") == old_pub
    assert openssl_text(certs / "server.crt") != old_serial
    ok, out = openssl_verify(certs, "server.crt", "-purpose", "sslserver",
                             "-verify_hostname", "mqtt.test")
    assert ok, out
    certgen("renew", certs / "client.crt", "--new-key")
    assert stat.S_IMODE(os.stat(certs / "client.key").st_mode) == 0o600
    ok, out = openssl_verify(certs, "client.crt", "-purpose", "sslclient")
    assert ok, out


# --- Debian's Mosquitto with the generated files ------------------------------------------------

class TlsMosquitto:
    def __init__(self, d, tls):
        self.dir = d
        self.log_path = d / "mosquitto.log"
        self.port = None
        self.proc = None
        self.tls = tls

    def start(self, attempts=5):
        for _ in range(attempts):
            self.port = brokers.free_port()
            lines = ["listener %d 127.0.0.1" % self.port,
                     "cafile %s" % (self.tls / "ca.crt"),
                     "certfile %s" % (self.tls / "server.crt"),
                     "keyfile %s" % (self.tls / "server.key"),
                     "require_certificate true",
                     "use_identity_as_username true",
                     "allow_anonymous false",
                     "log_dest file %s" % self.log_path,
                     "log_type all"]
            if os.geteuid() == 0:
                lines.append("user root")  # the key is 0600 and owned by root
            conf = self.dir / "mosquitto.conf"
            conf.write_text("\n".join(lines) + "\n")
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], cwd=str(self.dir),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            if brokers.wait_for_port(self.port, 5.0, self.proc):
                return self
            brokers.stop_process(self.proc, 1.0)
            if "in use" not in self.log():
                raise RuntimeError("mosquitto did not start:\n" + self.log())
        raise RuntimeError("mosquitto could not bind a free port")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None:
            brokers.stop_process(self.proc)


@pytest.fixture
def tls_broker(tmp_path, certs):
    if not os.path.exists(MOSQUITTO):
        pytest.skip("Debian's mosquitto is not installed")
    b = TlsMosquitto(tmp_path, certs).start()
    yield b
    b.stop()


def mosquitto_pub(port, host, tls_dir, cert="client", ca_dir=None):
    ca_dir = ca_dir or tls_dir
    return subprocess.run([MOSQUITTO_PUB, "-h", host, "-p", str(port),
                           "--cafile", str(ca_dir / "ca.crt"),
                           "--cert", str(tls_dir / (cert + ".crt")),
                           "--key", str(tls_dir / (cert + ".key")),
                           "-i", "certgen-test-" + cert, "-t", "certgen/test", "-m", "hello",
                           "-q", "1"],
                          capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_mosquitto_accepts_generated_client_cert(tls_broker, certs, host):
    r = mosquitto_pub(tls_broker.port, host, certs)
    assert r.returncode == 0, r.stdout + r.stderr + tls_broker.log()
    # use_identity_as_username: the certificate's CN became the username.
    assert brokers.wait_until(lambda: "u'client'" in tls_broker.log(), 5.0), tls_broker.log()


def test_mosquitto_refuses_client_cert_from_another_ca(tls_broker, certs, tmp_path):
    other = tmp_path / "other"
    certgen("all", "--dir", other, "--client", "mallory")
    r = mosquitto_pub(tls_broker.port, "127.0.0.1", other, cert="mallory", ca_dir=certs)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "u'mallory'" not in tls_broker.log()


def test_mosquitto_pub_checks_the_server_name(tmp_path):
    # A server certificate for broker.test only (--no-local): mosquitto_pub connecting to
    # 127.0.0.1 must refuse it, so the SAN list is what clients really check.
    tls = tmp_path / "named"
    certgen("all", "--dir", tls, "--dns", "broker.test", "--no-local")
    b = TlsMosquitto(tmp_path, tls).start()
    try:
        r = mosquitto_pub(b.port, "127.0.0.1", tls)
        assert r.returncode != 0, r.stdout + r.stderr
        r = subprocess.run([MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(b.port), "--insecure",
                            "--cafile", str(tls / "ca.crt"), "--cert", str(tls / "client.crt"),
                            "--key", str(tls / "client.key"), "-t", "x", "-m", "y"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr + b.log()
    finally:
        b.stop()
