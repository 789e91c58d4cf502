// persist::Keeper without a broker: a fake KeeperHost (a session table, a retained list, bridge
// queues, and a log of what the keeper asks of the connections) on a loop with a fake clock.
// What a snapshot reads through the host comes back through it after a restart, expired
// sessions stay out, a failed write withholds output until a snapshot succeeds, and with
// persistence_fsync output is held until the sync worker's fdatasync is done.
#include "broker/persist/keeper.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "broker/persist/persist_journal.h"
#include "broker/persist/persist_snapshot.h"
#include "temp_dir.h"
#include "broker/sessions/sessions.h"
#include "net/loop.h"

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::broker::testing::keeper_test {
namespace {

using persist::Keeper;
using persist::State;
using persist::StoredBridgeOut;

MessagePtr message(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                   uint64_t store_id) {
  return make_message(topic, payload, qos, retain, {}, 0, "origin", "", store_id);
}

class FakeHost final : public persist::KeeperHost, private SessionEvents {
 public:
  explicit FakeHost(net::EventLoop& loop) : sessions(loop, stats, *this) {}

  uint64_t next_id = 1;
  std::vector<MessagePtr> retained;
  Stats stats;
  Sessions sessions;
  std::map<std::string, std::vector<StoredBridgeOut>> bridges;
  std::map<std::string, int64_t> expiry_ms;  // arm_session_expiry, by client id
  std::vector<std::string> asked;            // what was asked about connections, in order
  std::vector<uint64_t> waiting;             // connections with output waiting

  uint64_t next_store_id() const override { return next_id; }
  void for_each_retained(const std::function<void(const std::vector<MessagePtr>&)>& fn) override {
    fn(retained);
  }
  void for_each_session(const std::function<void(Session&)>& fn) override {
    sessions.for_each([&](Session& s) { fn(s); });
  }
  void for_each_bridge_entry(
      const std::function<void(const std::string&, const StoredBridgeOut&)>& fn) override {
    for (const auto& [name, queue] : bridges)
      for (const StoredBridgeOut& o : queue) fn(name, o);
  }
  void raise_next_store_id(uint64_t at_least) override { next_id = std::max(next_id, at_least); }
  void restore_retained(const std::string&, const MessagePtr& msg) override {
    retained.push_back(msg);
  }
  Session& restore_session(const std::string& client_id) override {
    return sessions.add(client_id);
  }
  void restore_subscription(Session& s, const std::string& key,
                            const SessionSubscription& sub) override {
    s.put_subscription(key, sub);
  }
  void arm_session_expiry(Session& s, int64_t left_ms) override {
    expiry_ms[s.client_id()] = left_ms;
  }
  bool restore_bridge_queue(const std::string& bridge,
                            std::map<uint64_t, StoredBridgeOut>& queue) override {
    if (!bridges.count(bridge)) return false;
    for (auto& [seq, o] : queue) bridges[bridge].push_back(o);
    return true;
  }
  void refuse_unkept_output() override { asked.push_back("refuse"); }
  void hold_waiting_output(std::vector<uint64_t>& held) override {
    for (uint64_t id : waiting) {
      asked.push_back("hold " + std::to_string(id));
      held.push_back(id);
    }
    waiting.clear();
  }
  void release_output(uint64_t id) override { asked.push_back("release " + std::to_string(id)); }
  void drop_held_output(uint64_t id) override { asked.push_back("drop " + std::to_string(id)); }

 private:
  void publish_will_message(const MessagePtr&) override {}
  void session_offline(Session&) override {}
  void session_ending(Session&) override {}
};

class KeeperTest : public ::testing::Test {
 protected:
  KeeperTest() {
    saved_mask_ = logger().mask();
    logger().set_mask(0);
    auto loop = net::EventLoop::create(clock_);
    EXPECT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    config_.persistence = true;
    config_.persistence_filepath = dir_.path() + "/mosquitto.db";
  }
  ~KeeperTest() override { logger().set_mask(saved_mask_); }

  // A keeper and its host, loaded and started from what is on disk.
  struct Running {
    std::unique_ptr<FakeHost> host;
    std::unique_ptr<Keeper> keeper;
  };
  Running start(const std::function<void(FakeHost&)>& before_start = nullptr) {
    Running r;
    r.host = std::make_unique<FakeHost>(*loop_);
    r.keeper = std::make_unique<Keeper>(config_, *loop_, *r.host);
    if (before_start) before_start(*r.host);
    State st;
    EXPECT_TRUE(r.keeper->load(st).ok());
    r.keeper->start(st);
    return r;
  }

  TempDir dir_{"keeper"};
  FakeClock clock_;
  std::unique_ptr<net::EventLoop> loop_;
  Config config_;
  uint32_t saved_mask_ = 0;
};

TEST_F(KeeperTest, DisabledJournalsNothing) {
  FakeHost host(*loop_);
  Keeper keeper(config_, *loop_, host);
  Session& s = host.sessions.add("c");
  s.persisted = true;
  EXPECT_FALSE(keeper.enabled());
  EXPECT_EQ(keeper.journal(s), nullptr);
  EXPECT_EQ(keeper.journal_any(), nullptr);
  keeper.commit();
  keeper.save_now("test");
  EXPECT_FALSE(std::filesystem::exists(config_.persistence_filepath));
}

TEST_F(KeeperTest, WhatTheHostHoldsComesBackThroughIt) {
  {
    Running a = start([](FakeHost& h) {
      h.next_id = 42;
      h.retained.push_back(message("r/t", "kept", 1, true, 7));
      h.retained.push_back(message("$SYS/broker/uptime", "1", 0, true, 8));
      h.bridges["far"].push_back(StoredBridgeOut{});
      StoredBridgeOut& o = h.bridges["far"].back();
      o.seq = 1;
      o.msg = message("b/t", "remote", 1, false, 9);
      o.topic = "b/t";
      o.qos = 1;
    });
    // Sessions made after start-up are stored when a CONNECT attaches them.
    Session& kept = a.host->sessions.add("kept");
    kept.expiry_interval = Session::kNeverExpires;
    kept.put_subscription("s/#", SessionSubscription("s/#", "", SubscriptionOptions{}));
    a.keeper->session_attached(kept);
    EXPECT_TRUE(kept.persisted);
    Session& gone = a.host->sessions.add("gone");
    a.keeper->session_attached(gone);  // expiry 0: ends at disconnect, never stored
    EXPECT_FALSE(gone.persisted);
    EXPECT_EQ(a.keeper->journal(gone), nullptr);
    a.keeper->commit();
    a.keeper->save_now("test");  // snapshot: reads the host again
  }
  Running b = start([](FakeHost& h) { h.bridges["far"]; });
  EXPECT_EQ(b.host->next_id, 42u);
  ASSERT_EQ(b.host->retained.size(), 1u);  // $SYS topics are not stored
  EXPECT_EQ(b.host->retained[0]->payload, "kept");
  ASSERT_EQ(b.host->sessions.size(), 1u);
  Session* s = b.host->sessions.find(std::string_view("kept"));
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->persisted);
  EXPECT_EQ(s->subscriptions().size(), 1u);
  EXPECT_EQ(b.host->expiry_ms.count("kept"), 0u);  // never expires: no timer
  ASSERT_EQ(b.host->bridges["far"].size(), 1u);
  EXPECT_EQ(b.host->bridges["far"][0].msg->payload, "remote");
}

TEST_F(KeeperTest, SessionsThatExpiredWhileDownStayOut) {
  {
    Running a = start();
    for (const char* cid : {"short", "long"}) {
      Session& s = a.host->sessions.add(cid);
      s.expiry_interval = cid[0] == 's' ? 10 : 3600;
      a.keeper->session_attached(s);
      s.disconnected_unix_ms = clock_.unix_time() * 1000;
      if (std::string* j = a.keeper->journal(s))
        persist::put_session_disconnect(*j, s.client_id(), s.expiry_interval,
                                        s.disconnected_unix_ms);
    }
    a.keeper->commit();  // journaled only: the restart replays it
  }
  clock_.advance_ms(60'000);
  Running b = start();
  EXPECT_EQ(b.host->sessions.find(std::string_view("short")), nullptr);
  ASSERT_NE(b.host->sessions.find(std::string_view("long")), nullptr);
  ASSERT_EQ(b.host->expiry_ms.count("long"), 1u);
  EXPECT_EQ(b.host->expiry_ms["long"], (3600 - 60) * 1000);
}

TEST_F(KeeperTest, FailedWriteWithholdsOutputUntilASnapshotSucceeds) {
  FakeHost host(*loop_);
  Keeper keeper(config_, *loop_, host);
  State st;
  ASSERT_TRUE(keeper.load(st).ok());
  std::filesystem::remove_all(dir_.path());  // the start-up snapshot cannot be written
  keeper.start(st);
  persist::put_retain_del(*keeper.journal_any(), "t");
  keeper.commit();
  EXPECT_EQ(host.asked, std::vector<std::string>{"refuse"});
  // Within a second of the failure no snapshot is tried again: refused again.
  std::filesystem::create_directory(dir_.path());
  persist::put_retain_del(*keeper.journal_any(), "t");
  keeper.commit();
  EXPECT_EQ(host.asked.size(), 2u);
  // A second later the snapshot succeeds and the output goes.
  clock_.advance_ms(1000);
  persist::put_retain_del(*keeper.journal_any(), "t");
  keeper.commit();
  EXPECT_EQ(host.asked.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(config_.persistence_filepath));
}

TEST_F(KeeperTest, FsyncHoldsOutputUntilTheJournalIsSynced) {
  config_.persistence_fsync = true;
  Running a = start();
  a.host->waiting = {3, 5};
  Session& s = a.host->sessions.add("c");
  s.expiry_interval = 60;
  a.keeper->session_attached(s);
  a.keeper->commit();
  EXPECT_EQ(a.host->asked, (std::vector<std::string>{"hold 3", "hold 5"}));
  // The worker's fdatasync completes on its thread and posts back to the loop.
  for (int i = 0; i < 2000 && a.host->asked.size() < 4; i++) loop_->run_once(5);
  EXPECT_EQ(a.host->asked,
            (std::vector<std::string>{"hold 3", "hold 5", "release 3", "release 5"}));
  // Shutdown: what waits is synced on the loop thread, nothing is held.
  a.host->waiting = {9};
  a.keeper->session_attached(s);
  a.keeper->shutdown();
  EXPECT_EQ(a.host->asked.size(), 4u);
}

}  // namespace
}  // namespace mq::broker::testing::keeper_test
