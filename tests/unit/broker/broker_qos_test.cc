// Delivery logic of the broker driven by a FakeClock: message expiry, the in-flight window
// (Receive Maximum, max_inflight_messages), per-session queues (max_queued_messages), QoS 2
// duplicates, redelivery on session resume, and the $SYS tick. Nothing sleeps.
#include <gtest/gtest.h>

#include "broker_harness.h"

namespace mq::broker {
namespace {

using codec::ProtocolVersion;
using codec::ReasonCode;
using testing::ack;
using testing::BrokerHarness;
using testing::make_connect;
using testing::make_publish;
using testing::payloads;
using testing::ReceivedPtr;
using testing::TestClient;

constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;

using Strings = std::vector<std::string>;

codec::Connect v5_connect(std::string_view id, bool clean_start, uint32_t session_expiry,
                          std::optional<uint16_t> receive_maximum = std::nullopt) {
  codec::Connect c = make_connect(id, clean_start);
  c.properties.session_expiry_interval = session_expiry;
  c.properties.receive_maximum = receive_maximum;
  return c;
}

// Publishes at QoS 1 and waits for the PUBACK.
void publish_qos1(TestClient& pub, std::string_view topic, std::string_view payload,
                  uint16_t packet_id, std::optional<uint32_t> expiry = std::nullopt) {
  codec::Publish p = make_publish(topic, payload, 1, packet_id);
  p.properties.message_expiry_interval = expiry;
  pub.send(p);
  ReceivedPtr r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Puback>()) << "no PUBACK for " << payload;
  EXPECT_EQ(r->as<codec::Puback>().packet_id, packet_id);
}

// "m<i>" (built with += : g++ 12 warns falsely about "m" + std::string with -Wrestrict).
std::string numbered(int i) {
  std::string s = "m";
  s += std::to_string(i);
  return s;
}

uint16_t publish_id(const ReceivedPtr& r) {
  return r->as<codec::Publish>().packet_id;
}

// --- message expiry --------------------------------------------------------------------------

// [MQTT-3.3.2-5] a message whose expiry passed while queued for an offline session is not
// delivered; [MQTT-3.3.2-6] the interval forwarded is what is left of it.
TEST(BrokerMessageExpiry, ExpiresWhileQueuedForAnOfflineSession) {
  BrokerHarness h;
  {
    TestClient s(h, kV5);
    s.connect_ok(v5_connect("sub", true, 300));
    EXPECT_EQ(s.subscribe("me/t", 1), 1);
    s.disconnect();
  }
  TestClient pub(h, kV5);
  pub.connect_ok(v5_connect("pub", true, 0));
  publish_qos1(pub, "me/t", "short", 1, 10);
  publish_qos1(pub, "me/t", "long", 2, 100);
  publish_qos1(pub, "me/t", "forever", 3);
  uint64_t dropped = h.broker().stats().publish_dropped;
  h.advance_ms(20'000);

  TestClient s(h, kV5);
  EXPECT_TRUE(s.connect_ok(v5_connect("sub", false, 300)));
  auto got = s.drain();
  ASSERT_EQ(payloads(got), (Strings{"long", "forever"})) << "expired message delivered";
  const auto& p = got[0]->as<codec::Publish>();
  EXPECT_EQ(p.properties.message_expiry_interval, uint32_t(80)) << "not the remaining time";
  EXPECT_FALSE(got[1]->as<codec::Publish>().properties.message_expiry_interval);
  EXPECT_EQ(h.broker().stats().publish_dropped, dropped + 1);
}

TEST(BrokerMessageExpiry, ForwardedUnchangedWhenDeliveredAtOnce) {
  BrokerHarness h;
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0));
  EXPECT_EQ(s.subscribe("me/t", 1), 1);
  TestClient pub(h, kV5);
  pub.connect_ok(v5_connect("pub", true, 0));
  publish_qos1(pub, "me/t", "x", 1, 42);
  ReceivedPtr r = s.read();
  ASSERT_TRUE(r && r->is<codec::Publish>());
  EXPECT_EQ(r->as<codec::Publish>().properties.message_expiry_interval, uint32_t(42));
}

// A message waiting for room in the in-flight window ages too: it is sent with the time left,
// or dropped once expired.
TEST(BrokerMessageExpiry, AgesWhileWaitingForTheInflightWindow) {
  BrokerHarness h;
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0, 1));
  EXPECT_EQ(s.subscribe("me/t", 1), 1);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  publish_qos1(pub, "me/t", "a", 1);
  publish_qos1(pub, "me/t", "c", 2);  // no expiry
  auto first = s.drain();
  ASSERT_EQ(payloads(first), Strings{"a"});

  TestClient pub5(h, kV5);
  pub5.connect_ok(v5_connect("pub5", true, 0));
  publish_qos1(pub5, "me/t", "b", 1, 5);
  publish_qos1(pub5, "me/t", "d", 2, 30);
  h.advance_ms(12'000);
  s.send(ack<codec::Puback>(publish_id(first[0])));
  ReceivedPtr r = s.read();
  ASSERT_TRUE(r && r->is<codec::Publish>());
  EXPECT_EQ(r->as<codec::Publish>().payload, "c");  // no expiry: survives
  s.send(ack<codec::Puback>(publish_id(r)));
  r = s.read();
  ASSERT_TRUE(r && r->is<codec::Publish>());
  EXPECT_EQ(r->as<codec::Publish>().payload, "d") << "expired message \"b\" was sent";
  EXPECT_EQ(r->as<codec::Publish>().properties.message_expiry_interval, uint32_t(18));
}

TEST(BrokerMessageExpiry, ExpiredRetainedMessageIsNotSentOnSubscribe) {
  BrokerHarness h;
  TestClient pub(h, kV5);
  pub.connect_ok(v5_connect("pub", true, 0));
  for (auto [topic, expiry] : {std::pair{"ret/a", 5u}, std::pair{"ret/b", 60u}}) {
    codec::Publish p = make_publish(topic, "kept", 0);
    p.retain = true;
    p.properties.message_expiry_interval = expiry;
    pub.send(p);
  }
  h.pump();  // stored at t = 0
  h.advance_ms(10'000);
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0));
  EXPECT_EQ(s.subscribe("ret/+", 0), 0);
  auto got = s.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->as<codec::Publish>().topic, "ret/b");
  EXPECT_EQ(got[0]->as<codec::Publish>().properties.message_expiry_interval, uint32_t(50));
}

// --- in-flight window ------------------------------------------------------------------------

// [MQTT-3.3.4-7] no more unacknowledged QoS 1/2 PUBLISH than the client's Receive Maximum.
TEST(BrokerInflight, ReceiveMaximumLimitsUnacknowledgedMessages) {
  BrokerHarness h;
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0, 2));
  EXPECT_EQ(s.subscribe("rm/t", 1), 1);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  for (uint16_t i = 1; i <= 4; i++) publish_qos1(pub, "rm/t", numbered(i), i);

  auto got = s.drain();
  ASSERT_EQ(payloads(got), (Strings{"m1", "m2"})) << "window of 2 not respected";
  s.send(ack<codec::Puback>(publish_id(got[0])));
  auto next = s.drain();
  ASSERT_EQ(payloads(next), Strings{"m3"}) << "one PUBACK releases exactly one message";
  s.send(ack<codec::Puback>(publish_id(got[1])));
  auto last = s.drain();
  ASSERT_EQ(payloads(last), Strings{"m4"});
  s.send(ack<codec::Puback>(publish_id(next[0])));
  s.send(ack<codec::Puback>(publish_id(last[0])));
  EXPECT_TRUE(s.drain().empty());
}

TEST(BrokerInflight, PubackForAnUnknownIdReleasesNothing) {
  BrokerHarness h;
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0, 1));
  EXPECT_EQ(s.subscribe("rm/t", 1), 1);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  publish_qos1(pub, "rm/t", "m1", 1);
  publish_qos1(pub, "rm/t", "m2", 2);
  auto got = s.drain();
  ASSERT_EQ(payloads(got), Strings{"m1"});
  s.send(ack<codec::Puback>(uint16_t(publish_id(got[0]) + 100)));
  EXPECT_TRUE(s.drain().empty());
}

TEST(BrokerInflight, MaxInflightMessagesLimitsV311Clients) {
  BrokerHarness h([](Config& c) { c.max_inflight_messages = 2; });
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sub"));
  EXPECT_EQ(s.subscribe("rm/t", 1), 1);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  for (uint16_t i = 1; i <= 3; i++) publish_qos1(pub, "rm/t", numbered(i), i);
  auto got = s.drain();
  ASSERT_EQ(payloads(got), (Strings{"m1", "m2"}));
  s.send(ack<codec::Puback>(publish_id(got[1])));  // out of order is fine
  EXPECT_EQ(payloads(s.drain()), Strings{"m3"});
}

TEST(BrokerInflight, ConnackAnnouncesMaxInflightAsReceiveMaximum) {
  BrokerHarness h([](Config& c) { c.max_inflight_messages = 7; });
  TestClient s(h, kV5);
  ReceivedPtr r = s.connect(make_connect("sub"));
  ASSERT_TRUE(r && r->is<codec::Connack>());
  EXPECT_EQ(r->as<codec::Connack>().properties.receive_maximum, uint16_t(7));
}

TEST(BrokerInflight, QosZeroIsNotHeldBackByTheWindow) {
  BrokerHarness h;
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0, 1));
  EXPECT_EQ(s.subscribe("rm/q1", 1), 1);
  EXPECT_EQ(s.subscribe("rm/q0", 0, 2), 0);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  publish_qos1(pub, "rm/q1", "one", 1);
  publish_qos1(pub, "rm/q1", "two", 2);
  pub.send(make_publish("rm/q0", "zero"));
  EXPECT_EQ(payloads(s.drain()), (Strings{"one", "zero"}));
}

// --- queue limits ----------------------------------------------------------------------------

TEST(BrokerQueue, MaxQueuedMessagesDropsAndCounts) {
  BrokerHarness h([](Config& c) { c.max_queued_messages = 3; });
  {
    TestClient s(h, kV311);
    s.connect_ok(make_connect("sub", false));
    EXPECT_EQ(s.subscribe("q/t", 1), 1);
    s.disconnect();
  }
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  uint64_t dropped = h.broker().stats().publish_dropped;
  for (uint16_t i = 0; i < 5; i++) publish_qos1(pub, "q/t", numbered(i), i + 1);
  EXPECT_EQ(h.broker().stats().publish_dropped, dropped + 2);

  TestClient s(h, kV311);
  EXPECT_TRUE(s.connect_ok(make_connect("sub", false)));
  EXPECT_EQ(payloads(s.drain()), (Strings{"m0", "m1", "m2"})) << "oldest kept, newest dropped";
}

TEST(BrokerQueue, OnlineClientQueueBehindAFullWindowIsLimitedToo) {
  BrokerHarness h([](Config& c) { c.max_queued_messages = 2; });
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub", true, 0, 1));
  EXPECT_EQ(s.subscribe("q/t", 1), 1);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  uint64_t dropped = h.broker().stats().publish_dropped;
  for (uint16_t i = 0; i < 5; i++) publish_qos1(pub, "q/t", numbered(i), i + 1);
  EXPECT_EQ(h.broker().stats().publish_dropped, dropped + 2);  // 1 in flight, 2 queued
  Strings all;
  for (int i = 0; i < 4; i++) {
    auto got = s.drain();
    for (auto& p : payloads(got)) all.push_back(p);
    if (got.empty()) break;
    s.send(ack<codec::Puback>(publish_id(got.back())));
  }
  EXPECT_EQ(all, (Strings{"m0", "m1", "m2"}));
}

TEST(BrokerQueue, QosZeroIsNotQueuedForOfflineSessionsByDefault) {
  BrokerHarness h;
  {
    TestClient s(h, kV311);
    s.connect_ok(make_connect("sub", false));
    EXPECT_EQ(s.subscribe("q/t", 0), 0);
    s.disconnect();
  }
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  uint64_t dropped = h.broker().stats().publish_dropped;
  pub.send(make_publish("q/t", "lost"));
  h.pump();
  EXPECT_EQ(h.broker().stats().publish_dropped, dropped + 1);
  TestClient s(h, kV311);
  EXPECT_TRUE(s.connect_ok(make_connect("sub", false)));
  EXPECT_TRUE(s.drain().empty());
}

TEST(BrokerQueue, QueueQos0MessagesKeepsThem) {
  BrokerHarness h([](Config& c) { c.queue_qos0_messages = true; });
  {
    TestClient s(h, kV311);
    s.connect_ok(make_connect("sub", false));
    EXPECT_EQ(s.subscribe("q/t", 0), 0);
    s.disconnect();
  }
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  pub.send(make_publish("q/t", "kept"));
  h.pump();
  TestClient s(h, kV311);
  EXPECT_TRUE(s.connect_ok(make_connect("sub", false)));
  EXPECT_EQ(payloads(s.drain()), Strings{"kept"});
}

// --- QoS 2 -----------------------------------------------------------------------------------

// [MQTT-4.3.3-9] a PUBLISH re-sent with a packet identifier not yet released by PUBREL is
// acknowledged again but not delivered twice.
TEST(BrokerQos2, DuplicateBeforePubrelIsNotDeliveredTwice) {
  BrokerHarness h;
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sub"));
  EXPECT_EQ(s.subscribe("q2/t", 0), 0);
  TestClient pub(h, kV5);
  pub.connect_ok(make_connect("pub"));

  codec::Publish p = make_publish("q2/t", "one", 2, 7);
  pub.send(p);
  ReceivedPtr r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubrec>());
  EXPECT_EQ(r->as<codec::Pubrec>().packet_id, 7);
  // Held until PUBREL (Mosquitto's order): nothing forwarded yet, and the PUBREC carries no
  // "no matching subscribers" code.
  EXPECT_EQ(r->as<codec::Pubrec>().reason_code, ReasonCode::kSuccess);
  EXPECT_TRUE(s.drain().empty()) << "QoS 2 message forwarded before PUBREL";

  p.dup = true;
  pub.send(p);
  r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubrec>()) << "re-sent PUBLISH not acknowledged";
  EXPECT_EQ(r->as<codec::Pubrec>().packet_id, 7);

  pub.send(ack<codec::Pubrel>(7));
  r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubcomp>());
  EXPECT_EQ(r->as<codec::Pubcomp>().packet_id, 7);
  EXPECT_EQ(r->as<codec::Pubcomp>().reason_code, ReasonCode::kSuccess);
  EXPECT_EQ(payloads(s.drain()), Strings{"one"}) << "not forwarded exactly once";

  // Released: the identifier may now carry a new message.
  pub.send(make_publish("q2/t", "two", 2, 7));
  r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubrec>());
  pub.send(ack<codec::Pubrel>(7));
  r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubcomp>());
  EXPECT_EQ(payloads(s.drain()), Strings{"two"});
}

// The set of QoS 2 identifiers awaiting PUBREL is session state: it survives a reconnect.
TEST(BrokerQos2, DuplicateAfterReconnectIsNotDeliveredTwice) {
  BrokerHarness h;
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sub"));
  EXPECT_EQ(s.subscribe("q2/t", 0), 0);
  codec::Publish p = make_publish("q2/t", "once", 2, 5);
  {
    TestClient pub(h, kV311);
    pub.connect_ok(make_connect("pub", false));
    pub.send(p);
    ReceivedPtr r = pub.read();
    ASSERT_TRUE(r && r->is<codec::Pubrec>());
    pub.close();  // PUBREC lost with the connection: the client will re-send
  }
  EXPECT_TRUE(s.drain().empty()) << "forwarded before PUBREL";
  TestClient pub(h, kV311);
  EXPECT_TRUE(pub.connect_ok(make_connect("pub", false)));
  p.dup = true;
  pub.send(p);
  ReceivedPtr r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubrec>());
  pub.send(ack<codec::Pubrel>(5));
  r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubcomp>());
  EXPECT_EQ(payloads(s.drain()), Strings{"once"}) << "not forwarded exactly once";
}

TEST(BrokerQos2, PubrelForAnUnknownIdGetsPacketIdentifierNotFound) {
  BrokerHarness h;
  TestClient pub(h, kV5);
  pub.connect_ok(make_connect("pub"));
  pub.send(ack<codec::Pubrel>(99));
  ReceivedPtr r = pub.read();
  ASSERT_TRUE(r && r->is<codec::Pubcomp>());
  EXPECT_EQ(r->as<codec::Pubcomp>().reason_code, ReasonCode::kPacketIdentifierNotFound);
}

TEST(BrokerQos2, OutgoingFlowCompletes) {
  BrokerHarness h;
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sub"));
  EXPECT_EQ(s.subscribe("q2/t", 2), 2);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  pub.send(make_publish("q2/t", "x", 2, 1));
  ASSERT_TRUE(pub.read());  // PUBREC
  pub.send(ack<codec::Pubrel>(1));
  ASSERT_TRUE(pub.read());  // PUBCOMP
  ReceivedPtr r = s.read();
  ASSERT_TRUE(r && r->is<codec::Publish>());
  EXPECT_EQ(r->as<codec::Publish>().qos, 2);
  uint16_t id = publish_id(r);
  s.send(ack<codec::Pubrec>(id));
  r = s.read();
  ASSERT_TRUE(r && r->is<codec::Pubrel>());
  EXPECT_EQ(r->as<codec::Pubrel>().packet_id, id);
  s.send(ack<codec::Pubcomp>(id));
  EXPECT_TRUE(s.drain().empty());
}

// --- redelivery on session resume -------------------------------------------------------------

// [MQTT-4.4.0-1] unacknowledged PUBLISH packets are re-sent with DUP set, in their order.
TEST(BrokerRedelivery, UnacknowledgedPublishResentWithDup) {
  BrokerHarness h;
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  std::vector<uint16_t> ids;
  {
    TestClient s(h, kV311);
    s.connect_ok(make_connect("sub", false));
    EXPECT_EQ(s.subscribe("rd/t", 1), 1);
    for (uint16_t i = 1; i <= 3; i++) publish_qos1(pub, "rd/t", numbered(i), i);
    auto got = s.drain();
    ASSERT_EQ(payloads(got), (Strings{"m1", "m2", "m3"}));
    for (const auto& r : got) {
      EXPECT_FALSE(r->as<codec::Publish>().dup);
      ids.push_back(publish_id(r));
    }
    s.send(ack<codec::Puback>(ids[1]));  // only m2 acknowledged
    s.close();
  }
  {
    TestClient s(h, kV311);
    EXPECT_TRUE(s.connect_ok(make_connect("sub", false)));
    auto again = s.drain();
    ASSERT_EQ(payloads(again), (Strings{"m1", "m3"})) << "acked message re-sent or order lost";
    EXPECT_TRUE(again[0]->as<codec::Publish>().dup);
    EXPECT_TRUE(again[1]->as<codec::Publish>().dup);
    EXPECT_EQ(publish_id(again[0]), ids[0]) << "packet identifier changed on redelivery";
    EXPECT_EQ(publish_id(again[1]), ids[2]);
    s.send(ack<codec::Puback>(ids[0]));
    s.send(ack<codec::Puback>(ids[2]));
    s.disconnect();
  }
  TestClient s(h, kV311);
  EXPECT_TRUE(s.connect_ok(make_connect("sub", false)));
  EXPECT_TRUE(s.drain().empty()) << "acknowledged messages re-sent";
}

TEST(BrokerRedelivery, PubrelResentAfterPubrec) {
  BrokerHarness h;
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  uint16_t id = 0;
  {
    TestClient s(h, kV5);
    s.connect_ok(v5_connect("sub", false, 600));
    EXPECT_EQ(s.subscribe("rd/q", 2), 2);
    pub.send(make_publish("rd/q", "x", 2, 1));
    ASSERT_TRUE(pub.read());  // PUBREC
    pub.send(ack<codec::Pubrel>(1));
    ASSERT_TRUE(pub.read());  // PUBCOMP
    ReceivedPtr r = s.read();
    ASSERT_TRUE(r && r->is<codec::Publish>());
    id = publish_id(r);
    s.send(ack<codec::Pubrec>(id));
    r = s.read();
    ASSERT_TRUE(r && r->is<codec::Pubrel>());
    s.close();  // before PUBCOMP
  }
  h.advance_ms(30'000, 1'000);
  {
    TestClient s(h, kV5);
    EXPECT_TRUE(s.connect_ok(v5_connect("sub", false, 600)));
    auto again = s.drain();
    ASSERT_EQ(again.size(), 1u);
    ASSERT_TRUE(again[0]->is<codec::Pubrel>()) << "PUBLISH re-sent after PUBREC";
    EXPECT_EQ(again[0]->as<codec::Pubrel>().packet_id, id);
    s.send(ack<codec::Pubcomp>(id));
    s.disconnect();
  }
  TestClient s(h, kV5);
  EXPECT_TRUE(s.connect_ok(v5_connect("sub", false, 600)));
  EXPECT_TRUE(s.drain().empty());
}

TEST(BrokerRedelivery, QueuedMessagesFollowTheResentOnes) {
  BrokerHarness h([](Config& c) { c.max_inflight_messages = 1; });
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  {
    TestClient s(h, kV311);
    s.connect_ok(make_connect("sub", false));
    EXPECT_EQ(s.subscribe("rd/t", 1), 1);
    publish_qos1(pub, "rd/t", "first", 1);
    ASSERT_EQ(payloads(s.drain()), Strings{"first"});
    s.close();
  }
  publish_qos1(pub, "rd/t", "second", 2);
  TestClient s(h, kV311);
  EXPECT_TRUE(s.connect_ok(make_connect("sub", false)));
  auto got = s.drain();
  ASSERT_EQ(payloads(got), Strings{"first"}) << "window of 1 exceeded on resume";
  EXPECT_TRUE(got[0]->as<codec::Publish>().dup);
  s.send(ack<codec::Puback>(publish_id(got[0])));
  auto next = s.drain();
  ASSERT_EQ(payloads(next), Strings{"second"});
  EXPECT_FALSE(next[0]->as<codec::Publish>().dup) << "a first transmission carries DUP";
}

// [MQTT-3.3.4-7] the window applies to re-sent messages too: a client that comes back with a
// smaller Receive Maximum must not get more unacknowledged PUBLISH packets than it allows.
// BUG: Broker::resume_session (handle_publish.cc) re-sends every in-flight message whatever
// inflight_window() of the new connection is.
TEST(BrokerRedelivery, ResentMessagesRespectTheNewReceiveMaximum) {
  BrokerHarness h;
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub"));
  {
    TestClient s(h, kV5);
    s.connect_ok(v5_connect("sub", true, 600, 3));
    EXPECT_EQ(s.subscribe("rd/t", 1), 1);
    for (uint16_t i = 1; i <= 3; i++) publish_qos1(pub, "rd/t", numbered(i), i);
    ASSERT_EQ(payloads(s.drain()), (Strings{"m1", "m2", "m3"}));
    s.close();  // none acknowledged
  }
  TestClient s(h, kV5);
  EXPECT_TRUE(s.connect_ok(v5_connect("sub", false, 600, 1)));
  auto got = s.drain();
  EXPECT_EQ(payloads(got), Strings{"m1"}) << "more in flight than the client's Receive Maximum";
  ASSERT_FALSE(got.empty());
  s.send(ack<codec::Puback>(publish_id(got[0])));
  EXPECT_EQ(payloads(s.drain()).size(), 1u);
}

// --- $SYS ------------------------------------------------------------------------------------

TEST(BrokerSys, UptimeUpdatedOnEachSysIntervalTick) {
  BrokerHarness h;  // sys_interval 10
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sys"));
  EXPECT_EQ(s.subscribe("$SYS/broker/uptime", 0), 0);
  ReceivedPtr r = s.read();
  ASSERT_TRUE(r && r->is<codec::Publish>()) << "no retained $SYS value on subscribe";
  EXPECT_EQ(r->as<codec::Publish>().payload, "0 seconds");
  EXPECT_TRUE(r->as<codec::Publish>().retain);

  h.advance_ms(9'500);
  EXPECT_TRUE(s.drain().empty()) << "$SYS published before the interval";
  h.advance_ms(1'000);
  r = s.read();
  ASSERT_TRUE(r && r->is<codec::Publish>());
  EXPECT_EQ(r->as<codec::Publish>().payload, "10 seconds");
  EXPECT_FALSE(r->as<codec::Publish>().retain) << "live message with RETAIN set (3.1.1)";
  h.advance_ms(10'000);
  EXPECT_EQ(payloads(s.drain()), Strings{"20 seconds"});
}

TEST(BrokerSys, ClientCountsFollowTheTick) {
  BrokerHarness h([](Config& c) { c.sys_interval = 2; });
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sys"));
  EXPECT_EQ(s.subscribe("$SYS/broker/clients/connected", 0), 0);
  EXPECT_EQ(payloads(s.drain()), Strings{"0"});  // as of the broker's start
  h.advance_ms(2'100);
  EXPECT_EQ(payloads(s.drain()), Strings{"1"});
  TestClient other(h, kV311);
  other.connect_ok(make_connect("other"));
  EXPECT_TRUE(s.drain().empty()) << "$SYS updated between ticks";
  h.advance_ms(2'000);
  EXPECT_EQ(payloads(s.drain()), Strings{"2"});
  h.advance_ms(2'000);
  EXPECT_TRUE(s.drain().empty()) << "unchanged value published again";
}

TEST(BrokerSys, SysIntervalZeroDisablesIt) {
  BrokerHarness h([](Config& c) { c.sys_interval = 0; });
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sys"));
  EXPECT_EQ(s.subscribe("$SYS/#", 0), 0);
  h.advance_ms(30'000, 1'000);
  EXPECT_TRUE(s.drain().empty());
}

}  // namespace
}  // namespace mq::broker

namespace mq::broker {
namespace {

// A 3.1.1 client with overlapping subscriptions gets one copy, at the highest QoS of those
// that match [MQTT-3.3.5-1] (Mosquitto 2.0 also sends one; it takes the first match's QoS);
// the dropped duplicates still use up a packet identifier, as in Mosquitto, so later
// identifiers match. An MQTT 5 client gets one copy per subscription.
TEST(BrokerOverlap, V311ClientGetsOneCopyAtTheHighestQos) {
  BrokerHarness h;
  TestClient s(h, kV311);
  s.connect_ok(make_connect("sub311", true));
  EXPECT_EQ(s.subscribe("o/+", 0), 0);
  EXPECT_EQ(s.subscribe("o/#", 1), 1);
  EXPECT_EQ(s.subscribe("o/x", 1), 1);
  TestClient pub(h, kV311);
  pub.connect_ok(make_connect("pub311", true));
  publish_qos1(pub, "o/x", "one", 1);
  publish_qos1(pub, "o/x", "two", 2);
  auto got = s.drain();
  ASSERT_EQ(payloads(got), (Strings{"one", "two"}));
  const auto& p1 = got[0]->as<codec::Publish>();
  EXPECT_EQ(p1.qos, 1);
  EXPECT_EQ(p1.packet_id, 1);
  // "one" took id 1 and its two dropped duplicates at QoS 1 ("o/#", "o/+" is QoS 0) id 2.
  EXPECT_EQ(got[1]->as<codec::Publish>().packet_id, 3);
}

TEST(BrokerOverlap, V5ClientGetsACopyPerSubscription) {
  BrokerHarness h;
  TestClient s(h, kV5);
  s.connect_ok(v5_connect("sub5", true, 0));
  EXPECT_EQ(s.subscribe("o/+", 0), 0);
  EXPECT_EQ(s.subscribe("o/#", 1), 1);
  TestClient pub(h, kV5);
  pub.connect_ok(v5_connect("pub5", true, 0));
  publish_qos1(pub, "o/x", "m", 1);
  auto got = s.drain();
  ASSERT_EQ(payloads(got), (Strings{"m", "m"}));
  EXPECT_EQ(got[0]->as<codec::Publish>().qos, 0);  // "o/+" first (Mosquitto's order)
  EXPECT_EQ(got[1]->as<codec::Publish>().qos, 1);
}

}  // namespace
}  // namespace mq::broker
