// proto::Endpoint fed decoded packets and a fake clock; a recording sink stands in for the
// owner (endpoint_recorder.h). Every event and packet the endpoint emits is written as one
// line of text, so each test states the exact sequence a role produces.
#include "proto/endpoint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "endpoint_recorder.h"

namespace mq::proto {
namespace {

using namespace endpoint_testing;  // NOLINT: the fixture's vocabulary, in every test

// --- acknowledgements from the peer (the sender's side) --------------------------------------

TEST(Endpoint, Qos1PubackCompletesAndUnknownAcksAreIgnored) {
  Fixture f(kBridgePolicy);
  f.connect();
  f.publish("a", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"admitted a m1", "PUBLISH a q1 m1"}));
  f.feed(codec::Pubcomp{1, ReasonCode::kSuccess, {}});  // wrong kind for QoS 1
  f.feed(codec::Puback{9, ReasonCode::kSuccess, {}});   // not in flight
  EXPECT_EQ(f.sink.take(), Lines{});
  f.feed(codec::Puback{1, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked a"}));
  EXPECT_TRUE(f.out.inflight.empty());
}

TEST(Endpoint, Qos2PubrecPubrelPubcomp) {
  Fixture f(kClientPolicy);
  f.connect();
  f.publish("b", 2, 40);  // a client's packet identifier, given when it published
  EXPECT_EQ(f.sink.take(), (Lines{"admitted b m40", "PUBLISH b q2 m40"}));
  f.feed(codec::Pubrec{40, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREL 40", "released b"}));
  f.feed(codec::Pubrec{40, ReasonCode::kSuccess, {}});  // again: PUBREL again
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREL 40", "released b"}));
  f.feed(codec::Pubcomp{40, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked b"}));
}

TEST(Endpoint, ErrorPubrecEndsTheFlow) {
  Fixture f(kClientPolicy);
  f.connect();
  f.publish("c", 2, 5);
  f.sink.take();
  f.feed(codec::Pubrec{5, ReasonCode::kNotAuthorized, {}});  // [MQTT-4.3.3-4]
  EXPECT_EQ(f.sink.take(), (Lines{"acked c"}));
  // An error PUBREC for nothing in flight gets no PUBREL, whatever the role.
  f.feed(codec::Pubrec{6, ReasonCode::kNotAuthorized, {}});
  EXPECT_EQ(f.sink.take(), Lines{});
}

TEST(Endpoint, UnknownPubrecByRole) {
  Fixture client(kClientPolicy), bridge(kBridgePolicy), v5(broker_policy(true)),
      v3(broker_policy(false));
  for (Fixture* f : {&client, &bridge, &v5, &v3}) f->feed(codec::Pubrec{3, ReasonCode::kSuccess, {}});
  EXPECT_EQ(client.sink.take(), (Lines{"PUBREL 3"}));  // as libmosquitto
  EXPECT_EQ(bridge.sink.take(), Lines{});
  EXPECT_EQ(v5.sink.take(), (Lines{"PUBREL 3 rc146"}));  // 0x92
  EXPECT_EQ(v3.sink.take(), Lines{});
}

// --- messages from the peer (the receiver's side) --------------------------------------------

TEST(Endpoint, Qos0AndQos1AreAcknowledgedBeforeDelivery) {
  Fixture f(kClientPolicy);
  f.feed(incoming("t/0", 0, 0));
  f.feed(incoming("t/1", 1, 7, "p"));
  EXPECT_EQ(f.sink.take(), (Lines{"received t/0", "deliver t/0 x", "received t/1", "PUBACK 7",
                                  "deliver t/1 p"}));
}

TEST(Endpoint, Qos2MethodBHoldsUntilPubrel) {
  Fixture f(kClientPolicy);
  f.feed(incoming("t", 2, 9, "one"));
  EXPECT_EQ(f.sink.take(), (Lines{"received t", "hold t", "PUBREC 9"}));
  f.feed(incoming("t", 2, 9, "one"));  // DUP before PUBREL: PUBREC again, nothing held again
  EXPECT_EQ(f.sink.take(), (Lines{"received t", "PUBREC 9"}));
  f.feed(codec::Pubrel{9, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"PUBCOMP 9", "deliver-held t one"}));
  f.feed(codec::Pubrel{9, ReasonCode::kSuccess, {}});  // the PUBCOMP was lost
  EXPECT_EQ(f.sink.take(), (Lines{"PUBCOMP 9"}));
}

TEST(Endpoint, BrokerForwardsTheHeldMessageBeforePubcomp) {
  Fixture f(broker_policy(false));
  f.feed(incoming("t", 2, 5, "m"));
  EXPECT_EQ(f.sink.take(), (Lines{"received t", "hold t", "PUBREC 5"}));
  f.feed(codec::Pubrel{5, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"deliver-held t m", "PUBCOMP 5"}));
}

// The broker's admission step: it decides the reason code, the endpoint answers.
TEST(Endpoint, AdmissionAnswersWithTheOwnersReasonCode) {
  Fixture f(broker_policy(true));
  int admitted = 0;
  auto refuse = [&](std::string* held) {
    admitted++;
    EXPECT_EQ(held == nullptr, true);  // QoS 0 and 1: nothing to hold
    return Admission::answer(ReasonCode::kNoMatchingSubscribers);
  };
  f.ep.on_publish_admit(incoming("t", 0, 0), refuse);
  f.ep.on_publish_admit(incoming("t", 1, 3), refuse);
  EXPECT_EQ(admitted, 2);
  EXPECT_EQ(f.sink.take(), (Lines{"PUBACK 3 rc16"}));  // 0x10
  // QoS 2 refused (an ACL): PUBREC with the code, nothing pending.
  f.ep.on_publish_admit(incoming("t", 2, 4),
                        [](std::string*) { return Admission::answer(ReasonCode::kNotAuthorized); });
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREC 4 rc135"}));
  EXPECT_TRUE(f.in.empty());
  // The owner closed the connection: nothing is sent.
  f.ep.on_publish_admit(incoming("t", 1, 5), [](std::string*) { return Admission::close(); });
  EXPECT_EQ(f.sink.take(), Lines{});
}

TEST(Endpoint, AdmissionHoldsQos2UntilPubrelAndAdmitsAResendOnce) {
  Fixture f(broker_policy(true));
  int admitted = 0;
  auto hold = [&](std::string* held) {
    admitted++;
    *held = "m" + std::to_string(admitted);
    return Admission::hold();
  };
  f.ep.on_publish_admit(incoming("t", 2, 6), hold);
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREC 6"}));
  f.ep.on_publish_admit(incoming("t", 2, 6), hold);  // a re-send [MQTT-4.3.3-9]
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREC 6"}));
  EXPECT_EQ(admitted, 1);
  f.feed(codec::Pubrel{6, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"deliver-held m1", "PUBCOMP 6"}));
  f.feed(codec::Pubrel{6, ReasonCode::kSuccess, {}});  // unknown now: 0x92 on MQTT 5
  EXPECT_EQ(f.sink.take(), (Lines{"PUBCOMP 6 rc146"}));
  f.ep.on_publish_admit(incoming("t", 2, 6), hold);  // released: a new message
  EXPECT_EQ(admitted, 2);
}

TEST(Endpoint, Qos2MethodADeliversOnPublish) {
  Fixture f(kBridgePolicy);
  f.feed(incoming("t", 2, 4, "a"));
  EXPECT_EQ(f.sink.take(), (Lines{"received t", "PUBREC 4", "deliver t a"}));
  f.feed(incoming("t", 2, 4, "a"));
  EXPECT_EQ(f.sink.take(), (Lines{"received t", "PUBREC 4"}));
  f.feed(codec::Pubrel{4, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"PUBCOMP 4"}));
}

TEST(Endpoint, UnknownPubrelByRole) {
  Fixture client(kClientPolicy), bridge(kBridgePolicy), v5(broker_policy(true)),
      v3(broker_policy(false));
  for (Fixture* f : {&client, &bridge, &v5, &v3}) f->feed(codec::Pubrel{8, ReasonCode::kSuccess, {}});
  EXPECT_EQ(client.sink.take(), (Lines{"PUBCOMP 8"}));
  EXPECT_EQ(bridge.sink.take(), (Lines{"PUBCOMP 8"}));
  EXPECT_EQ(v5.sink.take(), (Lines{"PUBCOMP 8 rc146"}));
  EXPECT_EQ(v3.sink.take(), (Lines{"PUBCOMP 8"}));
}

TEST(Endpoint, OtherPacketsAreTheOwners) {
  Fixture f(kClientPolicy);
  EXPECT_FALSE(f.ep.on_packet(codec::Suback{}, 0));
  EXPECT_FALSE(f.ep.on_packet(codec::Disconnect{}, 0));
  EXPECT_EQ(f.sink.take(), Lines{});
}

// --- receive maximum, queue, packet identifiers ----------------------------------------------

TEST(Endpoint, ReceiveMaximumWindowAndQueuePump) {
  Fixture f(kBridgePolicy);
  f.link.peer_receive_maximum = 2;
  f.connect();
  f.publish("a", 1);
  f.publish("b", 2);
  f.publish("c", 1);  // no room: waits
  f.publish("z", 0);  // QoS 0 needs no room: goes at once
  EXPECT_EQ(f.sink.take(), (Lines{"admitted a m1", "PUBLISH a q1 m1", "admitted b m2",
                                  "PUBLISH b q2 m2", "admitted c m0", "PUBLISH z q0 m0",
                                  "sent z"}));
  EXPECT_EQ(f.out.queue.size(), 1u);
  f.feed(codec::Puback{1, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked a", "window c m3", "PUBLISH c q1 m3"}));
  // Our own limit caps the peer's.
  f.link.own_inflight_limit = 1;
  f.publish("d", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"admitted d m0"}));
  f.feed(codec::Puback{3, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked c"}));  // b is still in flight: window full
  f.feed(codec::Pubrec{2, ReasonCode::kSuccess, {}});
  f.feed(codec::Pubcomp{2, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREL 2", "released b", "acked b", "window d m4",
                                  "PUBLISH d q1 m4"}));
}

TEST(Endpoint, QueuedWhileOfflineAndExpiredWhileQueued) {
  Fixture f(kBridgePolicy);
  f.publish("q0", 0);  // offline: the owner chose to queue QoS 0
  f.publish("old", 1);
  f.out.queue.back().expired = true;
  f.publish("new", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"admitted q0 m0", "admitted old m0", "admitted new m0"}));
  f.connect();
  EXPECT_EQ(f.sink.take(), (Lines{"PUBLISH q0 q0 m0", "sent q0", "expired old", "window new m1",
                                  "PUBLISH new q1 m1"}));
}

// --- topic aliases ----------------------------------------------------------------------------

TEST(Endpoint, InboundAliases) {
  Fixture f(kClientPolicy);
  f.link.inbound_alias_maximum = 2;
  codec::Publish set = incoming("long/topic", 0, 0, "1");
  set.properties.topic_alias = 2;
  f.feed(set);
  codec::Publish use = incoming("", 0, 0, "2");
  use.properties.topic_alias = 2;
  f.feed(use);
  EXPECT_EQ(f.sink.take(), (Lines{"received long/topic", "deliver long/topic 1",
                                  "received long/topic", "deliver long/topic 2"}));
  use.properties.topic_alias = 3;  // above the maximum [MQTT-3.3.2-10]
  f.feed(use);
  use.properties.topic_alias = 0;  // [MQTT-3.3.2-9]
  f.feed(use);
  use.properties.topic_alias = 1;  // never set
  f.feed(use);
  EXPECT_EQ(f.sink.take(), (Lines{"error 148", "error 148", "error 130"}));
  // A new connection starts with an empty table [MQTT-3.3.2-7].
  f.ep.on_closed();
  f.link.inbound_alias_maximum = 2;
  use.properties.topic_alias = 2;
  f.feed(use);
  EXPECT_EQ(f.sink.take(), (Lines{"error 130"}));
}

TEST(Endpoint, AliasesNotOfferedAreIgnoredButATopicIsNeeded) {
  Fixture f(kBridgePolicy);  // announces no Topic Alias Maximum
  codec::Publish p = incoming("a/b", 0, 0);
  p.properties.topic_alias = 1;
  f.feed(p);
  p.topic = "";
  f.feed(p);
  EXPECT_EQ(f.sink.take(), (Lines{"received a/b", "deliver a/b x", "error 130"}));
}

TEST(Endpoint, ServerRefusesAliasesItDidNotAnnounce) {
  // Mosquitto's broker: with no Topic Alias Maximum in its CONNACK any alias is above the
  // maximum [MQTT-3.3.2-9], even on a PUBLISH that carries its topic.
  Fixture f(broker_policy(true));
  codec::Publish p = incoming("a/b", 0, 0);
  p.properties.topic_alias = 1;
  f.feed(p);
  p.properties.topic_alias.reset();
  f.feed(p);
  EXPECT_EQ(f.sink.take(), (Lines{"error 148", "received a/b", "deliver a/b x"}));
}

// --- maximum packet size ----------------------------------------------------------------------

TEST(Endpoint, TooLargeIsDroppedAsIfSent) {
  Fixture f(kBridgePolicy);
  f.link.peer_maximum_packet_size = 100;
  f.link.own_maximum_packet_size = 50;  // the smaller applies
  f.connect();
  Msg big;
  big.name = "big";
  big.qos = 1;
  big.size = 60;
  f.ep.publish(big);
  big.qos = 0;
  big.name = "big0";
  f.ep.publish(big);
  f.publish("small", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"admitted big m1", "too-large big", "too-large big0",
                                  "admitted small m2", "PUBLISH small q1 m2"}));
  EXPECT_EQ(f.out.inflight.size(), 1u);  // [MQTT-3.1.2-25]: big left the window
}

// --- resend after a reconnect -----------------------------------------------------------------

TEST(Endpoint, ClientResendsWithDupAndPubrelInFirstSendOrder) {
  Fixture f(kClientPolicy);
  f.connect();
  f.publish("a", 2, 1);
  f.publish("b", 1, 2);
  f.publish("c", 2, 3);
  f.feed(codec::Pubrec{1, ReasonCode::kSuccess, {}});
  f.ep.on_closed();
  f.publish("d", 1, 4);  // while offline: waits
  f.sink.take();
  f.connect(false);  // libmosquitto resends even when the session is new
  EXPECT_EQ(f.sink.take(), (Lines{"PUBREL 1", "PUBLISH b q1 m2 dup", "PUBLISH c q2 m3 dup",
                                  "window d m4", "PUBLISH d q1 m4"}));
}

TEST(Endpoint, ClientForgetsInboundQos2WithTheConnection) {
  Fixture f(kClientPolicy);
  f.feed(incoming("t", 2, 9));
  f.ep.on_closed();
  EXPECT_TRUE(f.in.empty());
  Fixture b(kBridgePolicy);
  b.feed(incoming("t", 2, 9));
  b.ep.on_closed();
  EXPECT_FALSE(b.in.empty());
}

TEST(Endpoint, BridgeResendsWithDupOnlyWhenTheSessionWasKept) {
  for (bool present : {true, false}) {
    Fixture f(kBridgePolicy);
    f.link.peer_receive_maximum = 2;
    f.connect();
    f.publish("a", 2);
    f.publish("b", 1);
    f.publish("c", 1);  // queued
    f.feed(codec::Pubrec{1, ReasonCode::kSuccess, {}});
    f.feed(incoming("in", 2, 77));
    f.ep.on_closed();
    f.link.peer_receive_maximum = 2;  // from the new CONNACK
    f.sink.take();
    f.ep.on_connected(present, [&] {
      f.sink.log.push_back("first");
      Msg n;
      n.name = "notice";
      n.qos = 1;
      f.ep.publish_now(n);
    });
    if (present) {
      EXPECT_EQ(f.sink.take(), (Lines{"first", "PUBLISH notice q1 m3", "PUBREL 1",
                                      "PUBLISH b q1 m2 dup"}));
      EXPECT_FALSE(f.in.empty());
    } else {
      // PUBRECed a is forgotten; b goes again as new, ahead of the queue, window permitting.
      EXPECT_EQ(f.sink.take(), (Lines{"first", "PUBLISH notice q1 m3", "forgotten a",
                                      "window b m4", "PUBLISH b q1 m4"}));
      EXPECT_TRUE(f.in.empty());  // the remote's QoS 2 state is gone too
      ASSERT_EQ(f.out.queue.size(), 1u);
      EXPECT_EQ(f.out.queue.front().name, "c");
    }
  }
}

TEST(Endpoint, BrokerResumesNoMoreThanTheNewWindowAtOnce) {
  Fixture f(broker_policy(true));
  f.connect();
  f.publish("a", 1);
  f.publish("b", 2);
  f.publish("c", 1);
  f.feed(codec::Pubrec{2, ReasonCode::kSuccess, {}});
  f.ep.on_closed();
  f.publish("d", 1);  // while offline: queued
  f.link.peer_receive_maximum = 2;  // the new connection's [MQTT-3.3.4-7]
  f.sink.take();
  f.ep.on_connected(true);
  EXPECT_EQ(f.sink.take(), (Lines{"PUBLISH a q1 m1 dup", "PUBREL 2"}));
  EXPECT_EQ(f.out.unsent, 1u);  // c waits for room
  // c is acknowledged before it went again (it had reached the client before): nothing left
  // to re-send, and the window is still full with a and b.
  f.feed(codec::Puback{3, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked c"}));
  EXPECT_EQ(f.out.unsent, 0u);
  f.feed(codec::Puback{1, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked a", "window d m4", "PUBLISH d q1 m4"}));
}

TEST(Endpoint, BrokerResumeSendsTheRestAsTheWindowFrees) {
  Fixture f(broker_policy(true));
  f.connect();
  for (const char* n : {"a", "b", "c"}) f.publish(n, 1);
  f.ep.on_closed();
  f.link.peer_receive_maximum = 1;
  f.sink.take();
  f.ep.on_connected(true);
  EXPECT_EQ(f.sink.take(), (Lines{"PUBLISH a q1 m1 dup"}));
  f.feed(codec::Puback{1, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked a", "PUBLISH b q1 m2 dup"}));
  f.feed(codec::Puback{2, ReasonCode::kSuccess, {}});
  EXPECT_EQ(f.sink.take(), (Lines{"acked b", "PUBLISH c q1 m3 dup"}));
}

// --- keep alive -------------------------------------------------------------------------------

TEST(Endpoint, ClientPingsWhenQuietAndTimesOut) {
  Fixture f(kClientPolicy);
  f.link.keep_alive_s = 10;
  f.link.last_send_ms = 1000;
  EXPECT_EQ(f.ep.keepalive_due_ms(0), 11000);
  EXPECT_TRUE(f.ep.on_keepalive_timer(5000));  // not quiet for a period yet
  EXPECT_EQ(f.sink.take(), Lines{});
  EXPECT_TRUE(f.ep.on_keepalive_timer(11000));
  EXPECT_EQ(f.sink.take(), (Lines{"PINGREQ"}));
  f.link.last_send_ms = 11000;  // the owner's clock for what it wrote
  f.feed(codec::Pingresp{}, 12000);
  EXPECT_TRUE(f.ep.on_keepalive_timer(21000));
  EXPECT_EQ(f.sink.take(), (Lines{"PINGREQ"}));
  f.link.last_send_ms = 21000;
  EXPECT_FALSE(f.ep.on_keepalive_timer(31000));  // no PINGRESP within a period
}

TEST(Endpoint, BridgePingsEveryPeriod) {
  Fixture f(kBridgePolicy);
  f.link.keep_alive_s = 5;
  f.link.last_send_ms = 1000;  // recent traffic does not delay the bridge's ping
  EXPECT_EQ(f.ep.keepalive_due_ms(1000), 6000);
  EXPECT_TRUE(f.ep.on_keepalive_timer(1500));
  EXPECT_EQ(f.sink.take(), (Lines{"PINGREQ"}));
  EXPECT_FALSE(f.ep.on_keepalive_timer(6500));
}

TEST(Endpoint, ServerExpiresAfterOneAndAHalfPeriods) {
  Fixture f(broker_policy(true));
  f.link.keep_alive_s = 10;
  // Any packet counts as life, including the PINGREQ the owner answers itself.
  EXPECT_FALSE(f.ep.on_packet(codec::Pingreq{}, 1000));
  EXPECT_EQ(f.ep.keepalive_due_ms(0), 0);  // a server sends no PINGREQ
  EXPECT_FALSE(f.ep.keepalive_expired(16000));
  EXPECT_TRUE(f.ep.keepalive_expired(16001));
  f.link.keep_alive_s = 0;
  EXPECT_FALSE(f.ep.keepalive_expired(1000000));
}

}  // namespace
}  // namespace mq::proto
