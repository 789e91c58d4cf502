// proto::InboundAliases / OutboundAliases [MQTT-3.3.2-7..12].
#include "proto/topic_aliases.h"

#include <gtest/gtest.h>

namespace mq::proto {
namespace {

using codec::ReasonCode;

TEST(InboundAliases, SetThenUse) {
  InboundAliases a;
  auto r = a.resolve(3, "a/b", 10);
  EXPECT_EQ(r.error, ReasonCode::kSuccess);
  EXPECT_EQ(r.topic, "a/b");
  r = a.resolve(3, "", 10);
  EXPECT_EQ(r.error, ReasonCode::kSuccess);
  EXPECT_EQ(r.topic, "a/b");
  // Set again: the alias now means the new topic [MQTT-3.3.2-12].
  EXPECT_EQ(a.resolve(3, "c", 10).topic, "c");
  EXPECT_EQ(a.resolve(3, "", 10).topic, "c");
}

TEST(InboundAliases, OutOfRangeIsTopicAliasInvalid) {  // [MQTT-3.3.2-9, 3.3.2-10]
  InboundAliases a;
  EXPECT_EQ(a.resolve(0, "t", 10).error, ReasonCode::kTopicAliasInvalid);
  EXPECT_EQ(a.resolve(11, "t", 10).error, ReasonCode::kTopicAliasInvalid);
  EXPECT_EQ(a.resolve(1, "t", 0).error, ReasonCode::kTopicAliasInvalid);
  EXPECT_EQ(a.resolve(10, "t", 10).error, ReasonCode::kSuccess);
}

TEST(InboundAliases, UnknownAliasWithEmptyTopicIsProtocolError) {
  InboundAliases a;
  EXPECT_EQ(a.resolve(2, "", 10).error, ReasonCode::kProtocolError);
  a.resolve(1, "x", 10);
  EXPECT_EQ(a.resolve(2, "", 10).error, ReasonCode::kProtocolError);
  a.clear();  // a new connection starts empty
  EXPECT_EQ(a.resolve(1, "", 10).error, ReasonCode::kProtocolError);
}

TEST(OutboundAliases, FirstTopicsGetAliasesUntilTheMaximum) {
  OutboundAliases o;
  EXPECT_EQ(o.choose("a", 0).alias, 0);  // the peer takes none
  auto c = o.choose("a", 2);
  EXPECT_EQ(c.alias, 1);
  EXPECT_TRUE(c.is_new);
  // Not taken (e.g. the packet was too large to send): offered again.
  EXPECT_EQ(o.choose("a", 2).alias, 1);
  o.take("a", 1);
  c = o.choose("a", 2);
  EXPECT_EQ(c.alias, 1);
  EXPECT_FALSE(c.is_new);
  o.take("b", o.choose("b", 2).alias);
  c = o.choose("c", 2);  // table full: no alias
  EXPECT_EQ(c.alias, 0);
  EXPECT_FALSE(c.is_new);
  EXPECT_EQ(o.choose("b", 2).alias, 2);
  EXPECT_EQ(o.size(), 2u);
}

}  // namespace
}  // namespace mq::proto
