// Persistence inside the broker, without a process: the journal holds a change before the
// acknowledgement that depends on it is readable by the client, and a broker built on the same
// files (as after kill -9: the first one is dropped without shutdown) restores sessions,
// subscriptions, queued messages and retained messages. Also the persistence option keys.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "broker/config/config.h"
#include "broker/persist/persist_journal.h"
#include "broker/persist/persist_snapshot.h"
#include "temp_dir.h"
#include "../broker_harness.h"

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::broker::testing::persist_broker_test {
namespace {

using codec::ProtocolVersion;

std::function<void(Config&)> persistent(const TempDir& d) {
  return [&d](Config& c) {
    c.persistence = true;
    c.persistence_filepath = d.path() + "/mosquitto.db";
  };
}

// Replays the journal as it is on disk now.
persist::State journal_now(const TempDir& d) {
  uint64_t gen = 0;
  auto snap = persist::read_file(d.path() + "/mosquitto.db");
  EXPECT_TRUE(snap.ok());
  auto st = persist::parse_snapshot(*snap, &gen);
  EXPECT_TRUE(st.ok());
  auto j = persist::read_file(d.path() + "/mosquitto.db.journal");
  EXPECT_TRUE(j.ok());
  persist::replay_journal(*j, gen, *st);
  return std::move(*st);
}

TEST(PersistBroker, JournalHoldsTheChangeBeforeTheAckArrives) {
  TempDir dir("persist-broker");
  BrokerHarness h(persistent(dir));
  TestClient sub(h, ProtocolVersion::kV311);
  EXPECT_FALSE(sub.connect_ok(make_connect("keeper", false)));
  // CONNACK seen: the session is on disk.
  EXPECT_EQ(journal_now(dir).sessions.count("keeper"), 1u);
  EXPECT_EQ(sub.subscribe("p/t", 1), 1);
  EXPECT_EQ(journal_now(dir).sessions.at("keeper").subscriptions.count("p/t"), 1u);
  sub.disconnect();

  TestClient pub(h, ProtocolVersion::kV311);
  pub.connect_ok(make_connect("pub"));
  pub.send(make_publish("p/t", "one", 1, 5));
  ReceivedPtr ack = pub.read();
  ASSERT_TRUE(ack && ack->is<codec::Puback>());
  // PUBACK seen: the queued message is on disk.
  persist::State st = journal_now(dir);
  ASSERT_EQ(st.sessions.at("keeper").outgoing.size(), 1u);
  EXPECT_EQ(st.sessions.at("keeper").outgoing.begin()->second.msg->payload, "one");

  codec::Publish r = make_publish("p/r", "kept", 1, 6);
  r.retain = true;
  pub.send(r);
  ack = pub.read();
  ASSERT_TRUE(ack && ack->is<codec::Puback>());
  EXPECT_EQ(journal_now(dir).retained.count("p/r"), 1u);
}

TEST(PersistBroker, RestoresEverythingAfterAnUncleanStop) {
  TempDir dir("persist-broker");
  {
    BrokerHarness h(persistent(dir));
    TestClient sub(h, ProtocolVersion::kV311);
    sub.connect_ok(make_connect("keeper", false));
    EXPECT_EQ(sub.subscribe("q/#", 1), 1);
    sub.disconnect();
    TestClient pub(h, ProtocolVersion::kV311);
    pub.connect_ok(make_connect("pub"));
    const std::string payload[3] = {"0", "1", "2"};  // the Publish holds views
    for (int i = 0; i < 3; i++) {
      codec::Publish p = make_publish("q/x", payload[i], 1, uint16_t(10 + i));
      p.retain = i == 2;
      pub.send(p);
      ASSERT_TRUE(pub.read());
    }
    h.pump();
  }  // no shutdown(): what is on disk is only what the journal got
  BrokerHarness h(persistent(dir));
  ASSERT_TRUE(h.broker().retained().find("q/x"));
  EXPECT_EQ(h.broker().retained().find("q/x")->payload, "2");
  TestClient sub(h, ProtocolVersion::kV311);
  EXPECT_TRUE(sub.connect_ok(make_connect("keeper", false)));
  std::vector<std::string> got;
  for (int i = 0; i < 3; i++) {
    ReceivedPtr r = sub.read();
    ASSERT_TRUE(r && r->is<codec::Publish>());
    got.emplace_back(r->as<codec::Publish>().payload);
    sub.send(ack<codec::Puback>(r->as<codec::Publish>().packet_id));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2"}));
}

TEST(PersistBroker, CorruptSnapshotStopsStartUp) {
  TempDir dir("persist-broker");
  { BrokerHarness h(persistent(dir)); }
  std::string path = dir.path() + "/mosquitto.db";
  FILE* f = fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  fseek(f, 30, SEEK_SET);
  fputc(0x55, f);
  fclose(f);
  Config c = loopback_config();
  persistent(dir)(c);
  auto loop = net::EventLoop::create(SystemClock::instance());
  ASSERT_TRUE(loop.ok());
  {
    Broker b(c, **loop);
    auto r = b.start();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().context.find("is corrupt at offset"), std::string::npos)
        << r.error().context;
  }
  c.persistence_corrupt_start_empty = true;
  Broker b(c, **loop);
  EXPECT_TRUE(b.start().ok());
}

TEST(PersistConfig, OptionKeys) {
  auto c = parse_config_text(
      "persistence true\npersistence_fsync true\n"
      "persistence_on_corrupt start_empty\n",
      "t.conf");
  ASSERT_TRUE(c.ok()) << c.error().context;
  EXPECT_TRUE(c->persistence_fsync);
  EXPECT_TRUE(c->persistence_corrupt_start_empty);
  auto d = parse_config_text("persistence_on_corrupt refuse\n", "t.conf");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->persistence_fsync);
  EXPECT_FALSE(d->persistence_corrupt_start_empty);
  EXPECT_FALSE(parse_config_text("persistence_on_corrupt maybe\n", "t.conf").ok());
}

}  // namespace
}  // namespace mq::broker::testing::persist_broker_test
