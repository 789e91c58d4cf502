// A bridge's queue in the store: its records round-trip into State and replay in order (added,
// sent with a packet identifier, PUBREC, completed), records naming an unknown message or
// entry are skipped, and inside the broker a QoS 1 message for an unreachable remote is in the
// journal before the local PUBACK is readable, survives an unclean stop (no shutdown, as after
// kill -9) and is kept by the next start-up snapshot. Also the bridge queue options.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "broker/config/config.h"
#include "broker/persist/persist_format.h"
#include "broker/persist/persist_journal.h"
#include "broker/persist/persist_records.h"
#include "broker/persist/persist_snapshot.h"
#include "temp_dir.h"
#include "../broker_harness.h"

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::broker::testing::persist_bridge_test {
namespace {

using codec::ProtocolVersion;

std::shared_ptr<Message> message(uint64_t id, std::string payload) {
  auto m = std::make_shared<Message>();
  m->store_id = id;
  m->topic = "edge/t";
  m->payload = std::move(payload);
  m->qos = 1;
  return m;
}

persist::StoredBridgeOut entry(uint64_t seq, MessagePtr msg, uint8_t qos, uint16_t pid = 0) {
  persist::StoredBridgeOut o;
  o.seq = seq;
  o.msg = std::move(msg);
  o.topic = "cloud/edge/t";
  o.qos = qos;
  o.packet_id = pid;
  return o;
}

TEST(PersistBridgeRecords, ReplayFollowsTheQueue) {
  persist::State st;
  std::string j;
  auto m1 = message(3, "one"), m2 = message(4, "two"), m3 = message(5, "three");
  persist::put_message(j, *m1);
  persist::put_message(j, *m2);
  persist::put_message(j, *m3);
  persist::put_bridge_add(j, "edge", entry(1, m1, 1));
  persist::put_bridge_add(j, "edge", entry(2, m2, 2, 77));  // sent at once: with its packet id
  auto retained = entry(3, m3, 1);
  retained.retain = true;
  persist::put_bridge_add(j, "edge", retained);
  persist::put_bridge_packet_id(j, "edge", 1, 9);
  persist::put_bridge_pubrec(j, "edge", 2);
  persist::put_bridge_del(j, "edge", 1);
  std::string data;
  persist::append_header(data, persist::Header{persist::FileKind::kJournal, 1});
  data += j;
  persist::ReplayResult r = persist::replay_journal(data, 1, st);
  EXPECT_EQ(r.records, 9u);
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_EQ(st.skipped, 0u);
  ASSERT_EQ(st.bridges.count("edge"), 1u);
  const auto& q = st.bridges.at("edge");
  ASSERT_EQ(q.size(), 2u);
  const persist::StoredBridgeOut& two = q.at(2);
  EXPECT_TRUE(two.pubrec_received);  // only PUBREL is left
  EXPECT_EQ(two.packet_id, 77);
  EXPECT_EQ(two.qos, 2);
  const persist::StoredBridgeOut& three = q.at(3);
  EXPECT_EQ(three.msg.get(), st.messages.at(5).get());  // shared with the message store
  EXPECT_EQ(three.topic, "cloud/edge/t");
  EXPECT_TRUE(three.retain);
  EXPECT_EQ(three.packet_id, 0);

  // Emptied: the bridge disappears from the state.
  persist::put_bridge_del(data, "edge", 2);
  persist::put_bridge_del(data, "edge", 3);
  persist::State fresh;
  persist::replay_journal(data, 1, fresh);
  EXPECT_EQ(fresh.bridges.count("edge"), 0u);
}

TEST(PersistBridgeRecords, UnknownReferencesAreSkipped) {
  persist::State st;
  std::string j;
  persist::append_header(j, persist::Header{persist::FileKind::kJournal, 1});
  persist::put_bridge_add(j, "edge", entry(1, message(99, "gone"), 1));  // message 99 unknown
  persist::put_bridge_del(j, "edge", 1);
  persist::put_bridge_packet_id(j, "other", 4, 2);
  persist::ReplayResult r = persist::replay_journal(j, 1, st);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(st.skipped, 3u);
  EXPECT_TRUE(st.bridges.empty());
}

TEST(PersistBridgeRecords, QosZeroIsMalformed) {
  persist::State st;
  std::string rec;
  auto m = message(3, "x");
  persist::put_message(rec, *m);
  std::string bad;
  persist::put_bridge_add(bad, "edge", entry(1, m, 0));
  // The record's payload starts after its framing: replay stops there with a problem.
  std::string data;
  persist::append_header(data, persist::Header{persist::FileKind::kJournal, 1});
  data += rec + bad;
  persist::ReplayResult r = persist::replay_journal(data, 1, st);
  EXPECT_EQ(r.records, 1u);
  EXPECT_GT(r.dropped_bytes, 0u);
  EXPECT_TRUE(st.bridges.empty());
}

persist::State on_disk(const TempDir& d) {
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

// A bridge whose remote never answers: a listening socket that never accepts would do, a port
// nobody listens on is simpler (connection refused, then a long backoff).
std::function<void(Config&)> edge(const TempDir& d, uint16_t dead_port) {
  return [&d, dead_port](Config& c) {
    c.persistence = true;
    c.persistence_filepath = d.path() + "/mosquitto.db";
    BridgeConfig b;
    b.name = "edge";
    b.addresses.push_back(BridgeAddress{"127.0.0.1", dead_port});
    b.remote_clientid = "edge-remote";
    b.local_clientid = "local.edge-remote";
    b.notifications = false;
    b.backoff_base = 60;
    b.backoff_cap = 60;
    BridgeTopic t;
    t.topic = "#";
    t.direction = BridgeDirection::kOut;
    t.qos = 1;
    t.local_prefix = "edge/";
    t.remote_prefix = "cloud/edge/";
    t.local_topic = "edge/#";
    t.remote_topic = "cloud/edge/#";
    b.topics.push_back(t);
    c.bridges.push_back(b);
  };
}

uint16_t unused_port() {
  // Bound and closed at once: nothing listens there for the rest of the test (loopback).
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(PersistBridge, QueuedForTheRemoteBeforeThePubackAndAfterAnUncleanStop) {
  TempDir dir("persist-bridge");
  const uint16_t dead = unused_port();
  {
    BrokerHarness h(edge(dir, dead));
    TestClient pub(h, ProtocolVersion::kV311);
    pub.connect_ok(make_connect("pub"));
    const std::string payload[3] = {"0", "1", "2"};  // the Publish holds views
    for (int i = 0; i < 3; i++) {
      pub.send(make_publish("edge/x", payload[i], 1, uint16_t(10 + i)));
      ReceivedPtr ack = pub.read();
      ASSERT_TRUE(ack && ack->is<codec::Puback>());
      // PUBACK seen: the message for the remote is on disk.
      persist::State st = on_disk(dir);
      ASSERT_EQ(st.bridges.count("edge"), 1u);
      ASSERT_EQ(st.bridges.at("edge").size(), size_t(i + 1));
      const persist::StoredBridgeOut& o = st.bridges.at("edge").rbegin()->second;
      EXPECT_EQ(o.msg->payload, payload[i]);
      EXPECT_EQ(o.topic, "cloud/edge/x");
      EXPECT_EQ(o.qos, 1);
    }
    pub.send(make_publish("other/x", "not bridged", 1, 20));
    ASSERT_TRUE(pub.read());
    EXPECT_EQ(on_disk(dir).bridges.at("edge").size(), 3u);
  }  // no shutdown(): only what the journal got survives
  {
    BrokerHarness h(edge(dir, dead));
    // The start-up snapshot folded the journal in and kept the queue.
    persist::State st = on_disk(dir);
    ASSERT_EQ(st.bridges.count("edge"), 1u);
    std::vector<std::string> got;
    for (const auto& [seq, o] : st.bridges.at("edge")) got.push_back(o.msg->payload.str());
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2"}));
  }
  {
    // Without the bridge in the configuration the queue is dropped (and logged).
    BrokerHarness h([&dir](Config& c) {
      c.persistence = true;
      c.persistence_filepath = dir.path() + "/mosquitto.db";
    });
    EXPECT_EQ(on_disk(dir).bridges.count("edge"), 0u);
  }
}

TEST(PersistBridge, QueueBoundsRefuseNewOrDropOldest) {
  for (BridgeQueuePolicy policy : {BridgeQueuePolicy::kRefuseNew, BridgeQueuePolicy::kDropOldest}) {
    TempDir dir("persist-bridge");
    auto tweak = edge(dir, unused_port());
    BrokerHarness h([&](Config& c) {
      tweak(c);
      c.bridges[0].max_queued_messages = 2;
      c.bridges[0].queue_policy = policy;
    });
    TestClient pub(h, ProtocolVersion::kV311);
    pub.connect_ok(make_connect("pub"));
    const std::string payload[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
      pub.send(make_publish("edge/x", payload[i], 1, uint16_t(10 + i)));
      ASSERT_TRUE(pub.read());
    }
    std::vector<std::string> got;
    persist::State st = on_disk(dir);
    for (const auto& [seq, o] : st.bridges.at("edge")) got.push_back(o.msg->payload.str());
    if (policy == BridgeQueuePolicy::kRefuseNew)
      EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
    else
      EXPECT_EQ(got, (std::vector<std::string>{"c", "d"}));
  }
}

TEST(PersistBridgeConfig, QueueOptions) {
  auto c = parse_config_text(
      "connection edge\naddress 127.0.0.1:1883\ntopic # out 1\n"
      "bridge_max_queued_messages 5\nbridge_max_queued_bytes 100\n"
      "bridge_queue_policy drop_oldest\n",
      "t.conf");
  ASSERT_TRUE(c.ok()) << c.error().context;
  ASSERT_EQ(c->bridges.size(), 1u);
  EXPECT_EQ(c->bridges[0].max_queued_messages, 5);
  EXPECT_EQ(c->bridges[0].max_queued_bytes, 100);
  EXPECT_EQ(c->bridges[0].queue_policy, BridgeQueuePolicy::kDropOldest);
  auto d = parse_config_text("connection edge\naddress 127.0.0.1\ntopic # out 1\n", "t.conf");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->bridges[0].max_queued_messages, -1);  // the broker's max_queued_messages
  EXPECT_EQ(d->bridges[0].queue_policy, BridgeQueuePolicy::kRefuseNew);
  for (const char* bad : {"bridge_queue_policy maybe", "bridge_max_queued_messages -1"}) {
    auto e = parse_config_text(std::string("connection edge\naddress 127.0.0.1\n") + bad + "\n",
                               "t.conf");
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().context.find("t.conf:3"), std::string::npos) << e.error().context;
  }
  // Outside a connection block it is a bridge option without a bridge.
  EXPECT_FALSE(parse_config_text("bridge_queue_policy drop_oldest\n", "t.conf").ok());
}

}  // namespace
}  // namespace mq::broker::testing::persist_bridge_test
