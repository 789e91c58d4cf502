#!/usr/bin/env python3
"""Fills a broker with N retained messages and M persistent sessions (bench/persist.sh).

  persist_populate.py PORT RETAINED SESSIONS

Retained messages go out pipelined on one connection (QoS 0, 64-byte payloads, topics
r/<i/1000>/<i>), followed by one QoS 1 PUBLISH whose PUBACK proves all were handled. Each session
is a clean-session-0 CONNECT + SUBSCRIBE (QoS 1, s/<j>) + DISCONNECT, 200 connections at once.
"""

import selectors
import socket
import struct
import sys


def rl(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(x):
    x = x.encode()
    return struct.pack("!H", len(x)) + x


def pkt(h, body):
    return bytes([h]) + rl(len(body)) + body


def connect(cid, clean):
    return pkt(0x10, s("MQTT") + bytes([4, 0x02 if clean else 0]) + struct.pack("!H", 60) + s(cid))


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("broker closed the connection")
        buf += chunk
    return buf


def main():
    port, retained, sessions = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    c = socket.create_connection(("127.0.0.1", port), timeout=60)
    c.sendall(connect("populate-retained", True))
    recv_exact(c, 4)
    payload = b"x" * 64
    batch = []
    for i in range(retained):
        batch.append(pkt(0x31, s("r/%d/%d" % (i // 1000, i)) + payload))
        if len(batch) == 2000:
            c.sendall(b"".join(batch))
            batch = []
    c.sendall(b"".join(batch) + pkt(0x32, s("r/done") + struct.pack("!H", 1) + b"done"))
    while True:  # skip nothing else expected: the PUBACK
        h = recv_exact(c, 2)
        body = recv_exact(c, h[1])
        if h[0] >> 4 == 4:
            break
    c.close()

    sel = selectors.DefaultSelector()
    nxt, done, open_ = 0, 0, 0
    while done < sessions:
        while open_ < 200 and nxt < sessions:
            k = socket.create_connection(("127.0.0.1", port), timeout=60)
            k.setblocking(False)
            sub = pkt(0x82, struct.pack("!H", 1) + s("s/%d" % nxt) + b"\x01")
            k.sendall(connect("persist-bench-%d" % nxt, False) + sub)
            sel.register(k, selectors.EVENT_READ, bytearray())
            nxt += 1
            open_ += 1
        for key, _ in sel.select(timeout=10):
            buf = key.data
            try:
                buf += key.fileobj.recv(64)
            except BlockingIOError:
                continue
            if len(buf) >= 4 + 5:  # CONNACK + SUBACK
                key.fileobj.sendall(b"\xe0\x00")
                sel.unregister(key.fileobj)
                key.fileobj.close()
                open_ -= 1
                done += 1
    print("populated retained=%d sessions=%d" % (retained, sessions))


if __name__ == "__main__":
    main()
