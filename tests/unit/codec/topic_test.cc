// Topic names, topic filters, matching and shared subscriptions (sections 4.7, 4.8).
#include "codec/topic.h"

#include <gtest/gtest.h>

#include <string>

namespace mq::codec {
namespace {

TEST(TopicName, Validity) {
  EXPECT_TRUE(valid_topic_name("a/b"));
  EXPECT_TRUE(valid_topic_name("/"));
  EXPECT_TRUE(valid_topic_name("$SYS/x"));
  EXPECT_TRUE(valid_topic_name(" "));
  EXPECT_FALSE(valid_topic_name(""));     // [MQTT-4.7.3-1]
  EXPECT_FALSE(valid_topic_name("a/+"));  // [MQTT-3.3.2-2]
  EXPECT_FALSE(valid_topic_name("a/#"));
  EXPECT_FALSE(valid_topic_name("a+b"));
  EXPECT_FALSE(valid_topic_name(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_topic_name(std::string(65536, 'a')));
  EXPECT_TRUE(valid_topic_name(std::string(65535, 'a')));
}

TEST(TopicFilter, Validity) {
  for (const char* ok : {"#", "+", "a/#", "a/+/b", "+/+", "/+", "+/", "a//b", "$share/g/t",
                         "sport/tennis/#", "$SYS/#"}) {
    EXPECT_TRUE(valid_topic_filter(ok)) << ok;
  }
  for (const char* bad : {"", "a/#/b", "#/", "a#", "a/b#", "+a", "a+/b", "a/++", "##", "a/#b"}) {
    EXPECT_FALSE(valid_topic_filter(bad)) << bad;  // [MQTT-4.7.1-1] [MQTT-4.7.1-2]
  }
}

TEST(TopicFilter, ManyLevels) {
  std::string filter;
  std::string topic;
  for (int i = 0; i < 30000; ++i) {  // 59999 bytes: tens of thousands of levels
    filter += i ? "/+" : "+";
    topic += i ? "/x" : "x";
  }
  EXPECT_TRUE(valid_topic_filter(filter));
  EXPECT_TRUE(topic_matches(filter, topic));
  EXPECT_FALSE(topic_matches(filter, topic + "/y"));
}

TEST(TopicMatches, SpecExamples) {
  // Section 4.7.1.2 and 4.7.1.3.
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  EXPECT_TRUE(topic_matches("sport/#", "sport"));
  EXPECT_TRUE(topic_matches("#", "a/b/c"));
  EXPECT_TRUE(topic_matches("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
  EXPECT_FALSE(topic_matches("sport/+", "sport"));
  EXPECT_TRUE(topic_matches("sport/+", "sport/"));
  EXPECT_TRUE(topic_matches("+/+", "/finance"));
  EXPECT_TRUE(topic_matches("/+", "/finance"));
  EXPECT_FALSE(topic_matches("+", "/finance"));
  EXPECT_TRUE(topic_matches("+", "finance"));
  EXPECT_TRUE(topic_matches("a/b", "a/b"));
  EXPECT_FALSE(topic_matches("a/b", "a/b/"));
  EXPECT_FALSE(topic_matches("a/b/", "a/b"));
  EXPECT_FALSE(topic_matches("a/b", "A/b"));  // case sensitive
  EXPECT_TRUE(topic_matches("a//b", "a//b"));
  EXPECT_TRUE(topic_matches("a/+/b", "a//b"));
}

TEST(TopicMatches, DollarTopics) {
  // [MQTT-4.7.2-1]
  EXPECT_FALSE(topic_matches("#", "$SYS/broker"));
  EXPECT_FALSE(topic_matches("+/broker", "$SYS/broker"));
  EXPECT_TRUE(topic_matches("$SYS/#", "$SYS/broker"));
  EXPECT_TRUE(topic_matches("$SYS/+", "$SYS/broker"));
  EXPECT_TRUE(topic_matches("a/#", "a/$b"));
}

TEST(SharedSubscription, Parses) {
  auto r = parse_shared("$share/group/a/+/#");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->group, "group");
  EXPECT_EQ((*r)->filter, "a/+/#");
  auto not_shared = parse_shared("a/b");
  ASSERT_TRUE(not_shared.ok());
  EXPECT_FALSE(not_shared->has_value());
  auto plain_share = parse_shared("$share");
  ASSERT_TRUE(plain_share.ok());
  EXPECT_FALSE(plain_share->has_value());
}

TEST(SharedSubscription, RejectsMalformed) {
  for (const char* bad : {"$share/ab", "$share//t", "$share/a+b/t", "$share/g/", "$share/#/t",
                          "$share/+/t", "$share/g/a/#/b", "$share/"}) {
    auto r = parse_shared(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().reason, 0x8F) << bad;
  }
}

}  // namespace
}  // namespace mq::codec
