"""The FROM-scratch container image (packaging/container): build it with podman from the static
binary under test, run it with a data volume, publish and subscribe from the host with Debian's
mosquitto clients, restart it on the same volume and get the retained message back, and check
that its health check (`mq check`, no shell in the image) reports healthy, then unhealthy while
the broker is stopped (SIGSTOP). Skipped where podman or runc is missing or not root."""

import os
import shutil
import subprocess
import time

import pytest

import brokers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "packaging", "container", "build.sh")

pytestmark = pytest.mark.skipif(
    not brokers.MQ_BIN or not shutil.which("podman") or not shutil.which("runc")
    or os.geteuid() != 0, reason="needs MQ_BIN, podman, runc and root")


def podman(env, *args, timeout=60, check=True):
    r = subprocess.run(["podman", "--runtime", "runc"] + list(args), env=env, capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError("podman %s failed: %s" % (" ".join(args), r.stderr.decode()))
    return r


@pytest.fixture
def env(tmp_path):
    conf = tmp_path / "containers.conf"
    # On these machines crun fails on the cgroup setup and the default ulimits are refused.
    conf.write_text("[containers]\ndefault_ulimits = []\n")
    e = dict(os.environ, CONTAINERS_CONF=str(conf))
    yield e


def test_image_runs_persists_and_reports_health(tmp_path, env):
    image = "localhost/mq-test:%d" % os.getpid()
    name = "mq-test-%d" % os.getpid()
    r = subprocess.run([BUILD, brokers.MQ_BIN, image], env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    size = int(r.stdout.decode().split(":")[-1].split()[0])
    assert size < 5_000_000, "image of %d bytes (issue 13: at most 5 MB)" % size
    try:
        hc = podman(env, "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}",
                    image).stdout.decode().strip()
        assert hc == ('["CMD","/usr/bin/mq","check","-h","127.0.0.1","-p","1883","-W","5"]'), hc
        user = podman(env, "image", "inspect", "--format", "{{.Config.User}}", image).stdout
        assert user.decode().strip() == "1883:1883"

        port = brokers.free_port()
        confdir, data = tmp_path / "config", tmp_path / "data"
        confdir.mkdir()
        data.mkdir()
        os.chmod(data, 0o777)  # the image runs as uid 1883
        (confdir / "mosquitto.conf").write_text(
            "listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
            "persistence_location /mosquitto/data/\nlog_dest stdout\n" % port)

        def run():
            # The image's health check with this test's port (the image's own names 1883).
            podman(env, "run", "-d", "--name", name, "--network=host",
                   "-v", "%s:/mosquitto/config" % confdir, "-v", "%s:/mosquitto/data" % data,
                   "--health-cmd", '["/usr/bin/mq","check","-h","127.0.0.1","-p","%d","-W","2"]'
                   % port, image)
            assert brokers.wait_for_port(port, 10), podman(env, "logs", name).stdout

        run()
        subprocess.run(["mosquitto_pub", "-p", str(port), "-t", "keep/me", "-m", "hello", "-r",
                        "-q", "1"], check=True, timeout=10)
        got = subprocess.run(["mosquitto_sub", "-p", str(port), "-t", "keep/me", "-C", "1",
                              "-W", "5"], capture_output=True, timeout=10)
        assert got.stdout == b"hello\n"
        assert podman(env, "healthcheck", "run", name, check=False).returncode == 0

        podman(env, "kill", "--signal", "STOP", name)
        unhealthy = podman(env, "healthcheck", "run", name, check=False, timeout=30)
        assert unhealthy.returncode != 0 and b"unhealthy" in unhealthy.stdout, unhealthy
        podman(env, "kill", "--signal", "CONT", name)

        podman(env, "stop", "-t", "10", name)  # SIGTERM: the broker saves its snapshot
        podman(env, "rm", name)
        assert (data / "mosquitto.db").exists()
        run()
        got = subprocess.run(["mosquitto_sub", "-p", str(port), "-t", "keep/me", "-C", "1",
                              "-W", "5", "-v"], capture_output=True, timeout=10)
        assert got.stdout == b"keep/me hello\n", "retained message lost across a restart"
    finally:
        podman(env, "rm", "-f", "-t", "0", name, check=False)
        podman(env, "rmi", "-f", image, check=False)


# The Containerfile's other way in: a Debian 12 build stage compiles mq from this checkout. It
# needs a debian:12 image, which CI cannot pull, and takes about ten minutes; it runs when
# MQ_CONTAINER_DEBIAN names a local image (for instance one made by
#   debootstrap --variant=minbase bookworm /tmp/deb12 http://deb.debian.org/debian
#   tar -C /tmp/deb12 -c . | podman import - localhost/debian:12).
DEBIAN_IMAGE = os.environ.get("MQ_CONTAINER_DEBIAN", "")


@pytest.mark.skipif(not DEBIAN_IMAGE, reason="MQ_CONTAINER_DEBIAN names no local Debian 12 image")
def test_debian_build_stage_makes_a_working_image(env):
    image = "localhost/mq-src-test:%d" % os.getpid()
    name = "mq-src-test-%d" % os.getpid()
    build = podman(env, "build", "--format", "docker", "--network", "host",
                   "--build-arg", "DEBIAN=" + DEBIAN_IMAGE, "--build-arg", "MQ_FROM=build", "-t", image,
                   "-f", os.path.join(ROOT, "packaging", "container", "Containerfile"), ROOT,
                   timeout=1800, check=False)
    assert build.returncode == 0, build.stderr.decode()[-3000:]
    try:
        # The final image holds only the binary, its links and the configuration.
        size = int(podman(env, "image", "inspect", "--format", "{{.Size}}", image).stdout)
        assert size < 5_000_000, size
        port = brokers.free_port()
        podman(env, "run", "-d", "--name", name, "--network=host", "--entrypoint",
               "/usr/bin/mq", image, "serve", "-p", str(port))
        assert brokers.wait_for_port(port, 10), podman(env, "logs", name).stdout
        sub = subprocess.Popen(["mosquitto_sub", "-p", str(port), "-t", "src/#", "-C", "1",
                                "-W", "10", "-v"], stdout=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while sub.poll() is None and time.monotonic() < deadline:
            subprocess.run(["mosquitto_pub", "-p", str(port), "-t", "src/built", "-m", "ok"],
                           timeout=10, check=True)
            try:
                sub.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        out, _ = sub.communicate(timeout=10)
        assert out == b"src/built ok\n"
    finally:
        podman(env, "rm", "-f", "-t", "0", name, check=False)
        podman(env, "rmi", "-f", image, check=False)
