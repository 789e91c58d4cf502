"""Minimal raw MQTT 3.1 / 3.1.1 / 5.0 codec and a socket wrapper for the integration tests.

Encoders build exact packet bytes (and can be told to build wrong ones); `Conn` reads whole
packets from the broker with a deadline on every read, and `decode()` turns them into `Packet`
objects. Only what the tests need; no retries, no hidden state besides the packet-id counter.
"""

import socket
import struct
import time

# Packet types
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = (
    8, 9, 10, 11, 12, 13, 14, 15)
TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

# Protocol levels
V31, V311, V5 = 3, 4, 5

# MQTT 5 property identifiers
PAYLOAD_FORMAT_INDICATOR = 0x01
MESSAGE_EXPIRY_INTERVAL = 0x02
CONTENT_TYPE = 0x03
RESPONSE_TOPIC = 0x08
CORRELATION_DATA = 0x09
SUBSCRIPTION_IDENTIFIER = 0x0B
SESSION_EXPIRY_INTERVAL = 0x11
ASSIGNED_CLIENT_IDENTIFIER = 0x12
SERVER_KEEP_ALIVE = 0x13
AUTHENTICATION_METHOD = 0x15
AUTHENTICATION_DATA = 0x16
REQUEST_PROBLEM_INFORMATION = 0x17
WILL_DELAY_INTERVAL = 0x18
REQUEST_RESPONSE_INFORMATION = 0x19
RESPONSE_INFORMATION = 0x1A
SERVER_REFERENCE = 0x1C
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
TOPIC_ALIAS_MAXIMUM = 0x22
TOPIC_ALIAS = 0x23
MAXIMUM_QOS = 0x24
RETAIN_AVAILABLE = 0x25
USER_PROPERTY = 0x26
MAXIMUM_PACKET_SIZE = 0x27
WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
SHARED_SUBSCRIPTION_AVAILABLE = 0x2A

_BYTE, _U16, _U32, _VAR, _STR, _BIN, _PAIR = "byte", "u16", "u32", "var", "str", "bin", "pair"
PROP_TYPES = {
    0x01: _BYTE, 0x02: _U32, 0x03: _STR, 0x08: _STR, 0x09: _BIN, 0x0B: _VAR, 0x11: _U32,
    0x12: _STR, 0x13: _U16, 0x15: _STR, 0x16: _BIN, 0x17: _BYTE, 0x18: _U32, 0x19: _BYTE,
    0x1A: _STR, 0x1C: _STR, 0x1F: _STR, 0x21: _U16, 0x22: _U16, 0x23: _U16, 0x24: _BYTE,
    0x25: _BYTE, 0x26: _PAIR, 0x27: _U32, 0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}
# Properties that may appear more than once; decoded as lists.
MULTI_PROPS = {USER_PROPERTY, SUBSCRIPTION_IDENTIFIER}


class MalformedPacket(Exception):
    pass


class Closed(Exception):
    """The broker closed the connection."""


class Timeout(AssertionError):
    """Nothing (or not enough) arrived before the deadline."""


# ---------------------------------------------------------------- primitive encoders

def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def u16(n):
    return struct.pack("!H", n)


def u32(n):
    return struct.pack("!I", n)


def mqstr(s):
    """Length-prefixed string; `s` may be str (UTF-8 encoded) or raw bytes (sent as is)."""
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return u16(len(b)) + b


def props(items=None):
    """Encode MQTT 5 properties. `items` is a list of (id, value) pairs (duplicates allowed, so
    bad packets can be built) or a dict. User property values are (name, value) tuples."""
    if items is None:
        items = []
    if isinstance(items, dict):
        items = list(items.items())
    body = bytearray()
    for pid, val in items:
        body += varint(pid)
        t = PROP_TYPES[pid]
        if t == _BYTE:
            body.append(val)
        elif t == _U16:
            body += u16(val)
        elif t == _U32:
            body += u32(val)
        elif t == _VAR:
            body += varint(val)
        elif t in (_STR, _BIN):
            body += mqstr(val)
        else:
            body += mqstr(val[0]) + mqstr(val[1])
    return varint(len(body)) + bytes(body)


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + bytes(body)


# ---------------------------------------------------------------- packet encoders

def connect(client_id="", version=V311, clean=True, keepalive=60, will=None, username=None,
            password=None, properties=None, proto_name=None, proto_level=None, flags_extra=0):
    """CONNECT. `will` = dict(topic, payload, qos=0, retain=False, properties=None)."""
    if proto_name is None:
        proto_name = "MQIsdp" if version == V31 else "MQTT"
    if proto_level is None:
        proto_level = version
    flags = flags_extra
    if clean:
        flags |= 0x02
    if will is not None:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = bytearray(mqstr(proto_name) + bytes([proto_level, flags]) + u16(keepalive))
    if version == V5:
        body += props(properties)
    body += mqstr(client_id)
    if will is not None:
        if version == V5:
            body += props(will.get("properties"))
        body += mqstr(will["topic"]) + mqstr(will["payload"])
    if username is not None:
        body += mqstr(username)
    if password is not None:
        body += mqstr(password)
    return packet(CONNECT, 0, body)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, pid=None, version=V311,
            properties=None):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = bytearray(mqstr(topic))
    if qos > 0:
        body += u16(pid)
    if version == V5:
        body += props(properties)
    body += payload
    return packet(PUBLISH, flags, body)


def _ack(ptype, flags, pid, version, reason=None, properties=None):
    body = bytearray(u16(pid))
    if version == V5 and (reason not in (None, 0) or properties):
        body.append(reason or 0)
        if properties:
            body += props(properties)
    return packet(ptype, flags, body)


def puback(pid, version=V311, reason=None, properties=None):
    return _ack(PUBACK, 0, pid, version, reason, properties)


def pubrec(pid, version=V311, reason=None, properties=None):
    return _ack(PUBREC, 0, pid, version, reason, properties)


def pubrel(pid, version=V311, reason=None, properties=None, flags=0x02):
    return _ack(PUBREL, flags, pid, version, reason, properties)


def pubcomp(pid, version=V311, reason=None, properties=None):
    return _ack(PUBCOMP, 0, pid, version, reason, properties)


def sub_options(qos=0, no_local=False, rap=False, rh=0):
    return qos | (4 if no_local else 0) | (8 if rap else 0) | (rh << 4)


def subscribe(pid, topics, version=V311, properties=None, flags=0x02):
    """`topics` = list of (filter, options byte) or a single filter string (QoS 0)."""
    if isinstance(topics, str):
        topics = [(topics, 0)]
    body = bytearray(u16(pid))
    if version == V5:
        body += props(properties)
    for f, opts in topics:
        body += mqstr(f) + bytes([opts])
    return packet(SUBSCRIBE, flags, body)


def unsubscribe(pid, filters, version=V311, properties=None, flags=0x02):
    if isinstance(filters, str):
        filters = [filters]
    body = bytearray(u16(pid))
    if version == V5:
        body += props(properties)
    for f in filters:
        body += mqstr(f)
    return packet(UNSUBSCRIBE, flags, body)


def pingreq():
    return b"\xc0\x00"


def disconnect(version=V311, reason=0, properties=None):
    if version != V5 or (reason == 0 and not properties):
        return b"\xe0\x00"
    body = bytes([reason]) + (props(properties) if properties else b"")
    return packet(DISCONNECT, 0, body)


def auth(reason=0, properties=None):
    return packet(AUTH, 0, bytes([reason]) + props(properties))


# ---------------------------------------------------------------- decoding

def read_varint(buf, pos):
    mult, val = 1, 0
    for i in range(4):
        if pos >= len(buf):
            raise MalformedPacket("varint runs past the packet")
        b = buf[pos]
        pos += 1
        val += (b & 0x7F) * mult
        if not b & 0x80:
            return val, pos
        mult *= 128
    raise MalformedPacket("varint longer than 4 bytes")


def _read_str(buf, pos, raw=False):
    if pos + 2 > len(buf):
        raise MalformedPacket("string length past packet")
    n = struct.unpack_from("!H", buf, pos)[0]
    pos += 2
    if pos + n > len(buf):
        raise MalformedPacket("string past packet")
    b = bytes(buf[pos:pos + n])
    return (b if raw else b.decode("utf-8")), pos + n


def read_props(buf, pos):
    length, pos = read_varint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise MalformedPacket("properties past packet")
    out = {}
    while pos < end:
        pid, pos = read_varint(buf, pos)
        t = PROP_TYPES.get(pid)
        if t is None:
            raise MalformedPacket("unknown property %#x" % pid)
        if t == _BYTE:
            val = buf[pos]
            pos += 1
        elif t == _U16:
            val = struct.unpack_from("!H", buf, pos)[0]
            pos += 2
        elif t == _U32:
            val = struct.unpack_from("!I", buf, pos)[0]
            pos += 4
        elif t == _VAR:
            val, pos = read_varint(buf, pos)
        elif t == _STR:
            val, pos = _read_str(buf, pos)
        elif t == _BIN:
            val, pos = _read_str(buf, pos, raw=True)
        else:
            k, pos = _read_str(buf, pos)
            v, pos = _read_str(buf, pos)
            val = (k, v)
        if pid in MULTI_PROPS:
            out.setdefault(pid, []).append(val)
        elif pid in out:
            raise MalformedPacket("duplicate property %#x" % pid)
        else:
            out[pid] = val
    if pos != end:
        raise MalformedPacket("property length mismatch")
    return out, end


class Packet:
    """A decoded packet. Always has: type, flags, raw (all bytes), body. Per type:
    CONNACK: session_present, reason, props; PUBLISH: topic, payload, qos, retain, dup, pid, props;
    PUBACK..PUBCOMP: pid, reason, props; SUBACK/UNSUBACK: pid, props, codes;
    DISCONNECT/AUTH: reason, props."""

    def __init__(self, ptype, flags, body, raw, version):
        self.type, self.flags, self.body, self.raw = ptype, flags, body, raw
        self.props = {}
        self.reason = 0
        b = body
        if ptype == CONNACK:
            if len(b) < 2:
                raise MalformedPacket("short CONNACK")
            self.session_present = bool(b[0] & 1)
            self.reason = b[1]
            if version == V5 and len(b) > 2:
                self.props, _ = read_props(b, 2)
        elif ptype == PUBLISH:
            self.qos = (flags >> 1) & 3
            self.retain = bool(flags & 1)
            self.dup = bool(flags & 8)
            topic, pos = _read_str(b, 0)
            self.topic = topic
            self.pid = None
            if self.qos:
                self.pid = struct.unpack_from("!H", b, pos)[0]
                pos += 2
            if version == V5:
                self.props, pos = read_props(b, pos)
            self.payload = bytes(b[pos:])
        elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            self.pid = struct.unpack_from("!H", b, 0)[0]
            if len(b) > 2:
                self.reason = b[2]
            if len(b) > 3:
                self.props, _ = read_props(b, 3)
        elif ptype in (SUBACK, UNSUBACK):
            self.pid = struct.unpack_from("!H", b, 0)[0]
            pos = 2
            if version == V5:
                self.props, pos = read_props(b, pos)
            self.codes = list(b[pos:])
        elif ptype in (DISCONNECT, AUTH):
            if len(b) >= 1:
                self.reason = b[0]
            if len(b) > 1:
                self.props, _ = read_props(b, 1)

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    def __repr__(self):
        extra = ""
        if self.type == PUBLISH:
            extra = " %r q%d r%d d%d pid=%r %r props=%r" % (
                self.topic, self.qos, self.retain, self.dup, self.pid, self.payload[:40],
                self.props)
        elif self.type in (CONNACK, DISCONNECT, AUTH):
            extra = " reason=%#x props=%r" % (self.reason, self.props)
        elif self.type in (SUBACK, UNSUBACK):
            extra = " pid=%d codes=%r" % (self.pid, self.codes)
        elif self.type in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            extra = " pid=%d reason=%#x" % (self.pid, self.reason)
        return "<%s%s raw=%s>" % (self.name, extra, self.raw[:24].hex())


# ---------------------------------------------------------------- socket wrapper

class Conn:
    """A TCP connection to the broker. Every read has a deadline."""

    def __init__(self, port, version=V311, host="127.0.0.1", timeout=5.0, rcvbuf=None):
        self.version = version
        if rcvbuf is None:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        else:  # a small receive window, set before connecting (it is negotiated then)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pending = []       # PUBLISHes read while waiting for an ack (see _expect_ack)
        self.closed = False
        self._pid = 0

    def next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("timed out waiting for data (have %d bytes, want %d)"
                              % (len(self.buf), n))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                raise Closed("connection closed by broker (%d stray bytes)" % len(self.buf))
            self.buf += chunk

    def recv(self, timeout=5.0):
        """Read one whole packet; raises Timeout or Closed."""
        if self.pending:
            return self.pending.pop(0)
        return self._read_packet(timeout)

    def _expect_ack(self, ptype, timeout=5.0):
        """Like expect(), but PUBLISH packets arriving first are kept for later recv()."""
        deadline = time.monotonic() + timeout
        while True:
            p = self._read_packet(max(0.0, deadline - time.monotonic()))
            if p.type == PUBLISH and ptype != PUBLISH:
                self.pending.append(p)
                continue
            assert p.type == ptype, "expected %s, got %r" % (TYPE_NAMES[ptype], p)
            return p

    def _read_packet(self, timeout):
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        pos = 1
        length, mult = 0, 1
        while True:
            self._fill(pos + 1, deadline)
            b = self.buf[pos]
            pos += 1
            length += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
            if pos > 4:
                raise MalformedPacket("broker sent a bad remaining length")
        self._fill(pos + length, deadline)
        raw = bytes(self.buf[:pos + length])
        del self.buf[:pos + length]
        return Packet(raw[0] >> 4, raw[0] & 0x0F, raw[pos:], raw, self.version)

    def expect(self, ptype, timeout=5.0):
        p = self.recv(timeout)
        assert p.type == ptype, "expected %s, got %r" % (TYPE_NAMES[ptype], p)
        return p

    def expect_closed(self, timeout=5.0):
        """Read until the broker closes; return the packets that came first.
        Fails if the connection is still open at the deadline."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                got.append(self.recv(max(0.0, deadline - time.monotonic())))
            except Closed:
                return got
            except Timeout:
                raise Timeout("connection still open after %.1fs; got %r" % (timeout, got))

    def expect_silence(self, duration):
        """Assert that nothing arrives (and the connection stays open) for `duration` s."""
        try:
            p = self.recv(duration)
        except Timeout:
            return
        raise AssertionError("expected nothing, got %r" % p)

    def is_open(self):
        return not self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- conveniences

    def handshake(self, client_id="", clean=True, keepalive=60, expect_reason=0, **kw):
        self.send(connect(client_id, version=self.version, clean=clean, keepalive=keepalive,
                          **kw))
        ack = self.expect(CONNACK)
        assert ack.reason == expect_reason, "CONNACK %r" % ack
        return ack

    def sub(self, topics, qos=0, properties=None, opts=None):
        """SUBSCRIBE and wait for the SUBACK; returns the SUBACK packet."""
        if isinstance(topics, str):
            topics = [(topics, qos if opts is None else opts)]
        pid = self.next_pid()
        self.send(subscribe(pid, topics, self.version, properties))
        ack = self._expect_ack(SUBACK)
        assert ack.pid == pid
        return ack

    def pub(self, topic, payload=b"", qos=0, retain=False, properties=None):
        """PUBLISH and complete the QoS flow as the sender. Returns the last ack (or None)."""
        pid = self.next_pid() if qos else None
        self.send(publish(topic, payload, qos, retain, pid=pid, version=self.version,
                          properties=properties))
        if qos == 1:
            ack = self._expect_ack(PUBACK)
            assert ack.pid == pid
            return ack
        if qos == 2:
            rec = self._expect_ack(PUBREC)
            assert rec.pid == pid
            self.send(pubrel(pid, self.version))
            comp = self._expect_ack(PUBCOMP)
            assert comp.pid == pid
            return comp
        return None

    def recv_publish(self, timeout=5.0, ack=True):
        """Next PUBLISH; acknowledges QoS 1/2 (completing QoS 2) when `ack`."""
        p = self.expect(PUBLISH, timeout)
        if ack and p.qos == 1:
            self.send(puback(p.pid, self.version))
        elif ack and p.qos == 2:
            self.send(pubrec(p.pid, self.version))
            rel = self.expect(PUBREL, timeout)
            assert rel.pid == p.pid and rel.flags == 0x2
            self.send(pubcomp(p.pid, self.version))
        return p

    def publishes_until(self, marker_topic, timeout=5.0):
        """Collect PUBLISHes until one on `marker_topic`; return those before it. Acks QoS 1,
        answers QoS 2 with PUBREC and any PUBREL with PUBCOMP, without blocking on either."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            p = self.recv(max(0.0, deadline - time.monotonic()))
            if p.type == PUBREL:
                self.send(pubcomp(p.pid, self.version))
                continue
            assert p.type == PUBLISH, "expected PUBLISH, got %r" % p
            if p.qos == 1:
                self.send(puback(p.pid, self.version))
            elif p.qos == 2:
                self.send(pubrec(p.pid, self.version))
            if p.topic == marker_topic:
                return got
            got.append(p)

    def disconnect(self):
        try:
            self.send(disconnect(self.version))
        except OSError:
            pass
        self.close()


def client(port, client_id="", version=V311, **kw):
    """Open a connection and complete a successful CONNECT/CONNACK."""
    c = Conn(port, version)
    c.connack = c.handshake(client_id, **kw)
    return c
