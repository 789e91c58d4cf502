// Mosquitto's mosquitto.db: a file written by Debian's Mosquitto 2.0.11 (data/, made by
// publishing to a real broker and stopping it with SIGTERM) converts into the State the
// broker installs; what the writer makes reads back the same; a damaged file is refused with
// an offset at every cut and never crashes (also run under ASan+UBSan).
#include "broker/persist/mosquitto_db.h"

#include <gtest/gtest.h>

#include <string>

#include "broker/persist/persist_snapshot.h"

namespace mq::broker::persist {
namespace {

// The golden file was written at unix time 1796527689..1796527690 with:
//  pub1 (MQTT 5): retained QoS 1 "keep/1" = "one";
//  s5 (MQTT 5, clean start false, session expiry 3600, user "u5"): q/# QoS 2 with No Local,
//     Retain As Published, Retain Handling 1, subscription identifier 7; $share/g/sh/+ QoS 1
//     (Mosquitto 2.0.11 does not save shared subscriptions); then disconnected;
//  s3 (3.1.1, clean session false): q/# QoS 1; received q/inf (QoS 1) without acknowledging it
//     and dropped the connection;
//  then published (s5, s3 offline): q/a QoS 1 with content type, a user property and a message
//     expiry interval of 600 s; q/b QoS 2; sh/x QoS 1;
//  r2 (3.1.1, clean session false): r/# QoS 2; r/x QoS 2 received, PUBREC sent, PUBREL seen,
//     connection dropped before PUBCOMP;
//  in2 (3.1.1, clean session false): sent PUBLISH QoS 2 packet id 42 "held/t", got PUBREC,
//     dropped the connection before PUBREL.
// Mosquitto 2.0.11 wrote the username "u5" for s3, r2 and in2 too (a length left over from s5,
// for s3 followed by stray heap bytes): the reader keeps what Mosquitto itself restores.
constexpr int64_t kWrittenAt = 1796527700;

std::string golden() {
  auto data = read_file(MQ_PERSIST_TEST_DATA "/mosquitto-2.0.11.db");
  EXPECT_TRUE(data.ok());
  return data.ok() ? *data : std::string();
}

const Outgoing& out_at(const StoredSession& s, size_t i) {
  auto it = s.outgoing.begin();
  std::advance(it, i);
  return it->second;
}

TEST(MosquittoDb, RecognisesTheMagic) {
  EXPECT_TRUE(is_mosquitto_db(golden()));
  EXPECT_FALSE(is_mosquitto_db(std::string("MQDB\r\n\x1a\n", 8)));
  EXPECT_FALSE(is_mosquitto_db(std::string("\0\xb5\0mosq", 8)));
}

TEST(MosquittoDb, ReadsWhatMosquitto2011Wrote) {
  auto im = parse_mosquitto_db(golden(), kWrittenAt);
  ASSERT_TRUE(im.ok()) << im.error().context;
  const State& st = im->state;
  EXPECT_EQ(im->version, 6u);
  EXPECT_EQ(im->counts.retained, 1u);
  EXPECT_EQ(im->counts.sessions, 4u);
  EXPECT_EQ(im->counts.subscriptions, 3u);
  EXPECT_EQ(im->counts.incoming, 1u);
  EXPECT_EQ(im->counts.expired, 0u);
  EXPECT_EQ(im->counts.skipped, 0u);

  ASSERT_EQ(st.retained.size(), 1u);
  const Message& keep = *st.messages.at(st.retained.at("keep/1"));
  EXPECT_EQ(keep.payload, "one");
  EXPECT_TRUE(keep.retain);
  EXPECT_EQ(keep.qos, 1);
  EXPECT_EQ(keep.origin_client_id(), "pub1");
  EXPECT_GT(st.next_store_id, st.retained.at("keep/1"));

  const StoredSession& s5 = st.sessions.at("s5");
  EXPECT_TRUE(s5.has_username);
  EXPECT_EQ(s5.username, "u5");
  EXPECT_EQ(s5.expiry_interval, 3600u);
  // Disconnected while the file was being made: the expiry time minus the interval.
  EXPECT_GE(s5.disconnect_unix_ms, (kWrittenAt - 30) * 1000);
  EXPECT_LE(s5.disconnect_unix_ms, kWrittenAt * 1000);
  ASSERT_EQ(s5.subscriptions.size(), 1u);
  const SessionSubscription& q = s5.subscriptions.at("q/#");
  EXPECT_EQ(q.filter, "q/#");
  EXPECT_EQ(q.options.qos, 2);
  EXPECT_TRUE(q.options.no_local);
  EXPECT_TRUE(q.options.retain_as_published);
  EXPECT_EQ(q.options.subscription_id, 7u);
  ASSERT_EQ(s5.outgoing.size(), 4u);  // q/inf, q/a, q/b, sh/x: all queued
  const char* topics[] = {"q/inf", "q/a", "q/b", "sh/x"};
  for (size_t i = 0; i < 4; i++) {
    const Outgoing& o = out_at(s5, i);
    EXPECT_EQ(o.msg->topic, topics[i]);
    EXPECT_EQ(o.packet_id, 0) << "queued: mq numbers it when it enters the window";
    EXPECT_EQ(o.subscription_id, i < 3 ? 7u : 0u);
  }
  EXPECT_EQ(out_at(s5, 2).qos, 2);
  const Message& qa = *out_at(s5, 1).msg;
  EXPECT_EQ(qa.payload, "A");
  ASSERT_TRUE(qa.properties().content_type);
  EXPECT_EQ(*qa.properties().content_type, "text/plain");
  ASSERT_EQ(qa.properties().user_properties.size(), 1u);
  EXPECT_EQ(qa.properties().user_properties[0], (std::pair<std::string, std::string>{"k", "v"}));
  EXPECT_GE(qa.expiry_unix_ms, (kWrittenAt + 500) * 1000);

  const StoredSession& s3 = st.sessions.at("s3");
  EXPECT_EQ(s3.expiry_interval, Session::kNeverExpires);
  EXPECT_EQ(s3.username, "u5");  // as Mosquitto 2.0.11 restores it
  ASSERT_EQ(s3.subscriptions.size(), 1u);
  EXPECT_EQ(s3.subscriptions.at("q/#").options.qos, 1);
  ASSERT_EQ(s3.outgoing.size(), 3u);
  EXPECT_EQ(out_at(s3, 0).msg->topic, "q/inf");
  EXPECT_EQ(out_at(s3, 0).packet_id, 1) << "in flight, unacknowledged";
  EXPECT_TRUE(out_at(s3, 0).dup);
  EXPECT_EQ(out_at(s3, 1).packet_id, 0);
  EXPECT_EQ(out_at(s3, 2).msg->topic, "q/b");
  EXPECT_EQ(out_at(s3, 2).qos, 1) << "downgraded to the subscription's QoS";

  const StoredSession& r2 = st.sessions.at("r2");
  ASSERT_EQ(r2.outgoing.size(), 1u);
  EXPECT_TRUE(out_at(r2, 0).pubrec_received);
  EXPECT_EQ(out_at(r2, 0).qos, 2);
  EXPECT_NE(out_at(r2, 0).packet_id, 0);

  const StoredSession& in2 = st.sessions.at("in2");
  ASSERT_EQ(in2.incoming_qos2.count(42), 1u);
  ASSERT_TRUE(in2.incoming_qos2.at(42));
  EXPECT_EQ(in2.incoming_qos2.at(42)->topic, "held/t");
  EXPECT_EQ(in2.incoming_qos2.at(42)->payload, "H");
}

TEST(MosquittoDb, DropsExpiredMessagesAsMosquittoDoes) {
  auto im = parse_mosquitto_db(golden(), kWrittenAt + 3600);
  ASSERT_TRUE(im.ok()) << im.error().context;
  EXPECT_EQ(im->counts.expired, 1u);  // q/a, 600 s
  EXPECT_EQ(im->counts.skipped, 0u);  // the queue entries naming it go silently
  EXPECT_EQ(im->state.sessions.at("s5").outgoing.size(), 3u);
  EXPECT_EQ(im->state.sessions.at("s3").outgoing.size(), 2u);
}

TEST(MosquittoDb, EveryCutIsRefusedOrEndsOnAChunk) {
  std::string g = golden();
  for (size_t n = 0; n < g.size(); n++) {
    auto im = parse_mosquitto_db(std::string_view(g).substr(0, n), kWrittenAt);
    if (!im.ok()) {
      EXPECT_EQ(im.error().kind, ErrorKind::kMalformed) << n;
      EXPECT_NE(im.error().context.find("offset"), std::string::npos) << n;
    }
  }
}

TEST(MosquittoDb, DamagedBytesNeverCrash) {
  std::string g = golden();
  for (size_t i = 15; i < g.size(); i++) {
    for (uint8_t v : {uint8_t(0x00), uint8_t(0xff), uint8_t(0x7f)}) {
      std::string d = g;
      d[i] = char(v);
      (void)parse_mosquitto_db(d, kWrittenAt);  // any result; ASan checks the reads
    }
  }
}

TEST(MosquittoDb, RefusesOtherVersionsAndStoreIdSizes) {
  std::string g = golden();
  std::string v4 = g;
  v4[22] = 4;
  auto im = parse_mosquitto_db(v4, kWrittenAt);
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.error().kind, ErrorKind::kUnsupported);
  EXPECT_NE(im.error().context.find("version 4"), std::string::npos);
  std::string dbid = g;
  dbid[23 + 8 + 9] = 4;  // cfg chunk: dbid_size
  im = parse_mosquitto_db(dbid, kWrittenAt);
  ASSERT_FALSE(im.ok());
  EXPECT_NE(im.error().context.find("store ids of 4 bytes"), std::string::npos);
}

// Version 5 (Mosquitto 1.6) differs only in the client chunk: 16 fixed bytes, no listener
// port, no username. The golden file rewritten that way reads the same, without usernames.
TEST(MosquittoDb, ReadsVersion5ClientChunks) {
  std::string g = golden();
  std::string v5 = g.substr(0, mosq_layout::kHeaderSize);
  v5[22] = 5;
  size_t at = mosq_layout::kHeaderSize;
  auto be32 = [&](size_t i) {
    return uint32_t(uint8_t(g[i])) << 24 | uint32_t(uint8_t(g[i + 1])) << 16 |
           uint32_t(uint8_t(g[i + 2])) << 8 | uint8_t(g[i + 3]);
  };
  while (at < g.size()) {
    uint32_t type = be32(at), len = be32(at + 4);
    std::string body = g.substr(at + 8, len);
    if (type == mosq_layout::kClient) {
      size_t id_len = size_t(uint8_t(body[14])) << 8 | uint8_t(body[15]);
      body = body.substr(0, mosq_layout::kClientSizeV5) +
             body.substr(mosq_layout::kClientSizeV6, id_len);
    }
    std::string head = g.substr(at, 4);
    uint32_t n = uint32_t(body.size());
    head += {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    v5 += head + body;
    at += 8 + len;
  }
  auto a = parse_mosquitto_db(g, kWrittenAt);
  auto b = parse_mosquitto_db(v5, kWrittenAt);
  ASSERT_TRUE(b.ok()) << b.error().context;
  EXPECT_EQ(b->version, 5u);
  EXPECT_EQ(b->counts.sessions, a->counts.sessions);
  EXPECT_EQ(b->counts.queued, a->counts.queued);
  EXPECT_EQ(b->counts.inflight, a->counts.inflight);
  EXPECT_EQ(b->counts.incoming, a->counts.incoming);
  EXPECT_EQ(b->counts.subscriptions, a->counts.subscriptions);
  EXPECT_FALSE(b->state.sessions.at("s5").has_username);
  EXPECT_EQ(b->state.sessions.at("s5").expiry_interval, 3600u);
  EXPECT_EQ(b->state.sessions.at("s5").disconnect_unix_ms,
            a->state.sessions.at("s5").disconnect_unix_ms);
}

TEST(MosquittoDb, WriterOutputReadsBackTheSame) {
  auto im = parse_mosquitto_db(golden(), kWrittenAt);
  ASSERT_TRUE(im.ok());
  MosquittoExport ex = write_mosquitto_db(im->state, kWrittenAt);
  EXPECT_EQ(ex.counts.skipped, 0u);
  auto back = parse_mosquitto_db(ex.data, kWrittenAt);
  ASSERT_TRUE(back.ok()) << back.error().context;
  EXPECT_EQ(back->counts.retained, im->counts.retained);
  EXPECT_EQ(back->counts.sessions, im->counts.sessions);
  EXPECT_EQ(back->counts.subscriptions, im->counts.subscriptions);
  EXPECT_EQ(back->counts.queued, im->counts.queued);
  EXPECT_EQ(back->counts.inflight, im->counts.inflight);
  EXPECT_EQ(back->counts.incoming, im->counts.incoming);
  for (const auto& [cid, s] : im->state.sessions) {
    const StoredSession& b = back->state.sessions.at(cid);
    EXPECT_EQ(b.username, s.username) << cid;
    EXPECT_EQ(b.expiry_interval, s.expiry_interval) << cid;
    EXPECT_EQ(b.disconnect_unix_ms, s.disconnect_unix_ms) << cid;
    ASSERT_EQ(b.outgoing.size(), s.outgoing.size()) << cid;
    for (size_t i = 0; i < s.outgoing.size(); i++) {
      const Outgoing &x = out_at(s, i), &y = out_at(b, i);
      EXPECT_EQ(x.packet_id, y.packet_id) << cid << i;
      EXPECT_EQ(x.qos, y.qos);
      EXPECT_EQ(x.pubrec_received, y.pubrec_received);
      EXPECT_EQ(x.subscription_id, y.subscription_id);
      if (!x.pubrec_received) {
        EXPECT_EQ(x.msg->topic, y.msg->topic);
        EXPECT_EQ(x.msg->payload, y.msg->payload);
        EXPECT_EQ(x.msg->properties().content_type, y.msg->properties().content_type);
        EXPECT_EQ(x.msg->properties().user_properties, y.msg->properties().user_properties);
        EXPECT_EQ(x.msg->expiry_unix_ms, y.msg->expiry_unix_ms);
      }
    }
    for (const auto& [key, sub] : s.subscriptions) {
      const SessionSubscription& bs = b.subscriptions.at(key);
      EXPECT_EQ(bs.options.qos, sub.options.qos);
      EXPECT_EQ(bs.options.no_local, sub.options.no_local);
      EXPECT_EQ(bs.options.retain_as_published, sub.options.retain_as_published);
      EXPECT_EQ(bs.options.subscription_id, sub.options.subscription_id);
    }
  }
}

// Mosquitto sends a queued message with the packet identifier it was queued with: the writer
// numbers queued QoS 1/2 messages after the in-flight ones, skipping identifiers in use.
TEST(MosquittoDb, WriterNumbersQueuedMessagesAfterInFlightOnes) {
  State st;
  auto m = std::make_shared<Message>();
  m->store_id = 5;
  m->topic = "t";
  m->payload = "p";
  m->qos = 1;
  st.messages[5] = m;
  st.next_store_id = 6;
  StoredSession& s = st.sessions["c"];
  s.expiry_interval = 60;
  s.disconnect_unix_ms = 1'000'000'000'000;
  auto add = [&](uint64_t seq, uint16_t pid, uint8_t qos, bool pubrec) {
    Outgoing o;
    o.seq = seq;
    o.packet_id = pid;
    o.qos = qos;
    o.pubrec_received = pubrec;
    o.msg = pubrec ? std::make_shared<Message>() : m;
    s.outgoing[seq] = o;
  };
  add(1, 65534, 1, false);
  add(2, 65535, 2, true);  // PUBREL pending
  add(3, 0, 1, false);
  add(4, 0, 0, false);
  add(5, 0, 2, false);
  SessionSubscription sub{"a/#", "g", SubscriptionOptions{1, false, true, 0, 9}};
  s.subscriptions["$share/g/a/#"] = sub;
  MosquittoExport ex = write_mosquitto_db(st, 2'000'000'000);
  EXPECT_EQ(ex.counts.inflight, 2u);
  EXPECT_EQ(ex.counts.queued, 3u);
  EXPECT_EQ(ex.counts.messages, 2u);  // the message and the PUBREL stand-in
  auto back = parse_mosquitto_db(ex.data, 1'000'000'100);
  ASSERT_TRUE(back.ok()) << back.error().context;
  const StoredSession& b = back->state.sessions.at("c");
  EXPECT_EQ(b.disconnect_unix_ms, 1'000'000'000'000);
  ASSERT_EQ(b.outgoing.size(), 5u);
  EXPECT_EQ(out_at(b, 0).packet_id, 65534);
  EXPECT_TRUE(out_at(b, 1).pubrec_received);
  EXPECT_EQ(out_at(b, 1).packet_id, 65535);
  const SessionSubscription& bs = b.subscriptions.at("$share/g/a/#");
  EXPECT_EQ(bs.filter, "a/#");
  EXPECT_EQ(bs.share_group(), "g");
  EXPECT_EQ(bs.options.subscription_id, 9u);
  // The packet identifiers Mosquitto will use: read them from the client message chunks.
  std::vector<uint16_t> mids;
  size_t at = mosq_layout::kHeaderSize;
  const std::string& d = ex.data;
  while (at + 8 <= d.size()) {
    uint32_t type = uint32_t(uint8_t(d[at + 3]));
    uint32_t len = uint32_t(uint8_t(d[at + 6])) << 8 | uint8_t(d[at + 7]);
    if (type == mosq_layout::kClientMsg)
      mids.push_back(uint16_t(uint8_t(d[at + 8 + 8]) << 8 | uint8_t(d[at + 8 + 9])));
    at += 8 + len;
  }
  EXPECT_EQ(mids, (std::vector<uint16_t>{65534, 65535, 1, 0, 2}));
}

}  // namespace
}  // namespace mq::broker::persist
