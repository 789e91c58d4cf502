// Sessions (src/broker/sessions) on its own: an EventLoop driven by a FakeClock and a recording
// SessionEvents in place of the broker. No sockets: what a session's life does outside the
// table is seen as the calls it makes.
#include "broker/sessions/sessions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "net/loop.h"

namespace mq::broker {
namespace {

struct Recorder final : SessionEvents {
  std::vector<std::string> wills;    // topics of the wills published
  std::vector<std::string> offline;  // client ids
  std::vector<std::string> ending;   // client ids
  void publish_will_message(const MessagePtr& msg) override { wills.push_back(msg->topic); }
  void session_offline(Session& s) override { offline.push_back(s.client_id()); }
  void session_ending(Session& s) override { ending.push_back(s.client_id()); }
};

class SessionsTest : public ::testing::Test {
 protected:
  SessionsTest() {
    auto l = net::EventLoop::create(clock_);
    EXPECT_TRUE(l.ok());
    loop_ = std::move(*l);
    sessions_ = std::make_unique<Sessions>(*loop_, stats_, events_);
  }
  ~SessionsTest() override { sessions_.reset(); }

  // Moves the fake clock in steps of 100 ms, running the timers that fall due.
  void advance_ms(int64_t ms) {
    for (; ms > 0; ms -= 100) {
      clock_.advance_ms(std::min<int64_t>(ms, 100));
      loop_->run_once(0);
    }
  }

  std::unique_ptr<Will> will(std::string topic, uint32_t delay_s) {
    auto w = std::make_unique<Will>();
    w->msg = make_message(topic, "gone", 0, false, {}, 0, "c", "", 1);
    w->delay_interval = delay_s;
    return w;
  }

  Sessions::Attached attach(std::string_view cid, uint64_t conn, bool clean, uint32_t expiry,
                            std::unique_ptr<Will> w = nullptr) {
    Sessions::Attach a;
    a.client_id = cid;
    a.connection_id = conn;
    a.version = codec::ProtocolVersion::kV5;
    a.clean_start = clean;
    a.expiry_interval = expiry;
    a.username = &user_;
    a.will = std::move(w);
    return sessions_->attach(std::move(a));
  }

  FakeClock clock_;
  std::unique_ptr<net::EventLoop> loop_;
  Stats stats_;
  Recorder events_;
  OptionalString user_;
  std::unique_ptr<Sessions> sessions_;
};

TEST_F(SessionsTest, FoundByIdAndClientIdUntilItEnds) {
  auto [s, present] = attach("a", 7, true, 0);
  EXPECT_FALSE(present);
  SessionId id = s.id();
  EXPECT_EQ(sessions_->find(id), &s);
  EXPECT_EQ(sessions_->find(std::string_view("a")), &s);
  EXPECT_EQ(s.connection_id, 7u);
  EXPECT_EQ(sessions_->size(), 1u);
  // Expiry 0: the session ends with its connection, and its id then finds nothing.
  EXPECT_TRUE(sessions_->detach(id, 7, true));
  EXPECT_EQ(sessions_->size(), 0u);
  EXPECT_EQ(sessions_->find(id), nullptr);
  EXPECT_EQ(events_.ending, std::vector<std::string>{"a"});
}

TEST_F(SessionsTest, DetachByAnotherConnectionDoesNothing) {
  auto [s, present] = attach("a", 7, true, 0);
  EXPECT_FALSE(sessions_->detach(s.id(), 8, true));  // taken over meanwhile: not this one's
  EXPECT_EQ(sessions_->size(), 1u);
  EXPECT_TRUE(events_.ending.empty());
}

TEST_F(SessionsTest, ResumedWithinExpiryCleanStartDiscards) {
  auto first = attach("a", 1, true, 60);
  SessionId id = first.session.id();
  ASSERT_TRUE(sessions_->detach(id, 1, true));
  EXPECT_EQ(events_.offline, std::vector<std::string>{"a"});
  auto again = attach("a", 2, false, 60);
  EXPECT_TRUE(again.present);
  EXPECT_EQ(again.session.id(), id);
  EXPECT_EQ(again.session.disconnected_unix_ms, 0);
  ASSERT_TRUE(sessions_->detach(id, 2, true));
  auto fresh = attach("a", 3, true, 60);
  EXPECT_FALSE(fresh.present);
  EXPECT_NE(fresh.session.id(), id);
  EXPECT_EQ(events_.ending, std::vector<std::string>{"a"});
  // The discarded session's expiry timer was cancelled with it: nothing ends later.
  advance_ms(61'000);
  EXPECT_EQ(events_.ending.size(), 1u);
}

TEST_F(SessionsTest, ExpiryEndsAnOfflineSession) {
  auto [s, present] = attach("a", 1, true, 2);
  ASSERT_TRUE(sessions_->detach(s.id(), 1, false));
  advance_ms(1'900);
  EXPECT_EQ(sessions_->size(), 1u);
  advance_ms(200);
  EXPECT_EQ(sessions_->size(), 0u);
  EXPECT_EQ(uint64_t(stats_.clients_expired), 1u);
}

TEST_F(SessionsTest, WillNowAfterDelayOrDropped) {
  auto a = attach("now", 1, true, 0, will("w/now", 0));
  auto b = attach("later", 2, true, 60, will("w/later", 5));
  auto c = attach("clean", 3, true, 60, will("w/clean", 0));
  ASSERT_TRUE(sessions_->detach(a.session.id(), 1, true));
  ASSERT_TRUE(sessions_->detach(b.session.id(), 2, true));
  ASSERT_TRUE(sessions_->detach(c.session.id(), 3, /*send_will=*/false));  // normal DISCONNECT
  EXPECT_EQ(events_.wills, std::vector<std::string>{"w/now"});
  advance_ms(5'100);
  EXPECT_EQ(events_.wills, (std::vector<std::string>{"w/now", "w/later"}));
}

TEST_F(SessionsTest, ReconnectWithinWillDelayCancelsTheWill) {
  auto a = attach("a", 1, true, 60, will("w/a", 5));
  ASSERT_TRUE(sessions_->detach(a.session.id(), 1, true));
  auto again = attach("a", 2, false, 60);
  EXPECT_TRUE(again.present);
  advance_ms(6'000);
  EXPECT_TRUE(events_.wills.empty());
}

TEST_F(SessionsTest, EndingSessionSendsItsWaitingWill) {
  // Will delay longer than the session expiry: the will goes when the session ends.
  auto a = attach("a", 1, true, 2, will("w/a", 30));
  ASSERT_TRUE(sessions_->detach(a.session.id(), 1, true));
  advance_ms(2'100);
  EXPECT_EQ(events_.wills, std::vector<std::string>{"w/a"});
  EXPECT_EQ(sessions_->size(), 0u);
}

TEST(BoundedExpiry, OnlyNeverExpiringSessionsAreBounded) {
  EXPECT_EQ(bounded_expiry(Session::kNeverExpires, 0), Session::kNeverExpires);
  EXPECT_EQ(bounded_expiry(Session::kNeverExpires, 3600), 3600u);
  EXPECT_EQ(bounded_expiry(Session::kNeverExpires, int64_t(1) << 40), Session::kNeverExpires - 1);
  EXPECT_EQ(bounded_expiry(60, 10), 60u);
}

}  // namespace
}  // namespace mq::broker
