#!/usr/bin/python3
"""TLS cost of `mq serve` next to Debian's mosquitto (OpenSSL) on the same certificates.

Both brokers get one TLS listener on 127.0.0.1 with the same server certificate (made by
`mq certgen`), in turn, for each TLS version. Figures per broker and version:

  full handshakes/s     TLS handshake + MQTT CONNECT/CONNACK + close, new session every time
  resumed handshakes/s  the same, offering the session (ticket) of the worker's first connection
  resumed share         connections the server actually resumed
  broker CPU µs/conn    broker utime+stime over the run / connections (the server-side cost)
  RSS per idle conn     broker VmRSS growth / connections for N idle MQTT-over-TLS connections
  heap per idle conn    the same with MALLOC_PERTURB_ set, so every allocated byte is resident
  QoS 0/1 msg/s         (--flow) one publisher -> one subscriber over TLS, messages delivered/s
  QoS 0/1 CPU us/msg    (--flow) broker utime+stime per delivered message

The client is Python's ssl (OpenSSL) in --workers processes; on a small machine it shares the
CPU with the broker, so handshakes/s is a floor; broker CPU per connection is not client-bound.
Prints medians of --reps runs, the ratio mq/mosquitto and the raw runs. Never fails on speed.

  /usr/bin/python3 bench/tls.py [--mq build/mq] [--reps 3] [--secs 3] [--conns 1000] [--flow]
"""

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

def connect_packet(client_id):
    """MQTT 3.1.1 CONNECT, clean session, keep-alive 0; every connection has its own id (a
    shared one would make the broker close the older connection)."""
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (clock ticks)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


GROUP = None  # --group: the one key-exchange group the client offers (default: OpenSSL's list)


def client_ctx(ca, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.minimum_version = ctx.maximum_version = version
    if GROUP:
        ctx.set_ecdh_curve(GROUP)
    return ctx


def mqtt_over_tls(ctx, port, client_id, session=None):
    """One connection: TLS handshake, CONNECT, CONNACK, close. Returns (session, reused)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    # No Nagle: the CONNECT right after a TLS 1.3 Finished would otherwise wait for an ACK
    # (a 40 ms delayed-ACK stall that would measure the kernel, not the broker).
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
        s.sendall(connect_packet(client_id))
        got = b""
        while len(got) < 4:
            chunk = s.recv(4 - len(got))
            if not chunk:
                raise ConnectionError("closed before CONNACK")
            got += chunk
        if got[0] != 0x20 or got[3] != 0:
            raise ConnectionError("CONNACK %r" % got)
        return s.session, s.session_reused


def worker(args):
    global GROUP
    ca, version, port, secs, resume, GROUP = args
    ctx = client_ctx(ca, version)
    cid = "hs%d" % os.getpid()
    session, _ = mqtt_over_tls(ctx, port, cid)
    n = reused = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        s, r = mqtt_over_tls(ctx, port, cid, session if resume else None)
        if resume and s is not None:
            session = s  # TLS 1.3 tickets are single-use for the client: keep the newest
        n += 1
        reused += bool(r)
    return n, reused


async def hold_idle(ca, version, port, conns, ready, done):
    ctx = client_ctx(ca, version)
    sem = asyncio.Semaphore(64)
    writers = []

    async def one(i):
        async with sem:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                 server_hostname="localhost")
            w.write(connect_packet("idle%d" % i))
            await w.drain()
            ack = await r.readexactly(4)
            assert ack[0] == 0x20 and ack[3] == 0, ack
            writers.append(w)

    await asyncio.gather(*(one(i) for i in range(conns)))
    ready()
    await done()
    for w in writers:
        w.close()


NODELAY = False  # --nodelay: set_tcp_nodelay true on both brokers


class Broker:
    def __init__(self, kind, binary, tmp, pki, version, env=None):
        self.port = free_port()
        conf = os.path.join(tmp, "%s.conf" % kind)
        lines = ["listener %d 127.0.0.1" % self.port, "allow_anonymous true",
                 "persistence false", "log_dest none",
                 "certfile %s/server.crt" % pki, "keyfile %s/server.key" % pki,
                 "tls_version %s" % ("tlsv1.3" if version == ssl.TLSVersion.TLSv1_3
                                     else "tlsv1.2")]
        if NODELAY:
            lines.append("set_tcp_nodelay true")
        if os.geteuid() == 0:  # both drop to user mosquitto otherwise: the keys are root's
            lines.append("user root")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        argv = [binary, "-c", conf] if kind == "mosquitto" else [binary, "serve", "-c", conf]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError("%s did not start" % kind)
        time.sleep(0.2)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def run_handshakes(broker, ca, version, secs, workers, resume):
    t0 = cpu_ticks(broker.proc.pid)
    with multiprocessing.Pool(workers) as pool:
        res = pool.map(worker, [(ca, version, broker.port, secs, resume, GROUP)] * workers)
    ticks = cpu_ticks(broker.proc.pid) - t0
    n = sum(r[0] for r in res)
    reused = sum(r[1] for r in res)
    cpu_us = ticks * 1e6 / os.sysconf("SC_CLK_TCK") / max(n, 1)
    return n / secs, reused / max(n, 1), cpu_us


def run_idle(broker, ca, version, conns):
    base = rss_kib(broker.proc.pid)
    out = {}

    async def main():
        ev = asyncio.Event()

        def ready():
            time.sleep(0.5)
            out["rss"] = rss_kib(broker.proc.pid)

        async def done():
            return

        await hold_idle(ca, version, broker.port, conns, ready, done)

    asyncio.run(main())
    return (out["rss"] - base) * 1024 / conns, out["rss"]


def remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packet(topic, payload, qos, pid):
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (pid.to_bytes(2, "big") if qos else b"") + payload
    return bytes([0x30 | (qos << 1)]) + remaining_length(len(body)) + body


async def flow(ca, version, port, qos, secs, size, window):
    """One publisher -> one subscriber over TLS, one topic, `size`-byte payloads at `qos`, for
    `secs` s. Closed loop: the publisher stays at most `window` messages ahead of what the
    subscriber received (batches of window/8 per write); QoS 1 PUBLISH are acknowledged by the
    subscriber, one write per read. Returns (delivered, seconds from first publish to last
    delivery); messages not delivered are reported on stderr."""
    ctx = client_ctx(ca, version)
    sr, sw = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
    sw.write(connect_packet("flow-sub"))
    await sr.readexactly(4)
    topic = b"bench/flow"
    body = b"\x00\x01" + len(topic).to_bytes(2, "big") + topic + bytes([qos])
    sw.write(bytes([0x82, len(body)]) + body)
    suback = await sr.readexactly(5)
    assert suback[0] == 0x90 and suback[4] == qos, suback
    pr, pw = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
    pw.write(connect_packet("flow-pub"))
    await pr.readexactly(4)

    payload = bytes(size)
    batch = max(1, window // 8)
    st = {"published": 0, "received": 0, "last": 0.0}
    progress = asyncio.Event()

    async def subscriber():
        buf = bytearray()
        while True:
            data = await sr.read(1 << 16)
            if not data:
                return
            buf += data
            acks = bytearray()
            i, n = 0, len(buf)
            while i + 2 <= n:
                # fixed header + remaining length (at most 4 bytes)
                j, mult, length = i + 1, 1, 0
                while j < n:
                    length += (buf[j] & 0x7F) * mult
                    mult *= 128
                    j += 1
                    if not buf[j - 1] & 0x80:
                        break
                else:
                    break
                if j + length > n:
                    break
                if buf[i] >> 4 == 3:
                    st["received"] += 1
                    if (buf[i] >> 1) & 3:
                        tlen = int.from_bytes(buf[j:j + 2], "big")
                        acks += b"\x40\x02" + buf[j + 2 + tlen:j + 4 + tlen]
                i = j + length
            del buf[:i]
            if acks:
                sw.write(bytes(acks))
            st["last"] = time.monotonic()
            progress.set()

    async def drain_acks():  # PUBACKs to the publisher
        while await pr.read(1 << 16):
            pass

    tasks = [asyncio.ensure_future(subscriber()), asyncio.ensure_future(drain_acks())]
    start = time.monotonic()
    end = start + secs
    pid = 0
    written_off = stalls = 0
    while time.monotonic() < end:
        while st["published"] - st["received"] - written_off > window - batch:
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(), 2)
            except asyncio.TimeoutError:
                # Nothing arrived for 2 s: what is outstanding was dropped. Write it off so
                # the run goes on (as mq_loadgen's stall reset); the shortfall is printed.
                written_off = st["published"] - st["received"]
                stalls += 1
        out = bytearray()
        for _ in range(batch):
            pid = pid % 65535 + 1
            out += publish_packet("bench/flow", payload, qos, pid)
        pw.write(bytes(out))
        st["published"] += batch
        await pw.drain()
    deadline = time.monotonic() + 2
    while st["received"] < st["published"] and time.monotonic() < deadline:
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    for t in tasks:
        t.cancel()
    sw.close()
    pw.close()
    if st["received"] < st["published"]:
        print("  QoS %d: %d of %d messages not delivered (%d stalls of 2 s)" % (
            qos, st["published"] - st["received"], st["published"], stalls), file=sys.stderr)
    return st["received"], max(st["last"] - start, 1e-9)


def run_flow(broker, ca, version, qos, secs, size=64, window=512):
    # window below the brokers' max_queued_messages (1000 by default) so none is dropped
    t0 = cpu_ticks(broker.proc.pid)
    delivered, elapsed = asyncio.run(flow(ca, version, broker.port, qos, secs, size, window))
    ticks = cpu_ticks(broker.proc.pid) - t0
    return delivered / elapsed, ticks * 1e6 / os.sysconf("SC_CLK_TCK") / max(delivered, 1)


def measure_handshakes(kind, binary, tmp, pki, ca, version, a):
    """Full and resumed handshakes on one broker, then idle memory on fresh ones."""
    b = Broker(kind, binary, tmp, pki, version)
    try:
        full, _, cpu_full = run_handshakes(b, ca, version, a.secs, a.workers, False)
        res, share, cpu_res = run_handshakes(b, ca, version, a.secs, a.workers, True)
    finally:
        b.stop()
    b = Broker(kind, binary, tmp, pki, version)  # fresh for memory
    try:
        per_conn, _ = run_idle(b, ca, version, a.conns)
    finally:
        b.stop()
    # glibc's MALLOC_PERTURB_ fills every allocation, so RSS then counts all allocated memory,
    # also calloc'd pages a fresh heap would leave untouched.
    b = Broker(kind, binary, tmp, pki, version, {"MALLOC_PERTURB_": "165"})
    try:
        heap_conn, _ = run_idle(b, ca, version, a.conns)
    finally:
        b.stop()
    return [full, res, share, cpu_full, cpu_res, per_conn, heap_conn]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mq", default=os.environ.get("MQ_BIN", "build/mq"))
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3.0)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--key-type", default="ec:p256", help="server key (mq certgen --key-type)")
    ap.add_argument("--versions", default="1.3,1.2")
    ap.add_argument("--group", default=None,
                    help="offer only this group (e.g. prime256v1, X25519); default: OpenSSL's")
    ap.add_argument("--only", choices=["mq", "mosquitto"], default=None)
    ap.add_argument("--nodelay", action="store_true",
                    help="set_tcp_nodelay true on both brokers (mq's TLS connections have it "
                    "anyway; Mosquitto's TLS 1.3 connects then skip a delayed-ACK stall)")
    ap.add_argument("--flow", action="store_true",
                    help="also QoS 0 and QoS 1 throughput over TLS (1 publisher -> 1 subscriber)")
    ap.add_argument("--flow-only", action="store_true", help="only the throughput figures")
    ap.add_argument("--flow-secs", type=float, default=4.0)
    ap.add_argument("--flow-size", type=int, default=64, help="payload bytes")
    a = ap.parse_args()
    global GROUP, NODELAY
    GROUP, NODELAY = a.group, a.nodelay

    tmp = tempfile.mkdtemp(prefix="mq-tlsbench-")
    pki = os.path.join(tmp, "pki")
    r = subprocess.run([a.mq, "certgen", "all", "--dir", pki, "--key-type", a.key_type],
                       capture_output=True)
    if r.returncode != 0:
        sys.exit("certgen failed: %s" % r.stderr.decode())
    ca = os.path.join(pki, "ca.crt")
    versions = {"1.3": ssl.TLSVersion.TLSv1_3, "1.2": ssl.TLSVersion.TLSv1_2}
    brokers = [("mq", a.mq), ("mosquitto", a.mosquitto)]
    if a.only:
        brokers = [b for b in brokers if b[0] == a.only]
    hs_metrics = ["full hs/s", "resumed hs/s", "resumed share", "CPU us/full", "CPU us/resumed",
                  "RSS B/idle conn", "heap B/idle conn"]
    flow_metrics = ["QoS0 msg/s", "QoS0 CPU us/msg", "QoS1 msg/s", "QoS1 CPU us/msg"]
    metrics = ([] if a.flow_only else hs_metrics) + (flow_metrics if a.flow or a.flow_only
                                                     else [])
    better = {"full hs/s": "higher", "resumed hs/s": "higher", "resumed share": "higher",
              "CPU us/full": "lower", "CPU us/resumed": "lower", "RSS B/idle conn": "lower",
              "heap B/idle conn": "lower", "QoS0 msg/s": "higher", "QoS0 CPU us/msg": "lower",
              "QoS1 msg/s": "higher", "QoS1 CPU us/msg": "lower"}
    raw = []  # (version, broker, rep, metric, value)
    try:
        for vname in a.versions.split(","):
            version = versions[vname]
            for rep in range(a.reps):
                order = brokers if rep % 2 == 0 else brokers[::-1]
                for kind, binary in order:
                    print("TLS %s %s rep %d ..." % (vname, kind, rep + 1), file=sys.stderr)
                    values = []
                    if metrics[0] == hs_metrics[0]:
                        values += measure_handshakes(kind, binary, tmp, pki, ca, version, a)
                    if metrics[-1] == flow_metrics[-1]:
                        b = Broker(kind, binary, tmp, pki, version)
                        try:
                            for qos in (0, 1):
                                values += run_flow(b, ca, version, qos, a.flow_secs, a.flow_size)
                        finally:
                            b.stop()
                    for m, v in zip(metrics, values):
                        raw.append((vname, kind, rep + 1, m, v))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("TLS: mq (%s) vs mosquitto (%s), server key %s, client groups %s, set_tcp_nodelay %s, "
          "%d reps, %g s per handshake run, %d workers, %d idle connections" % (
              a.mq, a.mosquitto, a.key_type, a.group or "OpenSSL default",
              "true" if a.nodelay else "default", a.reps, a.secs, a.workers, a.conns))
    print("%-8s %-16s %12s %12s %8s  %s" % ("TLS", "figure", "mq", "mosquitto", "ratio",
                                            "better"))
    for vname in a.versions.split(","):
        for m in metrics:
            med = {"mq": float("nan"), "mosquitto": float("nan")}
            for kind, _ in brokers:
                vals = [v for (vv, k, _, mm, v) in raw if vv == vname and k == kind and mm == m]
                med[kind] = statistics.median(vals)
            ratio = med["mq"] / med["mosquitto"] if med["mosquitto"] else float("nan")
            print("%-8s %-16s %12.2f %12.2f %8.2f  %s" % (vname, m, med["mq"], med["mosquitto"],
                                                         ratio, better[m]))
    print("\nraw runs:")
    for row in raw:
        print("  TLS %s %-9s rep %d %-16s %.2f" % row)


if __name__ == "__main__":
    main()
