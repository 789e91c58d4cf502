"""Bad input (the classes listed in ARCHITECTURE.md, "Errors and hostile input"): each offending connection is closed (or answered
with a spec-allowed reason code) and the broker keeps serving everyone else."""

import socket
import time

import pytest

import mqttraw as mr
from brokers import assert_broker_alive

V311, V5 = mr.V311, mr.V5
DISC = mr.DISCONNECT


def rejected(port, version, data, allowed=(), connect_first=True):
    """Send `data` (after a successful CONNECT unless told otherwise); the broker must close
    the connection, sending at most one packet first, which must be in `allowed`
    ((type, reason) pairs). Then another client must be served normally."""
    c = mr.client(port, "bad-%d" % version, version=version) if connect_first \
        else mr.Conn(port, version)
    try:
        try:
            c.send(data)
        except OSError:
            pass
        got = c.expect_closed(3)
        seen = [(p.type, p.reason) for p in got]
        assert len(seen) <= 1 and all(s in allowed for s in seen), seen
    finally:
        c.close()
    assert_broker_alive(port)
    return got


def pub_body(topic_bytes, rest=b""):
    return mr.u16(len(topic_bytes)) + topic_bytes + rest


# ---------------------------------------------------------------- fixed header and lengths

def test_five_byte_remaining_length_before_connect(port):
    rejected(port, V311, b"\x10\xff\xff\xff\xff\x01", connect_first=False)


def test_five_byte_remaining_length_after_connect(port):
    rejected(port, V311, b"\x30\xff\xff\xff\xff\x01")


def test_five_byte_remaining_length_v5(port):
    rejected(port, V5, b"\x30\x80\x80\x80\x80\x01", allowed=[(DISC, 0x81)])


def test_oversize_connect_closed_promptly_with_max_packet_size(start_broker):
    b = start_broker("max_packet_size 1000\n")
    c = mr.Conn(b.port)
    t0 = time.monotonic()
    # CONNECT announcing 100 MB; the body never comes. The broker must not wait for it.
    c.send(b"\x10" + mr.varint(100_000_000) + b"\x00\x04MQTT\x04\x02\x00\x3c")
    assert c.expect_closed(2.0) == []
    assert time.monotonic() - t0 < 2.0
    c.close()
    assert_broker_alive(b.port)


def test_oversize_publish_v5_disconnect_0x95(start_broker):
    b = start_broker("max_packet_size 1000\n")
    c = mr.client(b.port, "big5", version=V5)
    assert c.connack.props.get(mr.MAXIMUM_PACKET_SIZE) == 1000
    c.send(mr.publish("big/t", b"x" * 2000, version=V5))
    got = c.expect_closed(3)
    assert [(p.type, p.reason) for p in got] in ([], [(DISC, 0x95)])
    c.close()
    assert_broker_alive(b.port)


# Mosquitto 2.0.11 has no default packet limit (max_packet_size 0) and allocates what the
# header announces; mq bounds packets by default (like Mosquitto 2.1's 2,000,000), so a
# huge announced CONNECT is refused without reading or allocating the body.
@pytest.mark.mq_only
def test_oversize_connect_closed_promptly_by_default(port):
    c = mr.Conn(port)
    c.send(b"\x10" + mr.varint(268_435_455) + b"\x00\x04MQTT\x04\x02\x00\x3c")
    assert c.expect_closed(2.0) == []
    c.close()
    assert_broker_alive(port)


def test_truncated_connect_at_every_offset(port):
    full = mr.connect("trunc-client", will={"topic": "t/w", "payload": b"w"})
    for k in range(1, len(full)):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(full[:k])
    assert_broker_alive(port)


def test_truncated_publish_then_close(port):
    c = mr.client(port, "trunc-pub")
    c.send(mr.publish("tp/t", b"payload", qos=1, pid=1)[:-3])
    c.close()
    assert_broker_alive(port)


def test_stalled_partial_packet_does_not_block_others(port, conns):
    c = conns(mr.client(port, "stall"))
    c.send(b"\x30" + mr.varint(1000) + b"\x00\x03a/b")   # 995 bytes never arrive
    assert_broker_alive(port)


@pytest.mark.parametrize("data", [b"\x30\x00", b"\x82\x00", b"\xa2\x00", b"\x62\x00"],
                         ids=["publish", "subscribe", "unsubscribe", "pubrel"])
def test_zero_remaining_length_for_packet_with_body(port, data):
    rejected(port, V311, data)


def test_zero_length_connect(port):
    rejected(port, V311, b"\x10\x00", connect_first=False)


@pytest.mark.parametrize("data", [b"\x00\x00", b"\x00\x02\x00\x01"], ids=["empty", "body"])
def test_reserved_packet_type_0(port, data):
    rejected(port, V311, data)


def test_packet_type_15_in_v311(port):
    rejected(port, V311, b"\xf0\x00")


@pytest.mark.parametrize("data", [b"\x60\x02\x00\x01", b"\x63\x02\x00\x01"],
                         ids=["flags0", "flags3"])
def test_pubrel_wrong_flags(port, data):
    rejected(port, V311, data)


def test_subscribe_wrong_flags(port):
    rejected(port, V311, mr.subscribe(1, "a/b", flags=0))


def test_unsubscribe_wrong_flags(port):
    rejected(port, V311, mr.unsubscribe(1, "a/b", flags=0))


def test_publish_qos_3(port):
    data = mr.packet(mr.PUBLISH, 0x06, pub_body(b"q/3", mr.u16(1) + b"x"))
    rejected(port, V311, data)


def test_publish_qos_3_v5(port):
    data = mr.packet(mr.PUBLISH, 0x06, pub_body(b"q/3", mr.u16(1) + b"\x00x"))
    rejected(port, V5, data, allowed=[(DISC, 0x81)])


def test_publish_qos1_packet_id_0(port):
    data = mr.packet(mr.PUBLISH, 0x02, pub_body(b"q/1", mr.u16(0) + b"x"))
    rejected(port, V311, data)


# ---------------------------------------------------------------- strings and topics

def test_string_length_past_packet(port):
    data = mr.packet(mr.PUBLISH, 0, mr.u16(100) + b"short")
    rejected(port, V311, data)


def test_connect_client_id_length_past_packet(port):
    body = mr.mqstr("MQTT") + b"\x04\x02\x00\x3c" + mr.u16(50) + b"abc"
    rejected(port, V311, mr.packet(mr.CONNECT, 0, body), connect_first=False)


def test_empty_topic_publish_v311(port):
    rejected(port, V311, mr.publish("", b"x"))


def test_empty_topic_without_alias_v5(port):
    rejected(port, V5, mr.publish("", b"x", version=V5), allowed=[(DISC, 0x82)])


@pytest.mark.parametrize("topic", ["a/+", "a/#", "+", "#", "a/+/b"])
def test_wildcard_in_publish_topic(port, topic):
    rejected(port, V311, mr.publish(topic, b"x"))


@pytest.mark.parametrize("topic", ["a/+", "a/#"])
def test_wildcard_in_publish_topic_v5(port, topic):
    rejected(port, V5, mr.publish(topic, b"x", version=V5), allowed=[(DISC, 0x90), (DISC, 0x82)])


@pytest.mark.parametrize("topic", [b"a\x00b", b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80",
                                   b"a/\xe2\x82"],
                         ids=["nul", "invalid", "overlong", "surrogate", "truncated-seq"])
def test_bad_utf8_in_publish_topic(port, topic):
    rejected(port, V311, mr.packet(mr.PUBLISH, 0, pub_body(topic, b"x")))


@pytest.mark.parametrize("topic", [b"a\x00b", b"\xff\xfe", b"\xed\xa0\x80"],
                         ids=["nul", "invalid", "surrogate"])
def test_bad_utf8_in_subscribe_filter(port, topic):
    rejected(port, V311, mr.packet(mr.SUBSCRIBE, 2, mr.u16(1) + mr.mqstr(topic) + b"\x00"))


def test_bad_utf8_in_client_id(port):
    body = mr.mqstr("MQTT") + b"\x04\x02\x00\x3c" + mr.mqstr(b"id\xff")
    rejected(port, V311, mr.packet(mr.CONNECT, 0, body), connect_first=False)


def test_bom_in_topic_is_kept(port, conns):
    topic = "\ufeffbom/t"
    s = conns(mr.client(port, "bom-sub"))
    s.sub(topic, 0)
    p = conns(mr.client(port, "bom-pub"))
    p.pub(topic, b"x", qos=1)
    got = s.recv_publish()
    assert got.topic == topic


def test_many_topic_levels(port, conns):
    """20,000 levels: delivered, or the publisher is disconnected; the broker survives."""
    deep = "/".join(["l"] * 20000)
    s = conns(mr.client(port, "deep-sub"))
    s.sub([("l/#", 0), ("marker", 0)])
    p = conns(mr.client(port, "deep-pub"))
    p.send(mr.publish(deep, b"deep"))
    p.send(mr.pingreq())
    try:
        answer = p.recv(5)
        assert answer.type == mr.PINGRESP
    except mr.Closed:
        pass          # Mosquitto 2.0.11 drops the publisher (topic hierarchy limit)
    m = conns(mr.client(port, "deep-marker"))
    m.send(mr.publish("marker", b""))
    got = s.publishes_until("marker", timeout=10)
    assert [x.topic for x in got] in ([], [deep])
    if p.is_open():
        assert [x.topic for x in got] == [deep]
    assert_broker_alive(port)


BAD_FILTERS = ["a/#/b", "a/b#", "a+/b", "a/+b", "#/"]
BAD_SHARES = ["$share/ab", "$share//t", "$share/a+b/t", "$share/g/", "$share/a#/t"]


# $share forms that are invalid in MQTT 5 (MQTT-4.8.2-1/2) but plain valid filters in 3.1.1.
SHARE_NOT_WILDCARD = ["$share/ab", "$share//t", "$share/g/"]
# Invalid in every version: a wildcard sharing a level with other characters.
SHARE_WILDCARD = ["$share/a+b/t", "$share/a#/t"]


def _subscribe_answer(port, version, filt):
    c = mr.client(port, "badfilt%d" % version, version=version)
    try:
        c.send(mr.subscribe(1, [(filt, 0)], version=version))
        try:
            p = c.recv(3)
        except mr.Closed:
            return None
        if p.type != mr.SUBACK:
            c.expect_closed(3)
        return p
    finally:
        c.close()


@pytest.mark.parametrize("filt", BAD_FILTERS + SHARE_WILDCARD)
def test_invalid_filter_v311(port, filt):
    """3.1.1: close the connection, or answer SUBACK 0x80 (failure)."""
    p = _subscribe_answer(port, V311, filt)
    assert p is None or (p.type == mr.SUBACK and p.codes == [0x80]), p
    assert_broker_alive(port)


@pytest.mark.parametrize("filt", SHARE_NOT_WILDCARD)
def test_share_like_filter_v311_survives(port, filt):
    p = _subscribe_answer(port, V311, filt)
    assert p is None or (p.type == mr.SUBACK and p.codes[0] in (0, 0x80)), p
    assert_broker_alive(port)


def _check_invalid_filter_v5(port, filt):
    """5.0: SUBACK 0x8F (topic filter invalid), or DISCONNECT 0x8F / 0x82 / 0x81, or close."""
    p = _subscribe_answer(port, V5, filt)
    if p is not None and p.type == mr.SUBACK:
        assert p.codes == [0x8F], p
    elif p is not None:
        assert (p.type, p.reason) in [(DISC, 0x8F), (DISC, 0x82), (DISC, 0x81)], p
    assert_broker_alive(port)


@pytest.mark.parametrize("filt", BAD_FILTERS + SHARE_WILDCARD)
def test_invalid_filter_v5(port, filt):
    _check_invalid_filter_v5(port, filt)


# Mosquitto 2.0.11 grants these with reason 0 to MQTT 5 clients; MQTT 5 §4.8.2
# (MQTT-4.8.2-1, -2) requires a non-empty ShareName followed by "/" and a topic filter.
@pytest.mark.mq_only
@pytest.mark.parametrize("filt", SHARE_NOT_WILDCARD)
def test_invalid_share_filter_v5(port, filt):
    _check_invalid_filter_v5(port, filt)


def test_subscribe_without_topics(port):
    rejected(port, V311, b"\x82\x02\x00\x01")


def test_subscribe_cut_before_options_byte(port):
    rejected(port, V311, mr.packet(mr.SUBSCRIBE, 2, mr.u16(1) + mr.mqstr("a/b")))


def test_unsubscribe_without_topics(port):
    rejected(port, V311, b"\xa2\x02\x00\x01")


def test_subscribe_qos_3_v311(port):
    rejected(port, V311, mr.subscribe(1, [("a/b", 3)]))


def test_subscribe_reserved_option_bits_v5(port):
    rejected(port, V5, mr.subscribe(1, [("a/b", 0xC0)], version=V5),
             allowed=[(DISC, 0x81), (DISC, 0x82)])


def test_subscribe_retain_handling_3_v5(port):
    rejected(port, V5, mr.subscribe(1, [("a/b", 0x30)], version=V5),
             allowed=[(DISC, 0x81), (DISC, 0x82)])


# Mosquitto 2.0.11 grants it; MQTT 5 §3.8.3.1 (MQTT-3.8.3-4): a Protocol Error.
@pytest.mark.mq_only
def test_no_local_on_shared_subscription_v5(port):
    rejected(port, V5, mr.subscribe(1, [("$share/g/a", mr.sub_options(no_local=True))],
                                    version=V5), allowed=[(DISC, 0x82)])


# ---------------------------------------------------------------- CONNECT flags

@pytest.mark.parametrize("flags", [0x03, 0x1C, 0x22, 0x0A],
                         ids=["reserved-bit", "will-qos-3", "will-retain-no-will",
                              "will-qos-no-will"])
def test_connect_bad_flags(port, flags):
    body = mr.mqstr("MQTT") + bytes([4, flags]) + mr.u16(60) + mr.mqstr("badflags")
    if flags & 0x04:
        body += mr.mqstr("w/t") + mr.mqstr("w")
    rejected(port, V311, mr.packet(mr.CONNECT, 0, body), connect_first=False)


def test_connect_password_without_username_v311(port):
    body = mr.mqstr("MQTT") + bytes([4, 0x42]) + mr.u16(60) + mr.mqstr("pwonly") + \
        mr.mqstr("secret")
    rejected(port, V311, mr.packet(mr.CONNECT, 0, body), connect_first=False)


def test_will_topic_with_wildcard(port):
    data = mr.connect("willwild", will={"topic": "w/#", "payload": b"x"})
    rejected(port, V311, data, connect_first=False)


# ---------------------------------------------------------------- MQTT 5 properties

def test_duplicate_property_in_connect(port):
    data = mr.connect("dupprop", version=V5, properties=[
        (mr.SESSION_EXPIRY_INTERVAL, 10), (mr.SESSION_EXPIRY_INTERVAL, 20)])
    rejected(port, V5, data, allowed=[(mr.CONNACK, 0x82), (mr.CONNACK, 0x81)],
             connect_first=False)


def test_duplicate_property_in_publish(port):
    data = mr.publish("dp/t", b"x", version=V5, properties=[
        (mr.MESSAGE_EXPIRY_INTERVAL, 10), (mr.MESSAGE_EXPIRY_INTERVAL, 20)])
    rejected(port, V5, data, allowed=[(DISC, 0x82), (DISC, 0x81)])


# Mosquitto 2.0.11 ignores it; MQTT 5 §3.3.4 (MQTT-3.3.4-6) forbids it from a client, i.e. a
# Protocol Error (0x82) ending the connection.
@pytest.mark.mq_only
def test_subscription_identifier_in_client_publish(port):
    data = mr.publish("si/t", b"x", version=V5, properties={mr.SUBSCRIPTION_IDENTIFIER: 5})
    rejected(port, V5, data, allowed=[(DISC, 0x82), (DISC, 0x81)])


def test_property_not_allowed_in_connect(port):
    # Topic Alias is a PUBLISH property.
    data = mr.connect("wrongprop", version=V5, properties={mr.TOPIC_ALIAS: 1})
    rejected(port, V5, data, allowed=[(mr.CONNACK, 0x82), (mr.CONNACK, 0x81)],
             connect_first=False)


def test_property_length_past_packet(port):
    body = mr.u16(4) + b"pl/t" + mr.varint(50) + b"\x01\x01"
    rejected(port, V5, mr.packet(mr.PUBLISH, 0, body), allowed=[(DISC, 0x81)])


def test_topic_alias_0(port):
    data = mr.publish("ta/t", b"x", version=V5, properties={mr.TOPIC_ALIAS: 0})
    # 0x94 Topic Alias invalid; Mosquitto 2.0.11 answers 0x81 (malformed), also acceptable.
    rejected(port, V5, data, allowed=[(DISC, 0x94), (DISC, 0x82), (DISC, 0x81)])


def test_topic_alias_when_none_negotiated(start_broker):
    b = start_broker("max_topic_alias 0\n")
    c = mr.client(b.port, "noalias", version=V5)
    assert c.connack.props.get(mr.TOPIC_ALIAS_MAXIMUM, 0) == 0
    c.close()
    rejected(b.port, V5, mr.publish("ta/t", b"x", version=V5, properties={mr.TOPIC_ALIAS: 1}),
             allowed=[(DISC, 0x94)])


def test_topic_alias_not_carried_across_connections(port, conns):
    c = mr.client(port, "alias-carry", version=V5)
    c.pub("ac/t", b"x", qos=1, properties={mr.TOPIC_ALIAS: 1})
    c.disconnect()
    rejected(port, V5, mr.publish("", b"x", version=V5, properties={mr.TOPIC_ALIAS: 1}),
             allowed=[(DISC, 0x82)])


def test_receive_maximum_0(port):
    data = mr.connect("rm0", version=V5, properties={mr.RECEIVE_MAXIMUM: 0})
    rejected(port, V5, data, allowed=[(mr.CONNACK, 0x82)], connect_first=False)


def test_maximum_packet_size_0(port):
    data = mr.connect("mps0", version=V5, properties={mr.MAXIMUM_PACKET_SIZE: 0})
    rejected(port, V5, data, allowed=[(mr.CONNACK, 0x82)], connect_first=False)


def test_will_with_publish_only_property_types_wrong(port):
    # Subscription Identifier is not a will property.
    will = {"topic": "w/t", "payload": b"x", "properties": {mr.SUBSCRIPTION_IDENTIFIER: 1}}
    data = mr.connect("badwillprop", version=V5, will=will)
    rejected(port, V5, data, allowed=[(mr.CONNACK, 0x82), (mr.CONNACK, 0x81)],
             connect_first=False)


def test_many_user_properties(port, conns):
    s = conns(mr.client(port, "up-sub", version=V5))
    s.sub("up/t", 0)
    p = conns(mr.client(port, "up-pub", version=V5))
    items = [(mr.USER_PROPERTY, ("k", "v%d" % i)) for i in range(10000)]
    p.send(mr.publish("up/t", b"x", version=V5, properties=items))
    got = s.recv_publish(10)
    assert len(got.props[mr.USER_PROPERTY]) == 10000
    assert_broker_alive(port)


# ---------------------------------------------------------------- state machine

def test_connack_from_client(port):
    rejected(port, V311, b"\x20\x02\x00\x00")


# Mosquitto 2.0.11 silently ignores SUBACK / UNSUBACK / PINGRESP from a normal client (it
# has handlers for them because of bridges); receiving a server-only packet is a protocol
# violation that closes the connection (MQTT 3.1.1 §4.8, MQTT 5 §4.13).
@pytest.mark.mq_only
@pytest.mark.parametrize("data", [b"\x90\x03\x00\x01\x00", b"\xb0\x02\x00\x01", b"\xd0\x00"],
                         ids=["suback", "unsuback", "pingresp"])
def test_server_only_packet_from_client(port, data):
    rejected(port, V311, data)


def test_connack_from_client_v5(port):
    rejected(port, V5, b"\x20\x03\x00\x00\x00", allowed=[(DISC, 0x82)])


def test_auth_without_method_after_connect(port):
    rejected(port, V5, mr.auth(0x18), allowed=[(DISC, 0x82)])


def test_auth_before_connect(port):
    rejected(port, V5, mr.auth(0x18), connect_first=False)


def test_second_connect_with_garbage_still_closes(port):
    rejected(port, V311, mr.connect("again") + b"\xff" * 10)


def test_pubrel_flood_unknown_ids(port, conns):
    c = conns(mr.client(port, "relflood"))
    c.send(b"".join(mr.pubrel(i) for i in range(1, 2001)))
    got = [c.recv(5) for _ in range(2000)]
    assert all(p.type == mr.PUBCOMP for p in got)
    assert [p.pid for p in got] == list(range(1, 2001))
    assert_broker_alive(port)


def test_connect_and_send_nothing_does_not_block(port, conns):
    idle = [conns(mr.Conn(port)) for _ in range(20)]
    assert idle
    assert_broker_alive(port)


def test_unsubscribe_share_vs_plain_is_distinct(port, conns):
    c = conns(mr.client(port, "unsh", version=V5))
    c.sub("us/t", 0)
    pid = c.next_pid()
    c.send(mr.unsubscribe(pid, "$share/x/us/t", version=V5))
    ack = c.expect(mr.UNSUBACK)
    assert ack.codes == [0x11]
    pub = conns(mr.client(port, "unsh-pub"))
    pub.pub("us/t", b"still", qos=1)
    assert c.recv_publish().payload == b"still"


@pytest.mark.parametrize("text", ["a\tb", "a\x01b", "a\x7fb", "a\u0085b", "a\ufdd0b", "a\uffffb",
                                  "a\U0001ffffb"],
                         ids=["tab", "U+0001", "U+007F", "U+0085", "U+FDD0", "U+FFFF", "U+1FFFF"])
@pytest.mark.parametrize("version", [mr.V311, mr.V5], ids=["v311", "v5"])
def test_control_and_noncharacter_in_topic_is_malformed(port, version, text):
    # MQTT lets a receiver treat these as malformed; Mosquitto 2.0.11 does. Passing them on
    # would get libmosquitto subscribers disconnected.
    c = mr.client(port, "ctl-%d" % version, version=version)
    c.send(mr.publish(text, b"x", qos=1, pid=1, version=version))
    got = c.expect_closed(3)
    assert [(p.type, p.reason) for p in got] in ([], [(mr.DISCONNECT, 0x81)])
    assert_broker_alive(port)


def test_printable_latin1_and_bom_in_topic_are_fine(port, conns):
    s = conns(mr.client(port, "nbsp-sub"))
    s.sub("nb/#", 0)
    p = conns(mr.client(port, "nbsp-pub", version=mr.V5))
    for t in ["nb/a\u00a0b", "nb/\ufeffbom", "nb/\U0010fffd"]:
        assert p.pub(t, b"x", qos=1).reason in (0x00, 0x10)
        assert s.recv_publish().topic == t
