// proto keep-alive decisions with explicit times (no clock, no sleeping).
#include "proto/keepalive.h"

#include <gtest/gtest.h>

namespace mq::proto {
namespace {

TEST(KeepAlive, ServerAllowsOneAndAHalfPeriods) {  // [MQTT-3.1.2-24]
  EXPECT_FALSE(keepalive_expired(1000 + 15000, 1000, 10));
  EXPECT_TRUE(keepalive_expired(1000 + 15001, 1000, 10));
  EXPECT_FALSE(keepalive_expired(1'000'000'000, 0, 0));  // 0: no keep alive
}

TEST(KeepAlive, ClientPingsWhenQuietAndGivesUpWithoutPingresp) {
  PingState p;
  using A = PingState::Action;
  // Sent something 5 s ago with a 10 s period: nothing to do.
  EXPECT_EQ(p.on_timer(15000, 10000, 10000), A::kNone);
  EXPECT_EQ(p.on_timer(20000, 10000, 10000), A::kSendPing);
  EXPECT_TRUE(p.outstanding());
  // Answered: the next quiet period pings again.
  p.on_pingresp();
  EXPECT_EQ(p.on_timer(30000, 20000, 10000), A::kSendPing);
  // Not answered within a period: gone.
  EXPECT_EQ(p.on_timer(40000, 30000, 10000), A::kTimedOut);
  p.reset();  // a new connection
  EXPECT_FALSE(p.outstanding());
  EXPECT_EQ(p.on_timer(50000, 40000, 10000), A::kSendPing);
}

}  // namespace
}  // namespace mq::proto
