"""Starting and stopping the broker under test, and shared assertions.

The broker is `$MQ_BIN serve` unless MQ_BIN is unset or MQ_TEST_REFERENCE=1, in which case
Debian's real Mosquitto (/usr/sbin/mosquitto) runs instead, so every test can be validated
against the reference implementation.
"""

import os
import re
import signal
import socket
import subprocess
import time

import mqttraw as mr

MOSQUITTO = "/usr/sbin/mosquitto"
MQ_BIN = os.environ.get("MQ_BIN", "")
REFERENCE = os.environ.get("MQ_TEST_REFERENCE") == "1" or not MQ_BIN


def broker_argv():
    """The command that starts the broker, before its options."""
    return [MOSQUITTO] if REFERENCE else [MQ_BIN, "serve"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=5.0, proc=None):
    """Try to connect every 20 ms; True once the port accepts, False on timeout or exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def wait_until(pred, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def stop_process(proc, grace=3.0):
    """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class Broker:
    """One broker process in its own directory with a generated config file. With
    `mosquitto=True` it is Debian's mosquitto whatever the mode (for tests that run both)."""

    def __init__(self, workdir, conf="", listener=True, args=None, argv0=None, mosquitto=False):
        self.mosquitto = mosquitto
        self.dir = str(workdir)
        self.extra_conf = conf
        self.listener = listener
        self.args = list(args or [])
        self.argv0 = argv0
        self.proc = None
        self.port = None
        self.conf_path = os.path.join(self.dir, "broker.conf")
        self.stdout_path = os.path.join(self.dir, "broker.stdout")
        self.stderr_path = os.path.join(self.dir, "broker.stderr")

    def write_conf(self):
        lines = []
        if self.listener:
            lines += ["listener %d 127.0.0.1" % self.port, "allow_anonymous true"]
        if os.geteuid() == 0:
            # Started as root, Mosquitto switches to user "mosquitto", which cannot read or
            # write the test's private temp dir (config reload, log and pid files);
            # `user root` keeps it root. mq accepts the same option.
            lines.append("user root")
        text = "\n".join(lines) + "\n" + self.extra_conf.strip("\n") + "\n"
        with open(self.conf_path, "w") as f:
            f.write(text)

    def start(self, attempts=5):
        for _ in range(attempts):
            self.port = free_port()
            self.write_conf()
            argv = [MOSQUITTO] if self.mosquitto else broker_argv()
            if self.argv0:
                argv = [self.argv0] + argv[2:] if not REFERENCE else [self.argv0]
            argv = argv + ["-c", self.conf_path] + self.args
            self.proc = subprocess.Popen(
                argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"))
            if wait_for_port(self.port, 5.0, self.proc):
                return self
            stop_process(self.proc, 1.0)
            if "in use" not in self.log():
                raise RuntimeError("broker did not start: %r\n%s" % (argv, self.log()))
        raise RuntimeError("broker could not bind a free port")

    def log(self):
        text = ""
        for p in (self.stderr_path, self.stdout_path):
            try:
                with open(p, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                pass
        return text

    def wait_log(self, pattern, timeout=5.0, path=None):
        """Wait until a line matching regex `pattern` appears; return the match."""
        rx = re.compile(pattern)

        def find():
            if path:
                try:
                    with open(path, "rb") as f:
                        text = f.read().decode("utf-8", "replace")
                except FileNotFoundError:
                    return None
            else:
                text = self.log()
            return rx.search(text)
        m = wait_until(find, timeout)
        assert m, "no log line matching %r in:\n%s" % (pattern, self.log())
        return m

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            return stop_process(self.proc)
        return None


def run_broker(args, cwd, timeout=10, as_mosquitto=False):
    """Run the broker with `args` to completion (for exit-status tests). With as_mosquitto, mq
    is started through a link named `mosquitto`, where it must behave exactly as Mosquitto."""
    argv = broker_argv()
    if as_mosquitto and not REFERENCE:
        link = os.path.join(str(cwd), "mosquitto")
        if not os.path.exists(link):
            os.symlink(MQ_BIN, link)
        argv = [link]
    return subprocess.run(argv + list(args), cwd=str(cwd), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


_alive_counter = [0]


def assert_broker_alive(port, version=mr.V311):
    """A fresh subscriber and publisher complete a QoS 1 round trip through the broker."""
    _alive_counter[0] += 1
    n = _alive_counter[0]
    topic = "alive/check/%d" % n
    sub = mr.client(port, "alive-sub-%d" % n, version=version)
    pub = mr.client(port, "alive-pub-%d" % n, version=version)
    try:
        ack = sub.sub(topic, qos=1)
        assert ack.codes == [1], ack
        pub.pub(topic, b"ping %d" % n, qos=1)
        p = sub.recv_publish(5.0)
        assert (p.topic, p.payload, p.qos) == (topic, b"ping %d" % n, 1)
    finally:
        sub.disconnect()
        pub.disconnect()
