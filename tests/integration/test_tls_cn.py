"""A broker certificate without subjectAltName is matched on its CN, as libmosquitto (OpenSSL)
matches it: Debian's mosquitto_pub, mq's client under the Mosquitto name and `mq pub` all accept
a CN=localhost certificate for host localhost and refuse it for another name (issue 14). The
certificates are made with openssl, with no SAN extension at all."""

import os
import shutil
import subprocess

import pytest

import brokers

pytestmark = pytest.mark.skipif(not brokers.MQ_BIN or not shutil.which("openssl"),
                                reason="needs MQ_BIN and openssl")


def sh(*args):
    subprocess.run(list(args), check=True, capture_output=True, timeout=30)


@pytest.fixture
def cn_only(tmp_path):
    d = tmp_path
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-subj", "/CN=test-ca",
       "-days", "2")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", str(d / "srv.key"), "-out", str(d / "srv.csr"), "-subj", "/CN=localhost")
    sh("openssl", "x509", "-req", "-in", str(d / "srv.csr"), "-CA", str(d / "ca.crt"),
       "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "srv.crt"), "-days", "2")
    text = subprocess.run(["openssl", "x509", "-in", str(d / "srv.crt"), "-noout", "-text"],
                          capture_output=True, check=True).stdout
    assert b"Subject Alternative Name" not in text
    for f in ("srv.key", "srv.crt", "ca.crt"):
        os.chmod(d / f, 0o644)
    return d


def test_cn_matched_without_subject_alt_name(start_broker, cn_only, tmp_path):
    b = start_broker("listener %d\ncertfile %s\nkeyfile %s\n" % (
        brokers.free_port(), cn_only / "srv.crt", cn_only / "srv.key"), listener=True)
    tls_port = int(open(b.conf_path).read().split("listener ")[2].split()[0])
    assert brokers.wait_for_port(tls_port, 5)
    link = tmp_path / "mosquitto_pub"
    os.symlink(brokers.MQ_BIN, link)
    ca = str(cn_only / "ca.crt")

    def pub(cmd, host):
        return subprocess.run(cmd + ["-h", host, "-p", str(tls_port), "--cafile", ca, "-t", "cn/t",
                                     "-m", "x"], capture_output=True, timeout=15)

    for cmd in (["/usr/bin/mosquitto_pub"], [str(link)], [brokers.MQ_BIN, "pub"]):
        ok = pub(cmd, "localhost")
        assert ok.returncode == 0, (cmd, ok.stderr)
        # The CN names localhost, not 127.0.0.1: refused by every client.
        bad = pub(cmd, "127.0.0.1")
        assert bad.returncode != 0, cmd
