"""The .deb (packaging/deb/build.sh): built from the binary under test, lintian without errors,
installed with dpkg -i, the installed broker (started through its `mosquitto` link) serves
Debian's mosquitto_pub/mosquitto_sub, man pages and completions are in place, and a purge
removes it all. Changes the system's package set, so it runs only as root with dpkg."""

import os
import shutil
import subprocess

import pytest

import brokers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(
    not brokers.MQ_BIN or os.geteuid() != 0 or not shutil.which("dpkg-deb"),
    reason="needs MQ_BIN, root and dpkg")


def run(*args, timeout=120):
    r = subprocess.run(list(args), capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, "%s: %s%s" % (" ".join(args), r.stdout.decode(), r.stderr.decode())
    return r.stdout.decode()


def test_deb_installs_serves_and_purges(tmp_path):
    deb = run(os.path.join(ROOT, "packaging", "deb", "build.sh"), brokers.MQ_BIN,
              str(tmp_path)).strip()
    if shutil.which("lintian"):
        r = subprocess.run(["lintian", deb], capture_output=True, timeout=300)
        errors = [l for l in r.stdout.decode().splitlines() if l.startswith("E:")]
        assert errors == [], errors
    run("dpkg", "-i", deb)
    proc = None
    try:
        assert run("/usr/bin/mq", "--version").startswith("mq version")
        assert os.path.islink("/usr/libexec/mq/mosquitto_sub")
        for page in ("mq", "mq-serve", "mq-pub", "mq-sub", "mq-rr", "mq-passwd", "mq-check"):
            assert os.path.exists("/usr/share/man/man1/%s.1.gz" % page), page
        assert os.path.exists("/usr/share/bash-completion/completions/mosquitto_pub")
        assert os.path.exists("/lib/systemd/system/mq.service")
        assert "mosquitto:" in run("getent", "passwd", "mosquitto") + ":"
        port = brokers.free_port()
        conf = tmp_path / "m.conf"
        conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\nuser root\n" % port)
        proc = subprocess.Popen(["/usr/libexec/mq/mosquitto", "-c", str(conf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert brokers.wait_for_port(port, 5, proc)
        run("mosquitto_pub", "-p", str(port), "-t", "deb/t", "-m", "installed", "-r", "-q", "1",
            timeout=10)
        assert run("mosquitto_sub", "-p", str(port), "-t", "deb/t", "-C", "1", "-W", "5",
                   timeout=10) == "installed\n"
    finally:
        if proc:
            brokers.stop_process(proc)
        run("dpkg", "--purge", "mq")
    assert not os.path.exists("/usr/bin/mq")
    assert not os.path.exists("/usr/libexec/mq")
    assert not os.path.exists("/etc/mq/mosquitto.conf")
