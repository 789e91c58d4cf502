"""PUBLISH / SUBSCRIBE / UNSUBSCRIBE flows with exact acknowledgement bytes (raw sockets)."""

import struct

import pytest

import mqttraw as mr


def pair(port, conns, name, version=mr.V311):
    sub = conns(mr.client(port, name + "-sub", version=version))
    pub = conns(mr.client(port, name + "-pub", version=version))
    return sub, pub


def test_qos0_round_trip(port, conns):
    sub, pub = pair(port, conns, "q0")
    suback = sub.sub("q0/t", 0)
    assert suback.raw == b"\x90\x03" + struct.pack("!H", suback.pid) + b"\x00"
    pub.send(mr.publish("q0/t", b"hello"))
    p = sub.recv()
    # PUBLISH, flags 0, remaining length 2+4+5, topic "q0/t", no packet id, payload
    assert p.raw == b"\x30\x0b\x00\x04q0/thello"


def test_qos1_round_trip_exact_acks(port, conns):
    sub, pub = pair(port, conns, "q1")
    assert sub.sub("q1/t", 1).codes == [1]
    pub.send(mr.publish("q1/t", b"one", qos=1, pid=0x1234))
    assert pub.recv().raw == b"\x40\x02\x12\x34"
    p = sub.recv()
    assert p.type == mr.PUBLISH and p.flags == 0x02 and p.pid
    assert (p.topic, p.payload) == ("q1/t", b"one")
    sub.send(mr.puback(p.pid))
    # nothing further for the subscriber; the flow is complete
    sub.expect_silence(0.3)


def test_qos2_round_trip_exact_acks(port, conns):
    sub, pub = pair(port, conns, "q2")
    assert sub.sub("q2/t", 2).codes == [2]
    pub.send(mr.publish("q2/t", b"two", qos=2, pid=0x0102))
    assert pub.recv().raw == b"\x50\x02\x01\x02"          # PUBREC
    pub.send(mr.pubrel(0x0102))
    assert pub.recv().raw == b"\x70\x02\x01\x02"          # PUBCOMP
    p = sub.recv()
    assert p.type == mr.PUBLISH and p.flags == 0x04
    assert (p.topic, p.payload) == ("q2/t", b"two")
    sub.send(mr.pubrec(p.pid))
    rel = sub.recv()
    assert rel.raw == b"\x62\x02" + struct.pack("!H", p.pid)   # PUBREL with flags 0010
    sub.send(mr.pubcomp(p.pid))
    sub.expect_silence(0.3)


def test_suback_granted_qos_capped_by_max_qos(start_broker, conns):
    b = start_broker("max_qos 1\n")
    c = conns(mr.client(b.port, "maxq"))
    ack = c.sub([("mq/a", 2), ("mq/b", 1), ("mq/c", 0)])
    assert ack.codes == [1, 1, 0]


def test_suback_multiple_filters_in_order(port, conns):
    c = conns(mr.client(port, "multi"))
    ack = c.sub([("m/a", 0), ("m/b", 2), ("m/c", 1)])
    assert ack.codes == [0, 2, 1]


def test_wildcards_plus_and_hash(port, conns):
    sub, pub = pair(port, conns, "wild")
    sub.sub([("w/+/c", 0), ("x/#", 0), ("marker", 0)])
    topics = ["w/b/c", "w/b/d", "w/c", "w/b/c/d", "w//c", "x", "x/y", "x/y/z", "y/x"]
    for t in topics:
        pub.send(mr.publish(t, t.encode()))
    pub.send(mr.publish("marker", b""))
    got = sorted(p.topic for p in sub.publishes_until("marker"))
    assert got == sorted(["w/b/c", "w//c", "x", "x/y", "x/y/z"])


def test_hash_does_not_match_sys(start_broker, conns):
    b = start_broker("sys_interval 1\n")
    all_ = conns(mr.client(b.port, "hash-all"))
    all_.sub([("#", 0), ("+/broker/uptime", 0)])
    sys = conns(mr.client(b.port, "hash-sys"))
    sys.sub("$SYS/#", 0)
    # $SYS traffic exists ...
    first = sys.recv_publish(4.0)
    assert first.topic.startswith("$SYS/")
    # ... but neither '#' nor '+/...' matched it.
    pub = conns(mr.client(b.port, "hash-pub"))
    pub.send(mr.publish("marker", b""))
    got = all_.publishes_until("marker")
    assert [p.topic for p in got if p.topic.startswith("$")] == []


def test_unsubscribe_stops_delivery(port, conns):
    sub, pub = pair(port, conns, "unsub")
    sub.sub([("u/t", 0), ("marker", 0)])
    pid = sub.next_pid()
    sub.send(mr.unsubscribe(pid, "u/t"))
    assert sub.recv().raw == b"\xb0\x02" + struct.pack("!H", pid)
    pub.send(mr.publish("u/t", b"gone"))
    pub.send(mr.publish("marker", b""))
    assert sub.publishes_until("marker") == []


def test_unsuback_v5_reason_codes(port, conns):
    c = conns(mr.client(port, "unsub5", version=mr.V5))
    c.sub("u5/a", 0)
    pid = c.next_pid()
    c.send(mr.unsubscribe(pid, ["u5/a", "u5/none"], version=mr.V5))
    ack = c.expect(mr.UNSUBACK)
    assert ack.pid == pid
    assert ack.codes == [0x00, 0x11]


def test_overlapping_subscriptions_deliver_max_qos(port, conns):
    sub, pub = pair(port, conns, "overlap")
    sub.sub([("o/#", 0), ("o/t", 1), ("marker", 0)])
    pub.pub("o/t", b"x", qos=1)
    pub.send(mr.publish("marker", b""))
    got = sub.publishes_until("marker")
    # One copy per matching subscription or a single copy; either way the maximum QoS is used.
    assert 1 <= len(got) <= 2, got
    assert max(p.qos for p in got) == 1
    assert all(p.payload == b"x" for p in got)


def test_qos_downgraded_to_subscription_qos(port, conns):
    sub, pub = pair(port, conns, "down")
    sub.sub([("d/zero", 0), ("d/one", 1)])
    pub.pub("d/zero", b"a", qos=2)
    p = sub.recv_publish()
    assert (p.topic, p.qos, p.pid) == ("d/zero", 0, None)
    pub.pub("d/one", b"b", qos=2)
    p = sub.recv_publish()
    assert (p.topic, p.qos) == ("d/one", 1)


def test_qos_not_upgraded(port, conns):
    sub, pub = pair(port, conns, "noup")
    sub.sub("up/t", 2)
    pub.pub("up/t", b"a", qos=1)
    p = sub.recv_publish()
    assert p.qos == 1


def test_duplicate_qos2_before_pubrel_delivered_once(port, conns):
    sub, pub = pair(port, conns, "dupq2")
    sub.sub([("dq/t", 2), ("marker", 0)])
    pub.send(mr.publish("dq/t", b"once", qos=2, pid=7))
    assert pub.recv().raw == b"\x50\x02\x00\x07"
    pub.send(mr.publish("dq/t", b"once", qos=2, pid=7, dup=True))
    assert pub.recv().raw == b"\x50\x02\x00\x07"
    pub.send(mr.pubrel(7))
    assert pub.recv().raw == b"\x70\x02\x00\x07"
    pub.send(mr.publish("marker", b""))
    got = sub.publishes_until("marker")
    assert [p.payload for p in got] == [b"once"]


def test_pubrel_for_unknown_id_gets_pubcomp(port, conns):
    c = conns(mr.client(port, "relunk"))
    c.send(mr.pubrel(999))
    assert c.recv().raw == b"\x70\x02\x03\xe7"


def test_puback_for_unknown_id_is_ignored(port, conns):
    c = conns(mr.client(port, "ackunk"))
    c.send(mr.puback(321))
    c.send(mr.pingreq())
    assert c.recv().raw == b"\xd0\x00"


def test_message_order_preserved_qos1(port, conns):
    sub, pub = pair(port, conns, "order")
    sub.sub("ord/t", 1)
    for i in range(30):
        pub.pub("ord/t", b"%d" % i, qos=1)
    got = [sub.recv_publish().payload for _ in range(30)]
    assert got == [b"%d" % i for i in range(30)]


def test_large_payload_round_trip(port, conns):
    sub, pub = pair(port, conns, "large")
    sub.sub("big/t", 1)
    payload = bytes(range(256)) * 1024    # 256 KiB, 3-byte remaining length
    pub.pub("big/t", payload, qos=1)
    p = sub.recv_publish(10)
    assert p.payload == payload


# ---------------------------------------------------------------- persistent sessions

@pytest.mark.parametrize("version", [mr.V311, mr.V5], ids=["v311", "v5"])
def test_offline_messages_delivered_on_reconnect(port, conns, version):
    kw = {}
    if version == mr.V5:
        kw["properties"] = {mr.SESSION_EXPIRY_INTERVAL: 60}
    s = conns(mr.client(port, "persist-%d" % version, version=version, clean=False, **kw))
    assert s.connack.session_present is False
    s.sub([("ps/q1", 1), ("ps/q2", 2)])
    s.disconnect()
    pub = conns(mr.client(port, "persist-pub"))
    pub.pub("ps/q1", b"one", qos=1)
    pub.pub("ps/q2", b"two", qos=2)
    s2 = conns(mr.Conn(port, version))
    ack = s2.handshake("persist-%d" % version, clean=False, **kw)
    assert ack.session_present is True
    got = sorted((p.topic, p.payload, p.qos) for p in
                 [s2.recv_publish(), s2.recv_publish()])
    assert got == [("ps/q1", b"one", 1), ("ps/q2", b"two", 2)]


def test_clean_session_discards_state(port, conns):
    s = conns(mr.client(port, "cleanme", clean=False))
    s.sub("cs/t", 1)
    s.disconnect()
    pub = conns(mr.client(port, "clean-pub"))
    pub.pub("cs/t", b"queued", qos=1)
    s2 = conns(mr.client(port, "cleanme", clean=True))
    assert s2.connack.session_present is False
    s2.sub("marker", 0)
    pub.send(mr.publish("marker", b""))
    assert s2.publishes_until("marker") == []
    s2.disconnect()
    # The old subscription is gone, also for a later persistent session.
    s3 = conns(mr.client(port, "cleanme", clean=False))
    assert s3.connack.session_present is False
    s3.sub("marker", 0)
    pub.send(mr.publish("cs/t", b"after"))
    pub.send(mr.publish("marker", b""))
    assert s3.publishes_until("marker") == []


def test_unacked_qos1_redelivered_with_dup(port, conns):
    s = conns(mr.client(port, "redeliver", clean=False))
    s.sub("rd/t", 1)
    pub = conns(mr.client(port, "rd-pub"))
    pub.pub("rd/t", b"again", qos=1)
    first = s.recv_publish(ack=False)
    assert first.qos == 1 and first.dup is False
    s.close()                      # no PUBACK, no DISCONNECT
    s2 = conns(mr.Conn(port))
    ack = s2.handshake("redeliver", clean=False)
    assert ack.session_present is True
    again = s2.recv_publish()
    assert (again.topic, again.payload, again.qos, again.dup) == ("rd/t", b"again", 1, True)
    assert again.pid == first.pid


def test_unacked_qos2_pubrel_resent_after_reconnect(port, conns):
    s = conns(mr.client(port, "redeliver2", clean=False))
    s.sub("rd2/t", 2)
    pub = conns(mr.client(port, "rd2-pub"))
    pub.pub("rd2/t", b"q2", qos=2)
    p = s.recv_publish(ack=False)
    s.send(mr.pubrec(p.pid))
    rel = s.expect(mr.PUBREL)
    assert rel.pid == p.pid
    s.close()                      # no PUBCOMP
    s2 = conns(mr.Conn(port))
    assert s2.handshake("redeliver2", clean=False).session_present is True
    rel2 = s2.expect(mr.PUBREL)
    assert rel2.raw == b"\x62\x02" + struct.pack("!H", p.pid)
    s2.send(mr.pubcomp(p.pid))
    s2.expect_silence(0.3)


def test_max_queued_messages_bounds_offline_queue(start_broker, conns):
    b = start_broker("max_queued_messages 5\n")
    s = conns(mr.client(b.port, "queued", clean=False))
    s.sub("mqm/t", 1)
    s.disconnect()
    pub = conns(mr.client(b.port, "queued-pub"))
    for i in range(30):
        pub.pub("mqm/t", b"%d" % i, qos=1)
    s2 = conns(mr.Conn(b.port))
    assert s2.handshake("queued", clean=False).session_present is True
    s2.sub("marker", 0)
    pub.send(mr.publish("marker", b""))
    got = s2.publishes_until("marker")
    assert 1 <= len(got) <= 5, [p.payload for p in got]


def test_qos0_not_queued_for_offline_session(port, conns):
    s = conns(mr.client(port, "noq0", clean=False))
    s.sub("nq/t", 0)
    s.disconnect()
    pub = conns(mr.client(port, "noq0-pub"))
    pub.pub("nq/t", b"lost", qos=1)
    s2 = conns(mr.Conn(port))
    assert s2.handshake("noq0", clean=False).session_present is True
    s2.sub("marker", 0)
    pub.send(mr.publish("marker", b""))
    assert s2.publishes_until("marker") == []


def test_subscription_survives_reconnect(port, conns):
    s = conns(mr.client(port, "keepsub", clean=False))
    s.sub("ks/t", 1)
    s.disconnect()
    s2 = conns(mr.client(port, "keepsub", clean=False))
    assert s2.connack.session_present is True
    pub = conns(mr.client(port, "keepsub-pub"))
    pub.pub("ks/t", b"live", qos=1)
    p = s2.recv_publish()
    assert (p.topic, p.payload) == ("ks/t", b"live")

