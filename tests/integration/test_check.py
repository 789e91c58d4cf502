"""`mq check` (the container health check): one line and exit 0 when the broker accepts the
connection, 1 when it refuses it or is not there. Runs against the broker under test and against
Debian's mosquitto."""

import os
import subprocess

import pytest

import brokers

pytestmark = pytest.mark.skipif(not brokers.MQ_BIN, reason="needs MQ_BIN")


def check(*args):
    r = subprocess.run([brokers.MQ_BIN, "check"] + list(args), capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode()


@pytest.fixture(params=["under-test", "mosquitto"])
def any_broker(request, tmp_path):
    """The broker under test, then Debian's mosquitto, each with anonymous clients refused
    unless a test asks otherwise."""
    started = []

    def start(conf):
        d = tmp_path / ("b%d" % len(started))
        d.mkdir()
        b = brokers.Broker(d, conf, mosquitto=request.param == "mosquitto")
        b.start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5", "mqttv31"])
def test_healthy(any_broker, version):
    b = any_broker("")
    rc, out = check("-p", str(b.port), "-V", version)
    assert (rc, out) == (0, "healthy: connection accepted\n")


def test_refused_says_why(tmp_path, any_broker):
    pw = tmp_path / "pw"
    subprocess.run([brokers.MQ_BIN, "passwd", "-c", "-b", "-H", "sha512-pbkdf2", str(pw), "alice",
                    "secret"], check=True, capture_output=True)
    os.chmod(pw, 0o644)
    b = any_broker("allow_anonymous false\npassword_file %s\n" % pw)
    rc, out = check("-p", str(b.port))
    assert (rc, out) == (1, "unhealthy: Connection Refused: not authorised.\n")
    rc, out = check("-p", str(b.port), "-V", "mqttv5", "-u", "alice", "-P", "wrong")
    assert (rc, out) == (1, "unhealthy: Not authorized\n")  # 0x87, as both brokers answer
    rc, out = check("-p", str(b.port), "-u", "alice", "-P", "secret")
    assert (rc, out) == (0, "healthy: connection accepted\n")


def test_nothing_listening():
    port = brokers.free_port()
    rc, out = check("-h", "127.0.0.1", "-p", str(port), "-W", "2")
    assert (rc, out) == (1, "unhealthy: Error: Connection refused\n")


def test_bad_option_is_a_usage_error():
    rc, _ = check("--no-such-option")
    assert rc == 2
