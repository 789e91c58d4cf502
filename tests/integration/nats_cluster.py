"""A real clustered MQTT broker for bridge tests: three Debian `nats-server` nodes on 127.0.0.1,
routed into one cluster with JetStream (which NATS's MQTT support stores sessions and QoS 1
messages in) and an MQTT listener each. Every port comes from brokers.free_port(); every node
runs in the test's temporary directory and is stopped by its pid.

NATS speaks MQTT 3.1.1 with QoS 0 and 1 only (no QoS 2): bridge topics towards it use QoS <= 1.
At first use each node creates its MQTT streams with 3 replicas, and after a restart of the
whole cluster JetStream elects its leaders again: `wait_ready` retries a QoS 1 publish until one
is acknowledged (bounded), never a fixed sleep.

Why NATS rather than a RabbitMQ cluster with its MQTT plugin (both are Debian packages): a NATS
node is one process with one small config file, starts in milliseconds, and three of them
cluster over routes on any ports, with nothing shared on the machine; a RabbitMQ cluster needs
epmd, an Erlang cookie, distinct node names and enabling the plugin, and each node takes
seconds to boot. NATS's MQTT sessions and QoS 1 messages live in replicated JetStream streams,
so a session moves with the client to whichever node it reaches, which is what failover needs.
"""

import os
import signal
import subprocess
import time

import brokers
import mqttraw as mr

NATS_SERVER = "/usr/sbin/nats-server"


class NatsCluster:
    def __init__(self, workdir, nodes=3):
        self.dir = str(workdir)
        self.n = nodes
        # (client, route, mqtt) ports per node, fixed for the cluster's life (restarts reuse them).
        self.ports = [(brokers.free_port(), brokers.free_port(), brokers.free_port())
                      for _ in range(nodes)]
        self.procs = [None] * nodes

    @property
    def mqtt_ports(self):
        return [m for (_, _, m) in self.ports]

    def conf_path(self, i):
        return os.path.join(self.dir, "nats%d.conf" % i)

    def log_path(self, i):
        return os.path.join(self.dir, "nats%d.log" % i)

    def write_conf(self, i):
        client, route, mqtt = self.ports[i]
        routes = ", ".join("nats-route://127.0.0.1:%d" % r for (_, r, _) in self.ports)
        text = "\n".join([
            "server_name: n%d" % i,
            "listen: 127.0.0.1:%d" % client,
            'jetstream { store_dir: "%s" }' % os.path.join(self.dir, "js%d" % i),
            "cluster {",
            "  name: edge-test",
            "  listen: 127.0.0.1:%d" % route,
            "  routes: [%s]" % routes,
            "}",
            "mqtt { listen: 127.0.0.1:%d }" % mqtt,
        ]) + "\n"
        with open(self.conf_path(i), "w") as f:
            f.write(text)

    def start_node(self, i):
        assert self.procs[i] is None or self.procs[i].poll() is not None
        self.write_conf(i)
        self.procs[i] = subprocess.Popen(
            [NATS_SERVER, "-c", self.conf_path(i)], cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=open(self.log_path(i), "ab"), stderr=subprocess.STDOUT)

    def start(self):
        for i in range(self.n):
            self.start_node(i)
        for i in range(self.n):
            if not brokers.wait_for_port(self.ports[i][2], 10.0, self.procs[i]):
                raise RuntimeError("nats node %d did not start:\n%s" % (i, self.log(i)))
        return self

    def kill_node(self, i, sig=signal.SIGKILL):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def stop(self):
        """Every node down (SIGTERM, SIGKILL after a grace period)."""
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for i in range(self.n):
            self.kill_node(i, signal.SIGKILL)

    def log(self, i):
        try:
            with open(self.log_path(i), "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except FileNotFoundError:
            return ""

    def wait_ready(self, node=0, timeout=40.0):
        """Retries a QoS 1 publish on `node` until it is acknowledged; returns the seconds it
        took. JetStream needs a few seconds to place the MQTT streams (or to elect leaders
        again after a restart of the whole cluster)."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            try:
                c = mr.client(self.mqtt_ports[node], "ready-probe")
                try:
                    c.pub("ready/probe", b"x", qos=1)
                    return time.monotonic() - t0
                finally:
                    c.disconnect()
            except (OSError, AssertionError, mr.Closed, mr.MalformedPacket):
                time.sleep(0.2)
        raise AssertionError("nats cluster not ready after %.0f s:\n%s" % (timeout, self.log(node)))
