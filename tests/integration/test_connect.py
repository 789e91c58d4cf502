"""CONNECT / CONNACK, session takeover and keep alive, on raw sockets."""

import time

import pytest

import mqttraw as mr
from brokers import assert_broker_alive


def test_connect_v31_mqisdp_accepted(port, conns):
    c = conns(mr.Conn(port, mr.V31))
    c.send(mr.connect("v31client", version=mr.V31))
    ack = c.recv()
    assert ack.raw == b"\x20\x02\x00\x00"


def test_connect_v311_accepted(port, conns):
    c = conns(mr.Conn(port, mr.V311))
    c.send(mr.connect("v311client", version=mr.V311))
    ack = c.recv()
    assert ack.raw == b"\x20\x02\x00\x00"


def test_connect_v5_accepted(port, conns):
    c = conns(mr.Conn(port, mr.V5))
    c.send(mr.connect("v5client", version=mr.V5))
    ack = c.expect(mr.CONNACK)
    # fixed header 0x20, flags 0 (no session), reason 0 (success), then a property block
    assert ack.raw[0] == 0x20
    assert ack.body[0] == 0x00 and ack.body[1] == 0x00
    props, end = mr.read_props(ack.body, 2)
    assert end == len(ack.body)
    assert mr.ASSIGNED_CLIENT_IDENTIFIER not in props


def test_v311_bad_protocol_level_refused(port, conns):
    c = conns(mr.Conn(port, mr.V311))
    c.send(mr.connect("badlevel", version=mr.V311, proto_level=7))
    got = c.expect_closed(3)
    assert [p.raw for p in got] == [b"\x20\x02\x00\x01"]
    assert_broker_alive(port)


def test_mqisdp_with_level_4_refused(port, conns):
    c = conns(mr.Conn(port, mr.V311))
    c.send(mr.connect("mixed", version=mr.V31, proto_level=4))
    got = c.expect_closed(3)
    assert [p.raw for p in got] == [b"\x20\x02\x00\x01"]


def test_unknown_future_protocol_version_refused(port, conns):
    """Level 6 with a v5-shaped CONNECT: refused with 0x01 (3.1.1 form) or 0x84 (5.0 form,
    MQTT 5 §3.1.2.2), then closed."""
    c = conns(mr.Conn(port, mr.V5))
    c.send(mr.connect("v6client", version=mr.V5, proto_level=6))
    got = c.expect_closed(3)
    assert len(got) <= 1
    if got:
        assert got[0].raw in (b"\x20\x02\x00\x01", b"\x20\x03\x00\x84\x00") or (
            got[0].type == mr.CONNACK and got[0].body[1] == 0x84), got


def test_first_packet_not_connect_closes(port, conns):
    c = conns(mr.Conn(port))
    c.send(mr.pingreq())
    assert c.expect_closed(3) == []
    assert_broker_alive(port)


def test_first_packet_publish_closes(port, conns):
    c = conns(mr.Conn(port))
    c.send(mr.publish("no/connect", b"x"))
    assert c.expect_closed(3) == []


def test_second_connect_closes_v311(port, conns):
    c = conns(mr.client(port, "twice311"))
    c.send(mr.connect("twice311"))
    assert c.expect_closed(3) == []
    assert_broker_alive(port)


def test_second_connect_closes_v5(port, conns):
    c = conns(mr.client(port, "twice5", version=mr.V5))
    c.send(mr.connect("twice5", version=mr.V5))
    got = c.expect_closed(3)
    # MQTT 5 §3.1.0: protocol error; a DISCONNECT 0x82 before closing is allowed.
    assert got == [] or [(p.type, p.reason) for p in got] == [(mr.DISCONNECT, 0x82)], got


def test_empty_client_id_clean_v311_accepted(port, conns):
    c = conns(mr.Conn(port))
    c.send(mr.connect("", clean=True))
    assert c.recv().raw == b"\x20\x02\x00\x00"
    # and the connection is usable
    assert c.sub("empty/id", 0).codes == [0]


def test_empty_client_id_v5_gets_assigned_identifier(port, conns):
    c = conns(mr.Conn(port, mr.V5))
    c.send(mr.connect("", version=mr.V5, clean=True))
    ack = c.expect(mr.CONNACK)
    assert ack.reason == 0
    assigned = ack.props.get(mr.ASSIGNED_CLIENT_IDENTIFIER)
    assert assigned, ack
    # Two clients get different identifiers.
    c2 = conns(mr.Conn(port, mr.V5))
    c2.send(mr.connect("", version=mr.V5, clean=True))
    ack2 = c2.expect(mr.CONNACK)
    assert ack2.props.get(mr.ASSIGNED_CLIENT_IDENTIFIER) not in (None, assigned)


def test_empty_client_id_persistent_v311_rejected(port, conns):
    c = conns(mr.Conn(port))
    c.send(mr.connect("", clean=False))
    got = c.expect_closed(3)
    assert [p.raw for p in got] == [b"\x20\x02\x00\x02"]


def test_empty_client_id_v31_rejected(port, conns):
    # MQTT 3.1 requires a client id of 1..23 characters.
    c = conns(mr.Conn(port, mr.V31))
    c.send(mr.connect("", version=mr.V31, clean=True))
    got = c.expect_closed(3)
    assert [p.raw for p in got] == [b"\x20\x02\x00\x02"]


def test_v5_connack_properties_reflect_config(start_broker, conns):
    b = start_broker("max_topic_alias 5\nmax_inflight_messages 7\nmax_packet_size 5000\n")
    c = conns(mr.client(b.port, "props5", version=mr.V5))
    p = c.connack.props
    assert p.get(mr.TOPIC_ALIAS_MAXIMUM) == 5
    assert p.get(mr.RECEIVE_MAXIMUM) == 7
    assert p.get(mr.MAXIMUM_PACKET_SIZE) == 5000


def test_v5_connack_maximum_qos_and_retain_available(start_broker, conns):
    b = start_broker("max_qos 1\nretain_available false\n")
    c = conns(mr.client(b.port, "props5q", version=mr.V5))
    assert c.connack.props.get(mr.MAXIMUM_QOS) == 1
    assert c.connack.props.get(mr.RETAIN_AVAILABLE) == 0


def test_v5_connack_default_topic_alias_maximum(port, conns):
    c = conns(mr.client(port, "props5d", version=mr.V5))
    assert c.connack.props.get(mr.TOPIC_ALIAS_MAXIMUM) == 10
    # Receive Maximum default 20 (max_inflight_messages) is not 65535, so it is sent.
    assert c.connack.props.get(mr.RECEIVE_MAXIMUM) == 20


def test_session_takeover_v311_closes_first(port, conns):
    a = conns(mr.client(port, "dup-id"))
    b = conns(mr.client(port, "dup-id"))
    assert a.expect_closed(3) == []
    # the new connection works
    assert b.sub("takeover/t", 0).codes == [0]


def test_session_takeover_v5_closes_first(port, conns):
    a = conns(mr.client(port, "dup-id5a", version=mr.V5))
    b = conns(mr.client(port, "dup-id5a", version=mr.V5))
    got = a.expect_closed(3)
    assert [(p.type, p.reason) for p in got] in ([], [(mr.DISCONNECT, 0x8E)])
    assert b.sub("takeover/t", 0).codes == [0]


# Mosquitto 2.0.11 just closes the old socket; MQTT 5 §3.1.4 step 2 requires the DISCONNECT
# with reason 0x8E (Session taken over) first.
@pytest.mark.mq_only
def test_session_takeover_v5_disconnect_0x8e(port, conns):
    a = conns(mr.client(port, "dup-id5", version=mr.V5))
    b = conns(mr.client(port, "dup-id5", version=mr.V5))
    got = a.expect_closed(3)
    assert [(p.type, p.reason) for p in got] == [(mr.DISCONNECT, 0x8E)]
    assert b.sub("takeover/t", 0).codes == [0]


def test_keepalive_timeout_disconnects(port, conns):
    c = conns(mr.client(port, "ka-idle", keepalive=1))
    t0 = time.monotonic()
    c.expect_closed(7.0)
    elapsed = time.monotonic() - t0
    # Not before the keep alive has run out. (Loose upper bound: Mosquitto 2.0.11 checks
    # keep alive on a coarse timer and takes up to ~6 s for keepalive 1.)
    assert elapsed >= 0.9, elapsed


# MQTT 3.1.1 §3.1.2.10 / 5 §3.1.2.10: disconnect after 1.5 x keep alive. Mosquitto 2.0.11
# takes between 1.3 and 5.7 s for keepalive 1 (coarse timer); mq must be on time.
@pytest.mark.mq_only
def test_keepalive_timeout_is_one_and_a_half_times(port, conns):
    c = conns(mr.client(port, "ka-idle2", keepalive=1))
    t0 = time.monotonic()
    c.expect_closed(4.0)
    elapsed = time.monotonic() - t0
    assert 1.4 <= elapsed <= 2.5, elapsed


def test_keepalive_pingreq_keeps_connection(port, conns):
    c = conns(mr.client(port, "ka-ping", keepalive=1))
    end = time.monotonic() + 3.5
    while time.monotonic() < end:
        c.send(mr.pingreq())
        assert c.recv(2).raw == b"\xd0\x00"
        time.sleep(0.5)
    assert c.sub("ka/ok", 0).codes == [0]


def test_keepalive_will_fires_on_timeout(port, conns):
    watcher = conns(mr.client(port, "ka-watch"))
    watcher.sub("ka/will", 0)
    conns(mr.client(port, "ka-dead", keepalive=1,
                    will={"topic": "ka/will", "payload": b"gone"}))
    p = watcher.recv_publish(7.0)
    assert (p.topic, p.payload) == ("ka/will", b"gone")


def test_max_keepalive_server_keep_alive_v5(start_broker, conns):
    b = start_broker("max_keepalive 10\n")
    c = conns(mr.client(b.port, "ska", version=mr.V5, keepalive=60))
    assert c.connack.props.get(mr.SERVER_KEEP_ALIVE) == 10


def test_no_server_keep_alive_when_within_limit(start_broker, conns):
    b = start_broker("max_keepalive 100\n")
    c = conns(mr.client(b.port, "ska2", version=mr.V5, keepalive=30))
    assert mr.SERVER_KEEP_ALIVE not in c.connack.props


def test_username_password_flags_accepted_anonymous(port, conns):
    c = conns(mr.Conn(port))
    c.send(mr.connect("withuser", username="u", password=b"p"))
    assert c.recv().raw == b"\x20\x02\x00\x00"
