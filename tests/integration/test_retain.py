"""Retained messages, MQTT 5 retain handling / retain-as-published, retain_available."""

import mqttraw as mr
from brokers import assert_broker_alive


def publisher(port, conns, name="ret-pub", version=mr.V311):
    return conns(mr.client(port, name, version=version))


def test_retained_delivered_on_subscribe_with_retain_flag(port, conns):
    pub = publisher(port, conns)
    pub.pub("r/set", b"kept", qos=1, retain=True)
    s = conns(mr.client(port, "ret-sub"))
    s.sub("r/set", 1)
    p = s.recv_publish()
    assert (p.topic, p.payload, p.retain, p.qos) == ("r/set", b"kept", True, 1)


def test_retained_replaced(port, conns):
    pub = publisher(port, conns)
    pub.pub("r/rep", b"v1", qos=1, retain=True)
    pub.pub("r/rep", b"v2", qos=1, retain=True)
    s = conns(mr.client(port, "ret-sub"))
    s.sub([("r/rep", 0), ("marker", 0)])
    pub.send(mr.publish("marker", b""))
    got = s.publishes_until("marker")
    assert [(p.payload, p.retain) for p in got] == [(b"v2", True)]


def test_retained_cleared_by_empty_payload(port, conns):
    pub = publisher(port, conns)
    pub.pub("r/clr", b"v1", qos=1, retain=True)
    pub.pub("r/clr", b"", qos=1, retain=True)
    s = conns(mr.client(port, "ret-sub"))
    s.sub([("r/clr", 0), ("marker", 0)])
    pub.send(mr.publish("marker", b""))
    assert s.publishes_until("marker") == []


def test_retained_matched_by_wildcards(port, conns):
    pub = publisher(port, conns)
    for t in ("rw/a", "rw/b/c", "other/x"):
        pub.pub(t, t.encode(), qos=1, retain=True)
    s = conns(mr.client(port, "ret-sub"))
    s.sub([("rw/#", 0), ("marker", 0)])
    pub.send(mr.publish("marker", b""))
    got = sorted(p.topic for p in s.publishes_until("marker"))
    assert got == ["rw/a", "rw/b/c"]


def test_live_delivery_has_retain_0_for_v311(port, conns):
    s = conns(mr.client(port, "ret-live"))
    s.sub("r/live", 0)
    pub = publisher(port, conns)
    pub.pub("r/live", b"now", qos=1, retain=True)
    p = s.recv_publish()
    assert (p.payload, p.retain) == (b"now", False)


def test_retained_qos_is_min_of_stored_and_subscription(port, conns):
    pub = publisher(port, conns)
    pub.pub("r/qos", b"q2", qos=2, retain=True)
    s = conns(mr.client(port, "ret-q"))
    s.sub("r/qos", 1)
    p = s.recv_publish()
    assert (p.qos, p.retain) == (1, True)


def _v5_sub(port, conns, name):
    return conns(mr.client(port, name, version=mr.V5))


def test_v5_retain_handling_0_sends_on_every_subscribe(port, conns):
    pub = publisher(port, conns)
    pub.pub("rh/0", b"r", qos=1, retain=True)
    s = _v5_sub(port, conns, "rh0")
    for _ in range(2):
        s.sub("rh/0", opts=mr.sub_options(qos=0, rh=0))
        p = s.recv_publish()
        assert (p.payload, p.retain) == (b"r", True)


def test_v5_retain_handling_1_only_for_new_subscription(port, conns):
    pub = publisher(port, conns)
    pub.pub("rh/1", b"r", qos=1, retain=True)
    s = _v5_sub(port, conns, "rh1")
    s.sub([("rh/1", mr.sub_options(rh=1)), ("marker", 0)])
    p = s.recv_publish()
    assert (p.payload, p.retain) == (b"r", True)
    s.sub("rh/1", opts=mr.sub_options(rh=1))       # already exists: no retained message
    pub.send(mr.publish("marker", b""))
    assert s.publishes_until("marker") == []


def test_v5_retain_handling_2_never_sends(port, conns):
    pub = publisher(port, conns)
    pub.pub("rh/2", b"r", qos=1, retain=True)
    s = _v5_sub(port, conns, "rh2")
    s.sub([("rh/2", mr.sub_options(rh=2)), ("marker", 0)])
    pub.send(mr.publish("marker", b""))
    assert s.publishes_until("marker") == []
    # but live messages still arrive
    pub.pub("rh/2", b"live", qos=1)
    assert s.recv_publish().payload == b"live"


def test_v5_retain_as_published(port, conns):
    s = _v5_sub(port, conns, "rap")
    s.sub([("rap/yes", mr.sub_options(rap=True)), ("rap/no", mr.sub_options(rap=False))])
    pub = publisher(port, conns)
    pub.pub("rap/yes", b"a", qos=1, retain=True)
    p = s.recv_publish()
    assert (p.topic, p.retain) == ("rap/yes", True)
    pub.pub("rap/no", b"b", qos=1, retain=True)
    p = s.recv_publish()
    assert (p.topic, p.retain) == ("rap/no", False)
    # a non-retained publish stays retain 0 even with retain-as-published
    pub.pub("rap/yes", b"c", qos=1, retain=False)
    p = s.recv_publish()
    assert (p.topic, p.retain) == ("rap/yes", False)


def test_retain_unavailable_v5_disconnect_0x9a(start_broker, conns):
    b = start_broker("retain_available false\n")
    c = conns(mr.client(b.port, "noret5", version=mr.V5))
    assert c.connack.props.get(mr.RETAIN_AVAILABLE) == 0
    c.send(mr.publish("nr/t", b"x", qos=0, retain=True, version=mr.V5))
    got = c.expect_closed(3)
    assert [(p.type, p.reason) for p in got] == [(mr.DISCONNECT, 0x9A)]
    assert_broker_alive(b.port)


def test_retain_unavailable_v311_closed_and_not_stored(start_broker, conns):
    b = start_broker("retain_available false\n")
    c = conns(mr.client(b.port, "noret311"))
    c.send(mr.publish("nr/t", b"x", qos=1, pid=1, retain=True))
    got = c.expect_closed(3)
    assert [p.type for p in got if p.type == mr.PUBACK] == []
    s = conns(mr.client(b.port, "noret-sub"))
    s.sub([("nr/t", 0), ("marker", 0)])
    s.send(mr.publish("marker", b""))
    assert s.publishes_until("marker") == []


def test_many_retained_on_wildcard_subscribe_all_delivered_and_others_served(port, conns):
    # A `#` subscription over many retained messages is sent in batches: the subscriber gets
    # every one, and another client is served meanwhile (bad-input.md, Resources).
    n = 20000
    pub = publisher(port, conns)
    pub.send(b"".join(mr.publish("bulk/%d" % i, b"v%d" % i, retain=True) for i in range(n)))
    pub.pub("bulk-done", b"", qos=1)  # QoS 1 round trip: everything before it was processed
    s = conns(mr.client(port, "bulk-sub"))
    s.send(mr.subscribe(s.next_pid(), [("bulk/#", 0)]))
    assert_broker_alive(port)
    seen = set()
    while len(seen) < n:
        p = s.recv(10)
        if p.type == 3:
            assert p.retain
            seen.add(p.topic)
    assert len(seen) == n
