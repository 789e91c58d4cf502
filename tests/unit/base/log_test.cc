#include "base/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mq {
namespace {

struct Capture {
  std::vector<std::string> lines;
  Capture() {
    logger().set_destinations({});
    logger().set_capture([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~Capture() {
    logger().set_capture(nullptr);
    logger().set_destinations({LogDest::kStderr});
    logger().set_mask(kLogDefault);
    logger().set_timestamp(true);
  }
};

TEST(Logger, FiltersByMask) {
  Capture cap;
  logger().set_timestamp(false);
  logger().set_mask(kLogError | kLogNotice);
  MQ_LOG(kLogError, "e %d", 1);
  MQ_LOG(kLogDebug, "d");
  MQ_LOG(kLogNotice, "n");
  ASSERT_EQ(cap.lines.size(), 2u);
  EXPECT_EQ(cap.lines[0], "e 1");
  EXPECT_EQ(cap.lines[1], "n");
}

TEST(Logger, EpochTimestampPrefix) {
  Capture cap;
  logger().set_timestamp(true);
  logger().log(kLogError, "hello");
  ASSERT_EQ(cap.lines.size(), 1u);
  const std::string& l = cap.lines[0];
  size_t colon = l.find(": ");
  ASSERT_NE(colon, std::string::npos);
  EXPECT_GT(colon, 8u);
  EXPECT_EQ(l.substr(colon), ": hello");
  for (size_t i = 0; i < colon; i++) EXPECT_TRUE(isdigit(l[i])) << l;
}

TEST(Logger, StrftimeTimestampPrefix) {
  Capture cap;
  logger().set_timestamp(true, "[%Y]");
  logger().log(kLogError, "x");
  ASSERT_EQ(cap.lines.size(), 1u);
  EXPECT_EQ(cap.lines[0].size(), std::string("[2026]: x").size());
  EXPECT_EQ(cap.lines[0].front(), '[');
}

TEST(Logger, LongMessagesAreNotTruncated) {
  Capture cap;
  logger().set_timestamp(false);
  std::string big(5000, 'a');
  logger().logf(kLogError, "%s!", big.c_str());
  ASSERT_EQ(cap.lines.size(), 1u);
  EXPECT_EQ(cap.lines[0], big + "!");
}

TEST(Logger, ParsesLogTypes) {
  uint32_t bits = 0;
  EXPECT_TRUE(parse_log_type("subscribe", &bits));
  EXPECT_EQ(bits, kLogSubscribe);
  EXPECT_TRUE(parse_log_type("all", &bits));
  EXPECT_EQ(bits, kLogAll);
  EXPECT_FALSE(parse_log_type("verbose", &bits));
}

TEST(Logger, TopicSinkGetsTheLineButNeverDebug) {
  std::vector<std::pair<uint32_t, std::string>> got;
  logger().set_topic_sink([&](uint32_t type, std::string_view line) { got.emplace_back(type, line); });
  logger().set_destinations({LogDest::kTopic});
  logger().set_timestamp(false);
  logger().set_mask(kLogAll);
  MQ_LOG(kLogNotice, "n %d", 1);
  MQ_LOG(kLogDebug, "d");
  MQ_LOG(kLogSubscribe, "c 0 a/b");
  // The sink is kept across set_destinations() (SIGHUP reconfigures the destinations).
  logger().set_destinations({LogDest::kTopic});
  logger().set_timestamp(true);
  MQ_LOG(kLogError, "e");
  logger().set_topic_sink(nullptr);
  logger().set_destinations({LogDest::kStderr});
  logger().set_mask(kLogDefault);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(uint32_t(kLogNotice), std::string("n 1")));
  EXPECT_EQ(got[1], std::make_pair(uint32_t(kLogSubscribe), std::string("c 0 a/b")));
  EXPECT_EQ(got[2].first, uint32_t(kLogError));
  EXPECT_TRUE(got[2].second.ends_with(": e")) << got[2].second;  // as a log file gets it
}

}  // namespace
}  // namespace mq
