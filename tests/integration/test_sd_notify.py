"""systemd's readiness protocol, as `Type=notify` in packaging/systemd/mq.service relies on:
the broker sends READY=1 once its listeners accept connections, RELOADING=1 then READY=1 around
a SIGHUP reload, WATCHDOG=1 when WATCHDOG_USEC asks for it, and STOPPING=1 on SIGTERM, to a
NOTIFY_SOCKET this test listens on itself (no systemd needed)."""

import os
import signal
import socket
import subprocess

import pytest

import brokers

pytestmark = pytest.mark.skipif(brokers.REFERENCE, reason="mq only (Mosquitto 2.0 has no sd_notify)")


def recv_until(sock, want, timeout=5.0):
    """Datagrams until one equal to (or starting with) `want`; returns all of them."""
    sock.settimeout(timeout)
    got = []
    while True:
        msg = sock.recv(4096).decode()
        got.append(msg)
        if msg == want or msg.startswith(want):
            return got


def test_ready_reload_watchdog_stopping(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    port = brokers.free_port()
    conf = tmp_path / "m.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\n%s" % (
        port, "user root\n" if os.geteuid() == 0 else ""))
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([brokers.MQ_BIN, "serve", "-c", str(conf)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        got = recv_until(sock, "READY=1")
        assert got[-1] == "READY=1"
        # Ready means serving: the listener accepts at once.
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        assert "WATCHDOG=1" in recv_until(sock, "WATCHDOG=1", timeout=2)
        proc.send_signal(signal.SIGHUP)
        got = recv_until(sock, "RELOADING=1")
        assert "\nMONOTONIC_USEC=" in got[-1]
        assert "READY=1" in recv_until(sock, "READY=1")
        proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in recv_until(sock, "STOPPING=1")
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        sock.close()


def test_no_notify_socket_no_trouble(tmp_path):
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    port = brokers.free_port()
    proc = subprocess.Popen([brokers.MQ_BIN, "serve", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert brokers.wait_for_port(port, 5, proc)
        brokers.assert_broker_alive(port)
    finally:
        assert brokers.stop_process(proc) == 0
