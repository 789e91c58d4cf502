// proto::Outbound: the sender's QoS 1/2 rules fed acknowledgements directly, no sockets.
#include "proto/outbound.h"

#include <gtest/gtest.h>

#include <vector>

namespace mq::proto {
namespace {

using codec::PacketType;
using codec::ReasonCode;

struct Entry {
  uint16_t packet_id = 0;
  uint8_t qos = 0;
  bool pubrec_received = false;
  int tag = 0;
};

Entry make(Outbound<Entry>& o, uint8_t qos, int tag) {
  Entry e;
  e.packet_id = o.next_packet_id();
  e.qos = qos;
  e.tag = tag;
  return e;
}

TEST(Outbound, PacketIdsSkipThoseInFlightAndZero) {
  Outbound<Entry> o;
  for (int i = 0; i < 3; i++) o.inflight.push_back(make(o, 1, i));
  EXPECT_EQ(o.inflight.front().packet_id, 1);
  EXPECT_EQ(o.inflight.back().packet_id, 3);
  // Walk the counter around 65535: 1, 2, 3 are still in flight and are skipped; 0 never given.
  for (int i = 0; i < 65535 - 3; i++) (void)o.next_packet_id();
  EXPECT_EQ(o.next_packet_id(), 4);
}

TEST(Outbound, PubackCompletesOnlyQos1) {
  Outbound<Entry> o;
  o.inflight.push_back(make(o, 1, 10));  // id 1
  o.inflight.push_back(make(o, 2, 20));  // id 2
  Entry done;
  EXPECT_EQ(o.on_ack(PacketType::kPuback, 2, ReasonCode::kSuccess, &done), AckOutcome::kUnknown);
  EXPECT_EQ(o.on_ack(PacketType::kPuback, 9, ReasonCode::kSuccess, &done), AckOutcome::kUnknown);
  EXPECT_EQ(o.on_ack(PacketType::kPuback, 1, ReasonCode::kSuccess, &done), AckOutcome::kCompleted);
  EXPECT_EQ(done.tag, 10);
  ASSERT_EQ(o.inflight.size(), 1u);
  EXPECT_EQ(o.inflight.front().tag, 20);
}

TEST(Outbound, Qos2PubrecThenPubcomp) {
  Outbound<Entry> o;
  o.inflight.push_back(make(o, 2, 7));
  // PUBCOMP before PUBREC still completes the QoS 2 message (it names it).
  EXPECT_EQ(o.on_ack(PacketType::kPubrec, 1, ReasonCode::kSuccess), AckOutcome::kReleased);
  EXPECT_TRUE(o.inflight.front().pubrec_received);
  EXPECT_EQ(o.inflight.size(), 1u);  // stays until PUBCOMP
  // A second PUBREC (a re-send) asks for PUBREL again.
  EXPECT_EQ(o.on_ack(PacketType::kPubrec, 1, ReasonCode::kSuccess), AckOutcome::kReleased);
  Entry done;
  EXPECT_EQ(o.on_ack(PacketType::kPubcomp, 1, ReasonCode::kSuccess, &done), AckOutcome::kCompleted);
  EXPECT_EQ(done.tag, 7);
  EXPECT_TRUE(o.inflight.empty());
}

TEST(Outbound, ErrorPubrecEndsTheFlow) {  // [MQTT-4.3.3-4]
  Outbound<Entry> o;
  o.inflight.push_back(make(o, 2, 1));
  EXPECT_EQ(o.on_ack(PacketType::kPubrec, 1, ReasonCode::kNotAuthorized), AckOutcome::kCompleted);
  EXPECT_TRUE(o.inflight.empty());
}

TEST(Outbound, PubrecOrPubcompForQos1IsUnknown) {
  Outbound<Entry> o;
  o.inflight.push_back(make(o, 1, 1));
  EXPECT_EQ(o.on_ack(PacketType::kPubrec, 1, ReasonCode::kSuccess), AckOutcome::kUnknown);
  EXPECT_EQ(o.on_ack(PacketType::kPubcomp, 1, ReasonCode::kSuccess), AckOutcome::kUnknown);
  EXPECT_EQ(o.on_ack(PacketType::kPubrel, 1, ReasonCode::kSuccess), AckOutcome::kUnknown);
  EXPECT_EQ(o.inflight.size(), 1u);
}

TEST(Outbound, OutOfOrderAcksKeepSendOrderForResend) {
  Outbound<Entry> o;
  for (int i = 0; i < 4; i++) o.inflight.push_back(make(o, 2, i));  // ids 1..4
  EXPECT_EQ(o.on_ack(PacketType::kPubrec, 3, ReasonCode::kSuccess), AckOutcome::kReleased);
  EXPECT_EQ(o.on_ack(PacketType::kPubrec, 2, ReasonCode::kSuccess), AckOutcome::kReleased);
  EXPECT_EQ(o.on_ack(PacketType::kPubcomp, 2, ReasonCode::kSuccess), AckOutcome::kCompleted);
  std::vector<std::pair<int, bool>> sent;
  o.resend([&](Entry& e, bool pubrel) { sent.emplace_back(e.tag, pubrel); });
  // [MQTT-4.6.0-1]: first-send order; the PUBREC'd one goes as PUBREL [MQTT-4.4.0-1].
  std::vector<std::pair<int, bool>> want{{0, false}, {2, true}, {3, false}};
  EXPECT_EQ(sent, want);
}

TEST(Outbound, WindowFromReceiveMaximumAndOwnLimit) {
  EXPECT_EQ(inflight_window(65535, 20), 20u);
  EXPECT_EQ(inflight_window(5, 20), 5u);
  EXPECT_EQ(inflight_window(5, 0), 5u);  // 0: no limit of our own
  EXPECT_EQ(inflight_window(0, 0), 1u);  // never below one
  Outbound<Entry> o;
  EXPECT_TRUE(o.has_room(1));
  o.inflight.push_back(make(o, 1, 0));
  EXPECT_FALSE(o.has_room(1));
  EXPECT_TRUE(o.has_room(2));
}

TEST(Outbound, FindAfterEraseInTheMiddle) {
  Outbound<Entry> o;
  for (int i = 0; i < 40; i++) o.inflight.push_back(make(o, 1, i));
  for (uint16_t id = 1; id <= 40; id += 2)
    EXPECT_EQ(o.on_ack(PacketType::kPuback, id, ReasonCode::kSuccess), AckOutcome::kCompleted);
  EXPECT_EQ(o.inflight.size(), 20u);
  for (uint16_t id = 2; id <= 40; id += 2) {
    auto it = o.find(id);
    ASSERT_NE(it, o.inflight.end());
    EXPECT_EQ(it->tag, id - 1);
  }
  EXPECT_EQ(o.find(1), o.inflight.end());
}

}  // namespace
}  // namespace mq::proto
