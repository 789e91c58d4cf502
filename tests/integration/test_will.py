"""Will messages: abnormal vs normal disconnect, v5 reason 0x04, will retain, Will Delay."""

import time

import mqttraw as mr


def watcher(port, conns, topic, version=mr.V311):
    w = conns(mr.client(port, "will-watch", version=version))
    w.sub([(topic, 1), ("marker", 0)])
    return w


def marker(port, conns):
    m = conns(mr.client(port, "will-marker"))
    m.send(mr.publish("marker", b""))
    return m


def test_will_on_abnormal_disconnect(port, conns):
    w = watcher(port, conns, "will/a")
    c = conns(mr.client(port, "dies", will={"topic": "will/a", "payload": b"bye", "qos": 1}))
    c.close()
    p = w.recv_publish()
    assert (p.topic, p.payload, p.qos, p.retain) == ("will/a", b"bye", 1, False)


def test_no_will_on_normal_disconnect(port, conns):
    w = watcher(port, conns, "will/n")
    c = conns(mr.client(port, "polite", will={"topic": "will/n", "payload": b"bye"}))
    c.send(mr.disconnect())
    c.expect_closed(3)
    marker(port, conns)
    assert w.publishes_until("marker") == []


def test_v5_disconnect_0x04_sends_will(port, conns):
    w = watcher(port, conns, "will/v5")
    c = conns(mr.client(port, "dies5", version=mr.V5,
                        will={"topic": "will/v5", "payload": b"bye5"}))
    c.send(mr.disconnect(mr.V5, reason=0x04))
    c.expect_closed(3)
    p = w.recv_publish()
    assert (p.topic, p.payload) == ("will/v5", b"bye5")


def test_v5_normal_disconnect_no_will(port, conns):
    w = watcher(port, conns, "will/v5n")
    c = conns(mr.client(port, "polite5", version=mr.V5,
                        will={"topic": "will/v5n", "payload": b"bye5"}))
    c.send(mr.disconnect(mr.V5, reason=0x00))
    c.expect_closed(3)
    marker(port, conns)
    assert w.publishes_until("marker") == []


def test_will_retain(port, conns):
    c = conns(mr.client(port, "dies-ret",
                        will={"topic": "will/r", "payload": b"ret", "retain": True}))
    c.close()
    # Poll with fresh subscribers until the retained will shows up (bounded).
    deadline = time.monotonic() + 5
    while True:
        s = conns(mr.client(port, "will-ret-sub"))
        s.sub([("will/r", 0), ("marker", 0)])
        s.send(mr.publish("marker", b""))
        got = s.publishes_until("marker")
        if got or time.monotonic() > deadline:
            break
        s.disconnect()
        time.sleep(0.05)
    assert [(p.payload, p.retain) for p in got] == [(b"ret", True)]


def test_v5_will_properties_passed_through(port, conns):
    w = watcher(port, conns, "will/props", version=mr.V5)
    will = {"topic": "will/props", "payload": b"{}", "properties": [
        (mr.CONTENT_TYPE, "application/json"), (mr.USER_PROPERTY, ("k", "v"))]}
    c = conns(mr.client(port, "dies-props", version=mr.V5, will=will))
    c.close()
    p = w.recv_publish()
    assert p.props.get(mr.CONTENT_TYPE) == "application/json"
    assert p.props.get(mr.USER_PROPERTY) == [("k", "v")]


def test_v5_will_delay_interval_delays_will(port, conns):
    w = watcher(port, conns, "will/delay", version=mr.V5)
    will = {"topic": "will/delay", "payload": b"late",
            "properties": {mr.WILL_DELAY_INTERVAL: 2}}
    c = conns(mr.client(port, "delayed", version=mr.V5, will=will,
                        properties={mr.SESSION_EXPIRY_INTERVAL: 30}))
    c.close()
    t0 = time.monotonic()
    p = w.recv_publish(5.0)
    elapsed = time.monotonic() - t0
    assert p.payload == b"late"
    assert 1.0 <= elapsed <= 4.5, elapsed


def test_v5_will_delay_cancelled_by_reconnect(port, conns):
    w = watcher(port, conns, "will/cancel", version=mr.V5)
    will = {"topic": "will/cancel", "payload": b"never",
            "properties": {mr.WILL_DELAY_INTERVAL: 1}}
    kw = dict(version=mr.V5, properties={mr.SESSION_EXPIRY_INTERVAL: 30})
    c = conns(mr.client(port, "comeback", will=will, **kw))
    c.close()
    c2 = conns(mr.client(port, "comeback", clean=False, **kw))
    assert c2.connack.session_present is True
    w.expect_silence(2.5)


def test_v5_will_delay_capped_by_session_expiry(port, conns):
    # The will is sent when the session ends, even if the will delay is longer.
    w = watcher(port, conns, "will/cap", version=mr.V5)
    will = {"topic": "will/cap", "payload": b"capped",
            "properties": {mr.WILL_DELAY_INTERVAL: 100}}
    c = conns(mr.client(port, "capped", version=mr.V5, will=will,
                        properties={mr.SESSION_EXPIRY_INTERVAL: 1}))
    c.close()
    p = w.recv_publish(5.0)
    assert p.payload == b"capped"
