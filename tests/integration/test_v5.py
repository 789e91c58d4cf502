"""MQTT 5 features: topic aliases, subscription identifiers, No Local, message expiry,
properties pass-through, maximum packet size, receive maximum, session expiry, AUTH."""

import os
import select
import subprocess
import threading
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import mqttraw as mr
from brokers import assert_broker_alive


def v5(port, conns, name, **kw):
    return conns(mr.client(port, name, version=mr.V5, **kw))


def test_topic_alias_client_to_broker(port, conns):
    s = conns(mr.client(port, "alias-sub"))
    s.sub("ta/x", 0)
    p5 = v5(port, conns, "alias-pub")
    p5.send(mr.publish("ta/x", b"first", version=mr.V5, properties={mr.TOPIC_ALIAS: 1}))
    p5.send(mr.publish("", b"second", version=mr.V5, properties={mr.TOPIC_ALIAS: 1}))
    got = [s.recv_publish() for _ in range(2)]
    assert [(p.topic, p.payload) for p in got] == [("ta/x", b"first"), ("ta/x", b"second")]


def test_topic_alias_remapped(port, conns):
    s = conns(mr.client(port, "alias-sub2"))
    s.sub("ta/#", 0)
    p5 = v5(port, conns, "alias-pub2")
    p5.send(mr.publish("ta/a", b"1", version=mr.V5, properties={mr.TOPIC_ALIAS: 2}))
    p5.send(mr.publish("ta/b", b"2", version=mr.V5, properties={mr.TOPIC_ALIAS: 2}))
    p5.send(mr.publish("", b"3", version=mr.V5, properties={mr.TOPIC_ALIAS: 2}))
    got = [(p.topic, p.payload) for p in (s.recv_publish() for _ in range(3))]
    assert got == [("ta/a", b"1"), ("ta/b", b"2"), ("ta/b", b"3")]


def test_topic_alias_above_maximum_disconnect_0x94(port, conns):
    c = v5(port, conns, "alias-big")
    maximum = c.connack.props.get(mr.TOPIC_ALIAS_MAXIMUM, 0)
    c.send(mr.publish("ta/y", b"x", version=mr.V5, properties={mr.TOPIC_ALIAS: maximum + 1}))
    got = c.expect_closed(3)
    assert [(p.type, p.reason) for p in got] == [(mr.DISCONNECT, 0x94)]
    assert_broker_alive(port)


def test_unknown_topic_alias_with_empty_topic_is_protocol_error(port, conns):
    c = v5(port, conns, "alias-unknown")
    c.send(mr.publish("", b"x", version=mr.V5, properties={mr.TOPIC_ALIAS: 3}))
    got = c.expect_closed(3)
    # MQTT 5 §3.3.4: a protocol error (0x82); Mosquitto answers 0x82 too.
    assert [(p.type, p.reason) for p in got] in ([], [(mr.DISCONNECT, 0x82)])
    assert_broker_alive(port)


def test_subscription_identifier_delivered(port, conns):
    s = v5(port, conns, "subid")
    s.sub("si/#", 1, properties={mr.SUBSCRIPTION_IDENTIFIER: 7})
    s.sub("other/#", 1, properties={mr.SUBSCRIPTION_IDENTIFIER: 300})
    s.sub("plain/#", 1)
    pub = conns(mr.client(port, "subid-pub"))
    pub.pub("si/a", b"x", qos=1)
    assert s.recv_publish().props.get(mr.SUBSCRIPTION_IDENTIFIER) == [7]
    pub.pub("other/a", b"x", qos=1)
    assert s.recv_publish().props.get(mr.SUBSCRIPTION_IDENTIFIER) == [300]
    pub.pub("plain/a", b"x", qos=1)
    assert mr.SUBSCRIPTION_IDENTIFIER not in s.recv_publish().props


def test_no_local(port, conns):
    c = v5(port, conns, "nolocal")
    c.sub([("nl/yes", mr.sub_options(qos=1, no_local=True)), ("nl/no", mr.sub_options(qos=1)),
           ("marker", 0)])
    c.pub("nl/yes", b"own", qos=1)
    c.pub("nl/no", b"own-visible", qos=1)
    other = conns(mr.client(port, "nolocal-other"))
    other.pub("nl/yes", b"from-other", qos=1)
    other.send(mr.publish("marker", b""))
    got = [(p.topic, p.payload) for p in c.publishes_until("marker")]
    assert got == [("nl/no", b"own-visible"), ("nl/yes", b"from-other")]


def _offline_session(port, conns, name, topic):
    kw = dict(properties={mr.SESSION_EXPIRY_INTERVAL: 60})
    s = v5(port, conns, name, clean=False, **kw)
    s.sub(topic, 1)
    s.disconnect()
    return kw


def test_message_expiry_expired_not_delivered(port, conns):
    kw = _offline_session(port, conns, "expiry1", "me/t")
    pub = v5(port, conns, "expiry1-pub")
    pub.pub("me/t", b"short", qos=1, properties={mr.MESSAGE_EXPIRY_INTERVAL: 1})
    pub.pub("me/t", b"long", qos=1, properties={mr.MESSAGE_EXPIRY_INTERVAL: 100})
    time.sleep(2.2)
    s = conns(mr.Conn(port, mr.V5))
    assert s.handshake("expiry1", clean=False, **kw).session_present is True
    s.sub("marker", 0)
    pub.send(mr.publish("marker", b"", version=mr.V5))
    assert [p.payload for p in s.publishes_until("marker")] == [b"long"]


def test_message_expiry_counted_down(port, conns):
    kw = _offline_session(port, conns, "expiry2", "me2/t")
    pub = v5(port, conns, "expiry2-pub")
    pub.pub("me2/t", b"ttl", qos=1, properties={mr.MESSAGE_EXPIRY_INTERVAL: 30})
    time.sleep(2.2)
    s = conns(mr.Conn(port, mr.V5))
    assert s.handshake("expiry2", clean=False, **kw).session_present is True
    p = s.recv_publish()
    assert p.payload == b"ttl"
    assert 25 <= p.props.get(mr.MESSAGE_EXPIRY_INTERVAL, 0) <= 28, p.props


def test_message_expiry_passed_to_online_subscriber(port, conns):
    s = v5(port, conns, "expiry3")
    s.sub("me3/t", 1)
    pub = v5(port, conns, "expiry3-pub")
    pub.pub("me3/t", b"x", qos=1, properties={mr.MESSAGE_EXPIRY_INTERVAL: 50})
    p = s.recv_publish()
    assert 49 <= p.props.get(mr.MESSAGE_EXPIRY_INTERVAL, 0) <= 50


def test_properties_passed_through_paho(port):
    """paho v5 publisher and subscriber: user properties, content type, payload format
    indicator, response topic and correlation data arrive unchanged."""
    got = []
    ready = threading.Event()
    arrived = threading.Event()

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        ready.set()

    def on_message(client, userdata, msg):
        got.append(msg)
        arrived.set()

    sub = paho.Client("paho5-sub", protocol=paho.MQTTv5)
    sub.on_subscribe = on_subscribe
    sub.on_message = on_message
    sub.connect("127.0.0.1", port, 30)
    sub.loop_start()
    pub = paho.Client("paho5-pub", protocol=paho.MQTTv5)
    try:
        sub.subscribe("props/t", qos=1)
        assert ready.wait(5)
        pub.connect("127.0.0.1", port, 30)
        pub.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("a", "1"), ("b", "2"), ("a", "3")]
        props.ContentType = "text/plain"
        props.PayloadFormatIndicator = 1
        props.ResponseTopic = "props/reply"
        props.CorrelationData = b"\x00\x01corr"
        pub.publish("props/t", "héllo".encode(), qos=1, properties=props).wait_for_publish(5)
        assert arrived.wait(5)
        m = got[0]
        assert m.payload == "héllo".encode()
        p = m.properties
        assert p.UserProperty == [("a", "1"), ("b", "2"), ("a", "3")]
        assert p.ContentType == "text/plain"
        assert p.PayloadFormatIndicator == 1
        assert p.ResponseTopic == "props/reply"
        assert p.CorrelationData == b"\x00\x01corr"
    finally:
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()


def test_maximum_packet_size_respected(port, conns):
    c = v5(port, conns, "maxpkt", properties={mr.MAXIMUM_PACKET_SIZE: 100})
    c.sub([("mps/t", 1), ("marker", 0)])
    pub = conns(mr.client(port, "maxpkt-pub"))
    pub.pub("mps/t", b"x" * 200, qos=1)   # too big for the subscriber: dropped
    pub.pub("mps/t", b"small", qos=1)
    pub.send(mr.publish("marker", b""))
    got = c.publishes_until("marker")
    assert [p.payload for p in got] == [b"small"]
    # the subscriber is still connected and served
    c.send(mr.pingreq())
    assert c.recv().type == mr.PINGRESP


# Mosquitto 2.0.11 compares the client's Maximum Packet Size with the packet length minus the
# fixed-header byte, so it sends packets one byte over the limit (MQTT 5 §3.1.2.11.4 counts the
# whole packet).
@pytest.mark.mq_only
def test_maximum_packet_size_boundary(port, conns):
    """A PUBLISH of exactly the client's maximum is delivered, one byte more is not."""
    c = v5(port, conns, "maxpkt2", properties={mr.MAXIMUM_PACKET_SIZE: 64})
    c.sub([("mb/t", 0), ("marker", 0)])
    pub = conns(mr.client(port, "maxpkt2-pub"))
    # broker->client packet: 1 + 1 (len) + 2+4 (topic) + 1 (props len 0) + payload
    fits = 64 - 9
    pub.send(mr.publish("mb/t", b"a" * fits))
    pub.send(mr.publish("mb/t", b"b" * (fits + 1)))
    pub.send(mr.publish("marker", b""))
    got = c.publishes_until("marker")
    assert [len(p.raw) for p in got] == [64]


def test_receive_maximum_initial_window(port, conns):
    c = v5(port, conns, "recvmax", properties={mr.RECEIVE_MAXIMUM: 2})
    c.sub("rm/t", 1)
    pub = conns(mr.client(port, "recvmax-pub"))
    for i in range(5):
        pub.pub("rm/t", b"%d" % i, qos=1)
    first = [c.recv_publish(ack=False) for _ in range(2)]
    assert [p.payload for p in first] == [b"0", b"1"]
    c.expect_silence(0.5)              # a third unacknowledged message must not come
    for p in first:
        c.send(mr.puback(p.pid, mr.V5))
    rest = []
    while len(rest) < 3:
        rest.append(c.recv_publish().payload)
    assert rest == [b"2", b"3", b"4"]


# Mosquitto 2.0.11 refills two slots per PUBACK once the window was full, so three QoS 1
# messages are unacknowledged at once with Receive Maximum 2 (MQTT 5 §4.9 forbids that).
@pytest.mark.mq_only
def test_receive_maximum_never_exceeded(port, conns):
    c = v5(port, conns, "recvmax2", properties={mr.RECEIVE_MAXIMUM: 2})
    c.sub("rm2/t", 1)
    pub = conns(mr.client(port, "recvmax2-pub"))
    for i in range(6):
        pub.pub("rm2/t", b"%d" % i, qos=1)
    inflight = [c.recv_publish(ack=False) for _ in range(2)]
    got = [p.payload for p in inflight]
    while len(got) < 6:
        c.expect_silence(0.3)
        c.send(mr.puback(inflight.pop(0).pid, mr.V5))
        p = c.recv_publish(ack=False)
        inflight.append(p)
        got.append(p.payload)
    assert got == [b"%d" % i for i in range(6)]


def test_request_problem_information_0(port, conns):
    c = v5(port, conns, "rpi0", properties={mr.REQUEST_PROBLEM_INFORMATION: 0})
    # Trigger replies that could carry a reason string: a no-subscription UNSUBACK and a
    # SUBACK; none may carry Reason String or User Property (MQTT 5 §3.1.2.11.7).
    ack = c.sub("rpi/t", 1)
    assert mr.REASON_STRING not in ack.props and mr.USER_PROPERTY not in ack.props
    pid = c.next_pid()
    c.send(mr.unsubscribe(pid, "rpi/none", version=mr.V5))
    un = c.expect(mr.UNSUBACK)
    assert un.codes == [0x11]
    assert mr.REASON_STRING not in un.props and mr.USER_PROPERTY not in un.props


def test_auth_unsupported_method_connack_0x8c(port, conns):
    c = conns(mr.Conn(port, mr.V5))
    c.send(mr.connect("authm", version=mr.V5,
                      properties={mr.AUTHENTICATION_METHOD: "SCRAM-SHA-999"}))
    got = c.expect_closed(3)
    assert [(p.type, p.reason) for p in got] == [(mr.CONNACK, 0x8C)]
    assert_broker_alive(port)


def test_session_expiry_0_discards_session(port, conns):
    s = v5(port, conns, "se0", clean=False)          # no Session Expiry Interval = 0
    s.sub("se0/t", 1)
    s.disconnect()
    s2 = v5(port, conns, "se0", clean=False)
    assert s2.connack.session_present is False


def test_session_expiry_elapses(port, conns):
    kw = dict(properties={mr.SESSION_EXPIRY_INTERVAL: 1})
    s = v5(port, conns, "se1", clean=False, **kw)
    s.sub("se1/t", 1)
    s.disconnect()
    time.sleep(2.5)
    s2 = v5(port, conns, "se1", clean=False, **kw)
    assert s2.connack.session_present is False


def test_session_expiry_set_on_disconnect(port, conns):
    # Session Expiry 60 at CONNECT, changed to 0 in DISCONNECT: session ends.
    s = v5(port, conns, "se-dis", clean=False, properties={mr.SESSION_EXPIRY_INTERVAL: 60})
    s.sub("sed/t", 1)
    s.send(mr.disconnect(mr.V5, 0, properties={mr.SESSION_EXPIRY_INTERVAL: 0}))
    s.expect_closed(3)
    s2 = v5(port, conns, "se-dis", clean=False, properties={mr.SESSION_EXPIRY_INTERVAL: 60})
    assert s2.connack.session_present is False


def test_puback_no_matching_subscribers_0x10(port, conns):
    c = v5(port, conns, "nomatch")
    ack = c.pub("nobody/listens", b"x", qos=1)
    assert ack.reason == 0x10


def test_v5_disconnect_reason_normal_closes(port, conns):
    c = v5(port, conns, "bye5")
    c.send(mr.disconnect(mr.V5, 0x00))
    assert c.expect_closed(3) == []


@pytest.fixture
def alias_port(start_broker):
    """A broker that sends topic aliases (Mosquitto 2.1's max_topic_alias_broker)."""
    return start_broker("max_topic_alias_broker 10\n").port


@pytest.mark.mq_only  # Mosquitto 2.1's max_topic_alias_broker; Debian's 2.0 sends no aliases
def test_topic_alias_broker_to_client(alias_port, conns):
    port = alias_port
    s = v5(port, conns, "alias-out", properties={mr.TOPIC_ALIAS_MAXIMUM: 2})
    s.sub("tb/#", 1)
    p = conns(mr.client(port, "alias-out-pub"))
    for topic in ["tb/a", "tb/a", "tb/b", "tb/c", "tb/b", "tb/c", "tb/a"]:
        p.send(mr.publish(topic, topic.encode(), qos=1, pid=p.next_pid()))
        p.expect(mr.PUBACK)
    got = [s.recv_publish() for _ in range(7)]
    wire = [(g.topic, g.props.get(mr.TOPIC_ALIAS), g.payload) for g in got]
    # The first two topics get aliases 1 and 2 and then go out empty; the client allows two,
    # so the third is always sent in full.
    assert wire == [("tb/a", 1, b"tb/a"), ("", 1, b"tb/a"), ("tb/b", 2, b"tb/b"),
                    ("tb/c", None, b"tb/c"), ("", 2, b"tb/b"), ("tb/c", None, b"tb/c"),
                    ("", 1, b"tb/a")]


def test_topic_alias_broker_to_client_off_by_default(port):
    # As Debian's Mosquitto 2.0: no aliases unless max_topic_alias_broker asks for them.
    s = mr.client(port, "alias-off", version=mr.V5, properties={mr.TOPIC_ALIAS_MAXIMUM: 5})
    try:
        s.sub("tc/x", 0)
        p = mr.client(port, "alias-off-pub")
        for _ in range(2):
            p.send(mr.publish("tc/x", b"m"))
        got = [s.recv_publish() for _ in range(2)]
        assert [(g.topic, g.props.get(mr.TOPIC_ALIAS)) for g in got] == [("tc/x", None)] * 2
        p.close()
    finally:
        s.close()


@pytest.mark.mq_only
def test_topic_alias_not_used_for_a_packet_too_large(alias_port, conns):
    port = alias_port
    # A message dropped for the client's Maximum Packet Size must not establish an alias the
    # client never saw: the next message on that topic carries the topic in full.
    s = v5(port, conns, "alias-big-drop",
           properties={mr.TOPIC_ALIAS_MAXIMUM: 3, mr.MAXIMUM_PACKET_SIZE: 200})
    s.sub("td/x", 0)
    p = conns(mr.client(port, "alias-big-pub"))
    p.send(mr.publish("td/x", b"x" * 500))
    p.send(mr.publish("td/x", b"small"))
    got = s.recv_publish()
    assert (got.topic, got.props.get(mr.TOPIC_ALIAS), got.payload) == ("td/x", 1, b"small")


@pytest.mark.parametrize("client", ["mosquitto_sub", pytest.param("mq", marks=pytest.mark.mq_only)])
def test_subscriber_with_topic_alias_maximum_prints_every_topic(start_broker, client):
    # Each line must carry the full topic. mq sub resolves the broker's aliases (the broker sends
    # them here). Debian's mosquitto_sub (libmosquitto 2.0) announces a Topic Alias Maximum with
    # -D but fails on an aliased PUBLISH ("protocol error"), and paho-mqtt 1.6 reports an empty
    # topic, which is why the broker sends none by default: that case checks the default.
    if client == "mosquitto_sub":
        port = start_broker().port
        argv = ["/usr/bin/mosquitto_sub"]
    else:
        port = start_broker("max_topic_alias_broker 10\n").port
        argv = [os.environ["MQ_BIN"], "sub"]
    sub = subprocess.Popen(argv + ["-h", "127.0.0.1", "-p", str(port), "-V", "5", "-q", "1",
                                   "-D", "connect", "topic-alias-maximum", "4", "-t", "te/#",
                                   "-v", "-C", "13", "-W", "10", "-i", "alias-" + client],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p = mr.client(port, "alias-sub-pub")
        # A retained probe shows when the subscription is in place (its first output line).
        p.send(mr.publish("te/probe", b"p", qos=1, retain=True, pid=p.next_pid()))
        p.expect(mr.PUBACK)
        ready, _, _ = select.select([sub.stdout], [], [], 10)
        assert ready, "no output from " + client
        first = sub.stdout.readline().decode().rstrip("\n")
        assert first == "te/probe p"
        sent = [(f"te/{i % 3}", str(i)) for i in range(12)]
        for t, m in sent:
            p.send(mr.publish(t, m.encode(), qos=1, pid=p.next_pid()))
            p.expect(mr.PUBACK)
        out, err = sub.communicate(timeout=15)
        assert sub.returncode == 0, err
        assert out.decode().splitlines() == [f"{t} {m}" for t, m in sent]
        p.send(mr.publish("te/probe", b"", retain=True))
        p.close()
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()


def test_fanout_mixed_versions_and_qos_get_their_own_flags_and_ids(port, conns):
    # One message to subscribers of different versions and QoS: each gets the right first-byte
    # flags, its own packet identifier and the same payload and properties. (mq encodes one
    # header per layout and patches the flags and identifier per subscriber: this would show a
    # patched byte leaking from one subscriber to the next.)
    p = conns(mr.client(port, "fan-mix-pub", version=mr.V5))
    subs = []
    for i, (ver, qos) in enumerate([(mr.V311, 0), (mr.V5, 1), (mr.V311, 2), (mr.V5, 2),
                                     (mr.V311, 1), (mr.V5, 0), (mr.V5, 1), (mr.V311, 1)]):
        c = conns(mr.client(port, f"fan-mix-{i}", version=ver))
        c.sub([("fm/t", qos), (f"fm/warm/{i}", 1)])
        # Subscriber i has used i packet identifiers before the fan-out.
        for _ in range(i):
            p.send(mr.publish(f"fm/warm/{i}", b"w", qos=1, pid=p.next_pid(), version=mr.V5))
            p.expect(mr.PUBACK)
            c.recv_publish()
        subs.append((i, c, ver, qos))
    pid = p.next_pid()
    p.send(mr.publish("fm/t", b"payload-1", qos=2, pid=pid, version=mr.V5,
                      properties=[(mr.USER_PROPERTY, ("k", "v"))]))
    p.expect(mr.PUBREC)
    p.send(mr.pubrel(pid, mr.V5))
    p.expect(mr.PUBCOMP)
    p.send(mr.publish("fm/t", b"payload-2", qos=1, retain=True, pid=p.next_pid(), version=mr.V5))
    p.expect(mr.PUBACK)
    for i, c, ver, qos in subs:
        a = c.recv_publish(ack=False)
        b = c.recv_publish(ack=False)
        assert (a.topic, a.payload, a.qos, a.retain, a.dup) == ("fm/t", b"payload-1", qos, False, False)
        assert (b.topic, b.payload, b.qos, b.retain, b.dup) == ("fm/t", b"payload-2", min(qos, 1), False, False)
        assert a.pid == (i + 1 if qos else None), i
        assert b.pid == (i + 2 if qos else None), i
        if ver == mr.V5:
            assert a.props.get(mr.USER_PROPERTY) == [("k", "v")]
            assert b.props.get(mr.USER_PROPERTY) is None
    assert_broker_alive(port)
