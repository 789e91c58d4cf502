"""The static ARM builds (packaging/cross/build.sh) under qemu-user-static: the aarch64 and
armhf `mq` start, make their own certificates, and serve Debian's x86 mosquitto_pub/_sub and
paho-mqtt over TCP and TLS; the ARM `mq pub` publishes to Debian's x86 mosquitto.

A build directory that is absent is skipped, unless MQ_CROSS_REQUIRED lists its triplet (CI
sets it: a missing cross build there is a failure, not a skip).

  packaging/cross/build.sh aarch64-linux-gnu && \\
    /usr/bin/python3 -m pytest -q tests/integration/test_cross.py
"""

import os
import pathlib
import queue
import subprocess
import threading

import paho.mqtt.client as paho
import pytest

import brokers
from brokers import free_port, stop_process, wait_for_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHES = {  # triplet -> (qemu, ELF machine as `file` names it)
    "aarch64-linux-gnu": ("qemu-aarch64-static", "ARM aarch64"),
    "arm-linux-gnueabihf": ("qemu-arm-static", "ARM, EABI5"),
}
REQUIRED = [t for t in os.environ.get("MQ_CROSS_REQUIRED", "").split(",") if t]
DEB_PUB = "/usr/bin/mosquitto_pub"
DEB_SUB = "/usr/bin/mosquitto_sub"


def cross_bin(triplet):
    return ROOT / ("build-" + triplet) / "mq"


@pytest.fixture(params=sorted(ARCHES))
def arch(request):
    triplet = request.param
    qemu, machine = ARCHES[triplet]
    binary = cross_bin(triplet)
    if not binary.exists() or not pathlib.Path("/usr/bin/" + qemu).exists():
        if triplet in REQUIRED:
            pytest.fail("%s or /usr/bin/%s missing (MQ_CROSS_REQUIRED)" % (binary, qemu))
        pytest.skip("no cross build for %s (packaging/cross/build.sh %s)" % (triplet, triplet))
    return triplet, [qemu, str(binary)], machine


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)


def test_binary_is_static_arm(arch):
    triplet, argv, machine = arch
    info = run(["file", "-L", argv[1]]).stdout.decode()
    assert machine in info and "statically linked" in info, info
    v = run(argv + ["--version"])
    assert v.returncode == 0 and v.stdout.startswith(b"mq version "), v


def test_x86_clients_against_the_arm_broker(arch, tmp_path):
    triplet, argv, _ = arch
    pki = tmp_path / "pki"
    r = run(argv + ["certgen", "all", "--dir", str(pki), "--client", "alice"], timeout=120)
    assert r.returncode == 0, r.stderr
    port, tls_port = free_port(), free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
                    "require_certificate true\nuse_identity_as_username true\n"
                    "persistence false\nlog_dest stderr\n"
                    % (port, tls_port, pki / "ca.crt", pki / "server.crt", pki / "server.key")
                    # As root, stay root (not "mosquitto", who cannot read the test's keys).
                    + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen(argv + ["serve", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        # qemu starts a static binary in well under a second here; allow for a loaded machine.
        if not wait_for_port(tls_port, 30.0, proc):
            stop_process(proc)
            pytest.fail("the ARM broker did not open its ports: " + proc.stderr.read().decode())
        # QoS 0, 1 and 2 from Debian's mosquitto_pub to a paho-mqtt (MQTT 5) subscriber whose
        # SUBACK has come back, through the ARM broker.
        got = queue.Queue()
        subacked = threading.Event()
        c = paho.Client(client_id="cross-sub", protocol=paho.MQTTv5)
        c.on_message = lambda cl, u, m: got.put((m.topic, m.payload, m.qos))
        c.on_subscribe = lambda *a: subacked.set()
        c.connect("127.0.0.1", port)
        c.loop_start()
        try:
            c.subscribe("x/#", 2)
            assert subacked.wait(30)
            for q in (0, 1, 2):
                p = run([DEB_PUB, "-p", str(port), "-t", "x/q%d" % q, "-q", str(q), "-m",
                         "%s-%d" % (triplet, q)])
                assert p.returncode == 0, p.stderr
            msgs = [got.get(timeout=30) for _ in range(3)]
        finally:
            c.loop_stop()
            c.disconnect()
        assert msgs == [("x/q%d" % q, ("%s-%d" % (triplet, q)).encode(), q) for q in (0, 1, 2)]
        # Retained, read back by a new subscriber.
        assert run([DEB_PUB, "-p", str(port), "-t", "keep", "-r", "-q", "1", "-m", "kept"]).returncode == 0
        got = run([DEB_SUB, "-p", str(port), "-t", "keep", "-C", "1", "-W", "20"])
        assert got.stdout == b"kept\n", got
        # TLS with a client certificate, all keys and certificates made by the ARM mq (mbedTLS on
        # ARM both ways: certgen and the listener).
        tls = ["--cafile", str(pki / "ca.crt"), "--cert", str(pki / "alice.crt"),
               "--key", str(pki / "alice.key")]
        tsub = subprocess.Popen([DEB_SUB, "-p", str(tls_port), "-t", "s/t", "-C", "1", "-W", "60"]
                                + tls, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        def tls_delivered():
            run([DEB_PUB, "-p", str(tls_port), "-t", "s/t", "-m", "over-tls"] + tls)
            return tsub.poll() is not None
        assert brokers.wait_until(tls_delivered, 60, 0.5)
        out, err = tsub.communicate(timeout=10)
        assert out == b"over-tls\n", (out, err)
    finally:
        stop_process(proc, grace=10)
    assert proc.returncode == 0, proc.stderr.read().decode()


def test_arm_client_against_x86_mosquitto(arch, tmp_path):
    triplet, argv, _ = arch
    b = brokers.Broker(tmp_path, mosquitto=True)
    b.start()
    try:
        sub = subprocess.Popen([DEB_SUB, "-p", str(b.port), "-t", "from/arm", "-C", "1", "-q", "1",
                                "-W", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        def delivered():
            run(argv[:1] + [argv[1], "pub", "-p", str(b.port), "-t", "from/arm", "-q", "1", "-m",
                            triplet])
            return sub.poll() is not None
        assert brokers.wait_until(delivered, 60, 0.5)
        out, _ = sub.communicate(timeout=10)
        assert out == (triplet + "\n").encode()
    finally:
        b.stop()
