#!/usr/bin/python3
"""Edge to cluster: what a bridge from `mq serve` to a 3-node NATS cluster moves, and what its
on-disk queue costs. Everything on 127.0.0.1; Debian's nats-server; the edge runs
packaging/examples/edge-bridge.conf (addresses, directory and listener swapped).

  live       QoS 1 messages published at the edge (pipelined, 100 in flight) while the bridge
             is connected, counted at a QoS 1 subscriber on another cluster node:
             messages/s from the first publish to the last arrival
  queued     the same number published while the whole cluster is down: journal bytes per
             queued message (journal growth / N; every message is also acknowledged to the
             publisher only once its records are written)
  drain      the cluster started again: messages/s from the first to the last arrival of the
             queued messages at the subscriber
  direct     the same load published straight to a cluster node (no bridge): the ceiling the
             cluster itself sets
  per msg    journal bytes per message once delivered (add + packet id + delete records)

Prints figures only; never fails on speed.

  /usr/bin/python3 bench/bridge_cluster.py [--mq build/mq] [-n 5000] [--size 64]
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import brokers  # noqa: E402
import mqttraw as mr  # noqa: E402
import nats_cluster  # noqa: E402

EXAMPLE = os.path.join(HERE, "..", "packaging", "examples", "edge-bridge.conf")


def edge_conf(path, port, cluster_ports, workdir):
    with open(EXAMPLE) as f:
        text = f.read()
    text = re.sub(r"(?m)^listener 1883$", "listener %d 127.0.0.1" % port, text)
    text = re.sub(r"(?m)^addresses .*$",
                  "addresses " + " ".join("127.0.0.1:%d" % p for p in cluster_ports), text)
    text = re.sub(r"(?m)^persistence_location .*$",
                  "persistence_location " + os.path.join(workdir, ""), text)
    text += "log_dest none\nmax_inflight_messages 100\n"
    if os.geteuid() == 0:
        text += "user root\n"
    with open(path, "w") as f:
        f.write(text)


def publish_pipelined(port, n, size, tag, window=100, topic="sensors/bench"):
    """n QoS 1 publishes with up to `window` unacknowledged; returns when all are acked."""
    c = mr.client(port, "bench-pub-" + tag)
    payload_pad = b"x" * max(0, size - 12)
    sent = acked = 0
    while acked < n:
        while sent < n and sent - acked < window:
            sent += 1
            body = (b"%s%06d" % (tag.encode()[:4], sent)).ljust(12, b".") + payload_pad
            c.send(mr.publish(topic, body[:size], 1, pid=(sent - 1) % 65535 + 1))
        p = c.recv(30.0)
        if p.type == mr.PUBACK:
            acked += 1
    c.disconnect()


class Counter(threading.Thread):
    """A QoS 1 subscriber (persistent session) counting messages with `prefix`."""

    def __init__(self, port, prefix, n):
        super().__init__(daemon=True)
        self.port, self.prefix, self.n = port, prefix, n
        self.seen = set()
        self.first = self.last = None
        self.done = threading.Event()
        self.error = None

    def run(self):
        deadline = time.monotonic() + 300
        c = None
        while c is None:
            try:
                c = mr.client(self.port, "bench-sub", clean=False)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        c.sub("site/edge-1/#", 1)
        try:
            while len(self.seen) < self.n and time.monotonic() < deadline:
                try:
                    p = c.recv_publish(timeout=1.0)
                except mr.Timeout:
                    continue
                if p.payload.startswith(self.prefix):
                    now = time.monotonic()
                    self.first = self.first or now
                    self.last = now
                    self.seen.add(p.payload[:12])
        except Exception as e:  # reported by the main thread
            self.error = e
        finally:
            c.disconnect()
            self.done.set()


def journal_size(workdir):
    try:
        return os.path.getsize(os.path.join(workdir, "mosquitto.db.journal"))
    except FileNotFoundError:
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mq", default=os.path.join(HERE, "..", "build", "mq"))
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mq-bench-bridge-")
    cluster = nats_cluster.NatsCluster(work)
    edge = None
    try:
        cluster.start()
        print("cluster ready after %.1f s" % cluster.wait_ready(), file=sys.stderr)
        edge_dir = os.path.join(work, "edge")
        os.mkdir(edge_dir)
        port = brokers.free_port()
        conf = os.path.join(edge_dir, "edge.conf")
        edge_conf(conf, port, cluster.mqtt_ports, edge_dir)
        edge = subprocess.Popen([os.path.abspath(args.mq), "serve", "-c", conf], cwd=edge_dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert brokers.wait_for_port(port, 5.0, edge)
        # Warm-up: one message through, so the bridge and the streams are up.
        warm = Counter(cluster.mqtt_ports[1], b"warm", 1)
        warm.start()
        deadline = time.monotonic() + 60
        while not warm.done.wait(0.5) and time.monotonic() < deadline:
            publish_pipelined(port, 1, args.size, "warm")
        n = args.n

        live = Counter(cluster.mqtt_ports[1], b"live", n)
        live.start()
        time.sleep(0.5)  # the subscriber's SUBSCRIBE is through
        t0 = time.monotonic()
        publish_pipelined(port, n, args.size, "live")
        t_pub = time.monotonic() - t0
        live.done.wait(300)
        live_rate = len(live.seen) / (live.last - t0) if live.last else 0

        # The same load published straight to a cluster node: the cluster's own ceiling.
        direct = Counter(cluster.mqtt_ports[1], b"dire", n)
        direct.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        publish_pipelined(cluster.mqtt_ports[0], n, args.size, "dire", topic="site/edge-1/d")
        direct.done.wait(300)
        direct_rate = len(direct.seen) / (direct.last - t0) if direct.last else 0

        cluster.stop()
        time.sleep(0.5)
        j0 = journal_size(edge_dir)
        t0 = time.monotonic()
        publish_pipelined(port, n, args.size, "queu")
        t_queue = time.monotonic() - t0
        j1 = journal_size(edge_dir)
        drain = Counter(cluster.mqtt_ports[1], b"queu", n)
        cluster.start()
        drain.start()
        drain.done.wait(300)
        j2 = journal_size(edge_dir)
        drain_rate = (len(drain.seen) / (drain.last - drain.first)
                      if drain.last and drain.last > drain.first else 0)

        print("edge -> 3-node NATS cluster (JetStream, R3), QoS 1, %d-byte payloads, N=%d"
              % (args.size, n))
        print("live:  %d/%d arrived, %.0f msg/s end to end (edge accepted them at %.0f msg/s)"
              % (len(live.seen), n, live_rate, n / t_pub))
        print("direct: %d/%d arrived, %.0f msg/s published straight to the first node (no bridge)"
              % (len(direct.seen), n, direct_rate))
        print("queue: edge accepted %d messages with the cluster down at %.0f msg/s; "
              "journal +%d bytes = %.1f bytes per queued message"
              % (n, n / t_queue, j1 - j0, (j1 - j0) / n))
        print("drain: %d/%d arrived after the cluster came back, %.0f msg/s; "
              "journal total %.1f bytes per delivered message"
              % (len(drain.seen), n, drain_rate, (j2 - j0) / n))
    finally:
        if edge is not None and edge.poll() is None:
            edge.send_signal(signal.SIGTERM)
            edge.wait(10)
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
