// proto::inbound_topic, the receiver's topic alias rules that Endpoint::on_publish applies and
// the broker calls before its session is looked up: the topic each PUBLISH resolves to, or why
// it is refused, on a plain LinkState and on a link whose table is made on first use.
#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "proto/endpoint.h"

namespace mq::proto {
namespace {

using codec::ReasonCode;

codec::Publish incoming(std::string_view topic) {
  codec::Publish p;
  p.topic = topic;
  p.payload = "x";
  return p;
}

TEST(InboundTopic, NamesWhyATopicIsRefused) {
  using Error = InboundTopic::Error;
  LinkState link;
  link.inbound_alias_maximum = 3;
  const EndpointPolicy server = broker_policy(true);
  codec::Publish p = incoming("");
  EXPECT_EQ(inbound_topic(server, link, p).error, Error::kNoTopic);
  p.properties.topic_alias = 2;
  InboundTopic r = inbound_topic(server, link, p);  // never set
  EXPECT_EQ(r.error, Error::kAliasUnknown);
  EXPECT_EQ(r.reason_code(), ReasonCode::kProtocolError);
  p.properties.topic_alias = 4;  // above the maximum [MQTT-3.3.2-10]
  r = inbound_topic(server, link, p);
  EXPECT_EQ(r.error, Error::kAliasInvalid);
  EXPECT_EQ(r.reason_code(), ReasonCode::kTopicAliasInvalid);
  p.properties.topic_alias = 0;  // [MQTT-3.3.2-9]
  EXPECT_EQ(inbound_topic(server, link, p).error, Error::kAliasInvalid);
  // A topic with an alias sets it; a later one replaces it.
  p.properties.topic_alias = 2;
  p.topic = "x/1";
  EXPECT_EQ(inbound_topic(server, link, p).topic, "x/1");
  p.topic = "x/2";
  EXPECT_EQ(inbound_topic(server, link, p).topic, "x/2");
  p.topic = "";
  r = inbound_topic(server, link, p);
  EXPECT_EQ(r.error, Error::kNone);
  EXPECT_EQ(r.topic, "x/2");
  // No alias: the topic as sent.
  p.properties.topic_alias.reset();
  p.topic = "y";
  r = inbound_topic(server, link, p);
  EXPECT_EQ(r.error, Error::kNone);
  EXPECT_EQ(r.topic, "y");
}

// An owner's link whose alias table is made only when an alias arrives (the broker's keeps
// idle connections small so).
struct LazyAliasLink {
  struct Table {
    std::unique_ptr<InboundAliases>* made;
    InboundAliases::Resolved resolve(uint16_t alias, std::string_view topic, uint16_t maximum) {
      if (!*made) *made = std::make_unique<InboundAliases>();
      return (*made)->resolve(alias, topic, maximum);
    }
  };
  std::unique_ptr<InboundAliases> table;
  uint16_t inbound_alias_maximum = 0;
  Table in_aliases{&table};
};

TEST(InboundTopic, TouchesTheTableOnlyForAnAlias) {
  LazyAliasLink link;
  link.inbound_alias_maximum = 2;
  codec::Publish p = incoming("a");
  EXPECT_EQ(inbound_topic(broker_policy(true), link, p).topic, "a");
  EXPECT_EQ(link.table, nullptr);
  p.properties.topic_alias = 1;
  EXPECT_EQ(inbound_topic(broker_policy(true), link, p).topic, "a");
  ASSERT_NE(link.table, nullptr);
  p.topic = "";
  EXPECT_EQ(inbound_topic(broker_policy(true), link, p).topic, "a");
}

}  // namespace
}  // namespace mq::proto
