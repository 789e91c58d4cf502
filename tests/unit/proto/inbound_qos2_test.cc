#include "proto/inbound_qos2.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mq::proto {
namespace {

using codec::ReasonCode;

// Method B (broker, clients): the message is held until PUBREL and handed out once.
TEST(InboundQos2, HoldsUntilPubrelAndReleasesOnce) {
  InboundQos2<std::string> in;
  EXPECT_FALSE(in.is_resend(7));
  codec::Pubrec rec = in.accept(7, "first");
  EXPECT_EQ(rec.packet_id, 7);
  EXPECT_EQ(rec.reason_code, ReasonCode::kSuccess);
  EXPECT_EQ(in.size(), 1u);

  // The sender goes again (DUP) before PUBREL: PUBREC again, nothing new held [MQTT-4.3.3-9].
  EXPECT_TRUE(in.is_resend(7));
  EXPECT_EQ(InboundQos2<std::string>::resend_reply(7), (codec::Pubrec{7, ReasonCode::kSuccess, {}}));
  EXPECT_EQ(in.size(), 1u);

  std::string held;
  auto r = in.on_pubrel(7, UnknownPubrel::kNotFound, &held);
  EXPECT_TRUE(r.released);
  EXPECT_EQ(held, "first");
  EXPECT_EQ(r.reply, (codec::Pubcomp{7, ReasonCode::kSuccess, {}}));
  EXPECT_TRUE(in.empty());

  // A second PUBREL (the PUBCOMP was lost): still answered [MQTT-4.3.3-11], nothing released.
  held = "untouched";
  r = in.on_pubrel(7, UnknownPubrel::kSuccess, &held);
  EXPECT_FALSE(r.released);
  EXPECT_EQ(held, "untouched");
  EXPECT_EQ(r.reply, (codec::Pubcomp{7, ReasonCode::kSuccess, {}}));

  // After release the identifier is free: the same one is a new message again.
  EXPECT_FALSE(in.is_resend(7));
}

TEST(InboundQos2, UnknownPubrelReasonCode) {
  InboundQos2<NothingHeld> in;
  EXPECT_EQ(in.on_pubrel(3, UnknownPubrel::kSuccess).reply.reason_code, ReasonCode::kSuccess);
  EXPECT_EQ(in.on_pubrel(3, UnknownPubrel::kNotFound).reply.reason_code,
            ReasonCode::kPacketIdentifierNotFound);
  // A known identifier is released with success whatever the owner says of unknown ones.
  in.accept(3);
  auto r = in.on_pubrel(3, UnknownPubrel::kNotFound);
  EXPECT_TRUE(r.released);
  EXPECT_EQ(r.reply, (codec::Pubcomp{3, ReasonCode::kSuccess, {}}));
}

// Method A (bridge): delivered on PUBLISH, only the identifier waits; interleaved flows.
TEST(InboundQos2, InterleavedIdentifiers) {
  InboundQos2<NothingHeld> in;
  in.accept(2);
  in.accept(1);
  in.accept(65535);
  EXPECT_TRUE(in.is_resend(1));
  EXPECT_TRUE(in.is_resend(2));
  EXPECT_FALSE(in.is_resend(3));
  EXPECT_TRUE(in.on_pubrel(2, UnknownPubrel::kSuccess).released);
  EXPECT_FALSE(in.is_resend(2));
  EXPECT_TRUE(in.is_resend(1));
  EXPECT_EQ(in.size(), 2u);
  in.clear();
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(in.is_resend(1));
}

// What storage iterates and restores, in identifier order.
TEST(InboundQos2, RestoreAndIterate) {
  InboundQos2<int> in;
  in.restore(9, 90);
  in.restore(4, 40);
  std::vector<std::pair<uint16_t, int>> seen(in.begin(), in.end());
  EXPECT_EQ(seen, (std::vector<std::pair<uint16_t, int>>{{4, 40}, {9, 90}}));
  EXPECT_TRUE(in.is_resend(9));
  int held = 0;
  EXPECT_TRUE(in.on_pubrel(4, UnknownPubrel::kSuccess, &held).released);
  EXPECT_EQ(held, 40);
}

}  // namespace
}  // namespace mq::proto
