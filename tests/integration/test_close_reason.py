"""The reason a broker gives when it closes a connection reaches a client that is still sending.

Closing a socket with unread input makes the kernel reset the connection, and the reset throws
away what the broker's side has not transmitted yet: the DISCONNECT or refusing CONNACK that
explains the close, when the client's receive window is full. The broker must write its last
packet, shut down its side (FIN) and drain the client's input before closing.
"""

import socket
import time

import pytest

import mqttraw as mr
from brokers import assert_broker_alive

V5 = mr.V5


def send_ignoring_close(conn, data):
    try:
        conn.sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def read_to_end(sock, timeout=10.0):
    """All bytes until the broker's FIN: ('eof', data), 'eof+reset(errno)' when a reset
    followed the FIN, or 'reset' when it came first."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return "reset", bytes(data)
        if not chunk:
            # After the FIN, a reset the broker sent behind it is still pending here.
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            return ("eof" if err == 0 else "eof+reset(%d)" % err), bytes(data)
        data += chunk
    raise AssertionError("connection still open after %.0fs (%d bytes)" % (timeout, len(data)))


def packets(data, version):
    out, pos = [], 0
    while pos < len(data):
        length, mult, i = 0, 1, pos + 1
        while True:
            b = data[i]
            i += 1
            length += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        raw = data[pos:i + length]
        assert len(raw) == i + length - pos, "truncated packet at the end of the stream"
        out.append(mr.Packet(raw[0] >> 4, raw[0] & 0x0F, raw[i - pos:], raw, version))
        pos = i + length
    return out


@pytest.mark.mq_only  # Mosquitto 2.0.11 does not enforce the Receive Maximum it announces
def test_receive_maximum_disconnect_behind_unread_output_still_arrives(start_broker):
    b = start_broker(conf="max_inflight_messages 2\n")
    # A client with a tiny receive window that subscribes to what it publishes and does not
    # read while it sends: the broker's echoes wait in its send queue when it decides to close.
    c = mr.Conn(b.port, version=V5, rcvbuf=4096)
    try:
        c.handshake("rm-behind")
        c.sub("rm/#", 0)
        echoes = [mr.publish("rm/echo", b"e" * 1000, version=V5) for _ in range(300)]
        # QoS 2 PUBLISHes never released: the third is past the Receive Maximum of 2, and
        # ~150 KB behind it are still unread in the broker's socket when it decides to close.
        flood = [mr.publish("rm/q", b"q" * 1000, qos=2, pid=i, version=V5) for i in range(1, 150)]
        send_ignoring_close(c, b"".join(echoes + flood))
        how, data = read_to_end(c.sock)
        got = packets(data, V5)
        last = got[-1] if got else None
        assert last is not None and last.type == mr.DISCONNECT and last.reason == 0x93, \
            "%s after %d packets, last %r" % (how, len(got), last)
        assert how == "eof"
        assert sum(1 for p in got if p.type == mr.PUBLISH and p.topic == "rm/echo") == 300
    finally:
        c.close()
    assert_broker_alive(b.port)


@pytest.mark.mq_only  # Mosquitto 2.0.11 closes at once: the client sees a reset after CONNACK
@pytest.mark.parametrize("version,refused", [(mr.V311, 5), (V5, 0x87)], ids=["v311", "v5"])
def test_refused_connack_then_orderly_close_while_client_sends(start_broker, version, refused):
    b = start_broker(conf="allow_anonymous false\n")
    c = mr.Conn(b.port, version=version)
    try:
        more = [mr.publish("ref/t", b"y" * 500, qos=1, pid=i, version=version)
                for i in range(1, 201)]
        send_ignoring_close(c, mr.connect("refused", version=version) + b"".join(more))
        how, data = read_to_end(c.sock)
        got = packets(data, version)
        assert [(p.type, p.reason) for p in got] == [(mr.CONNACK, refused)], got
        # FIN, not RST: across a real network a reset can overtake the CONNACK.
        assert how == "eof"
    finally:
        c.close()
    assert_broker_alive_refusing(b.port)


def assert_broker_alive_refusing(port):
    c = mr.Conn(port)
    try:
        c.send(mr.connect("after"))
        assert c.expect(mr.CONNACK).reason == 5
    finally:
        c.close()


@pytest.mark.mq_only
def test_lingering_socket_of_a_client_that_never_stops_is_closed(start_broker):
    """A client that keeps sending after the DISCONNECT is cut off within the linger bound."""
    b = start_broker(conf="max_inflight_messages 1\n")
    c = mr.Conn(b.port, version=V5)
    c.handshake("rm-forever")
    pub = b"".join(mr.publish("rm/f", b"z" * 1000, qos=2, pid=i, version=V5)
                   for i in range(1, 65))
    t0 = time.monotonic()
    closed = False
    try:
        c.sock.settimeout(10.0)
        while time.monotonic() - t0 < 10.0:
            c.sock.sendall(pub)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    except socket.timeout:
        pass
    finally:
        c.close()
    assert closed, "the broker kept a never-reading client's socket open past 10 s"
    assert_broker_alive(b.port)
