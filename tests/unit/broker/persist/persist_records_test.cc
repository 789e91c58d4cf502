// Persistence records, snapshots and journals: every record kind round-trips into a State;
// snapshots cut or damaged anywhere are refused with an offset, never half-loaded; journals cut
// or damaged anywhere recover exactly the records before the damage. Also run under ASan+UBSan.
#include "broker/persist/persist_records.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "broker/persist/persist_format.h"
#include "broker/persist/persist_journal.h"
#include "broker/persist/persist_snapshot.h"

namespace mq::broker::persist {
namespace {

std::shared_ptr<Message> sample_message(uint64_t id, std::string topic, std::string payload) {
  auto m = std::make_shared<Message>();
  m->store_id = id;
  m->topic = std::move(topic);
  m->payload = std::move(payload);
  m->qos = 1;
  m->retain = true;
  m->expiry_unix_ms = 1'800'000'000'000;
  MessageProperties mp;
  mp.payload_format_indicator = 1;
  mp.content_type = "text/plain";
  mp.response_topic = "reply/here";
  mp.correlation_data = std::string("\0\1\2", 3);
  mp.user_properties = {{"k", "v"}, {"k2", ""}};
  m->set_properties(std::move(mp));
  m->set_origin("pub", "alice");
  return m;
}

// A snapshot holding one of everything; `records` gets the number of records before kEnd.
std::string sample_body(uint64_t* records) {
  std::string out;
  uint64_t n = 0;
  put_meta(out, 42), n++;
  auto m1 = sample_message(7, "a/b", "hello");
  auto m2 = sample_message(9, "c", std::string(3000, 'x'));
  put_message(out, *m1), n++;
  put_message(out, *m2), n++;
  put_retain_set(out, "a/b", 7), n++;
  StoredSession s;
  s.username = "bob";
  s.has_username = true;
  s.version = 5;
  s.expiry_interval = 3600;
  s.disconnect_unix_ms = 1'700'000'000'123;
  put_session(out, "client-1", s), n++;
  SessionSubscription sub{"x/+", "", SubscriptionOptions{2, true, true, 1, 77}};
  put_sub_add(out, "client-1", "x/+", sub), n++;
  SessionSubscription shared{"y/#", "grp", SubscriptionOptions{1, false, false, 0, 0}};
  put_sub_add(out, "client-1", "$share/grp/y/#", shared), n++;
  Outgoing queued;
  queued.msg = m1;
  queued.qos = 1;
  queued.seq = 3;
  queued.subscription_id = 77;
  put_out_add(out, "client-1", queued), n++;
  Outgoing inflight;
  inflight.msg = m2;
  inflight.qos = 2;
  inflight.seq = 2;
  inflight.packet_id = 513;
  inflight.retain = true;
  put_out_add(out, "client-1", inflight), n++;
  Outgoing released;
  released.qos = 2;
  released.seq = 1;
  released.packet_id = 9;
  released.pubrec_received = true;
  put_out_add(out, "client-1", released), n++;
  put_qos2_in(out, "client-1", 300, 0), n++;  // as written before messages were held
  put_qos2_in(out, "client-1", 301, 7), n++;  // held until PUBREL: message 7
  *records = n;
  return out;
}

std::string sample_snapshot(uint64_t generation = 5) {
  std::string data;
  append_header(data, Header{FileKind::kSnapshot, generation});
  uint64_t n;
  data += sample_body(&n);
  put_end(data, n);
  return data;
}

TEST(PersistSnapshot, RoundTripsEveryField) {
  uint64_t gen = 0;
  auto st = parse_snapshot(sample_snapshot(), &gen);
  ASSERT_TRUE(st.ok()) << st.error().context;
  EXPECT_EQ(gen, 5u);
  EXPECT_EQ(st->next_store_id, 42u);
  ASSERT_EQ(st->messages.size(), 2u);
  const Message& m = *st->messages.at(7);
  EXPECT_EQ(m.topic, "a/b");
  EXPECT_EQ(m.payload, "hello");
  EXPECT_EQ(m.qos, 1);
  EXPECT_TRUE(m.retain);
  EXPECT_EQ(m.expiry_unix_ms, 1'800'000'000'000);
  EXPECT_EQ(m.properties().payload_format_indicator, 1);
  EXPECT_EQ(m.properties().content_type, "text/plain");
  EXPECT_EQ(m.properties().response_topic, "reply/here");
  EXPECT_EQ(m.properties().correlation_data, std::string("\0\1\2", 3));
  ASSERT_EQ(m.properties().user_properties.size(), 2u);
  EXPECT_EQ(m.properties().user_properties[1].first, "k2");
  EXPECT_EQ(m.origin_client_id(), "pub");
  EXPECT_EQ(m.origin_username(), "alice");
  EXPECT_EQ(st->messages.at(9)->payload.size(), 3000u);
  EXPECT_EQ(st->retained.at("a/b"), 7u);
  const StoredSession& s = st->sessions.at("client-1");
  EXPECT_EQ(s.username, "bob");
  EXPECT_TRUE(s.has_username);
  EXPECT_EQ(s.version, 5);
  EXPECT_EQ(s.expiry_interval, 3600u);
  EXPECT_EQ(s.disconnect_unix_ms, 1'700'000'000'123);
  ASSERT_EQ(s.subscriptions.size(), 2u);
  EXPECT_EQ(s.subscriptions.at("x/+").options, (SubscriptionOptions{2, true, true, 1, 77}));
  EXPECT_EQ(s.subscriptions.at("$share/grp/y/#").share_group(), "grp");
  EXPECT_EQ(s.subscriptions.at("$share/grp/y/#").filter, "y/#");
  ASSERT_EQ(s.outgoing.size(), 3u);
  auto it = s.outgoing.begin();  // ordered by seq
  EXPECT_EQ(it->second.seq, 1u);
  EXPECT_TRUE(it->second.pubrec_received);
  EXPECT_EQ(it->second.packet_id, 9);
  ++it;
  EXPECT_EQ(it->second.packet_id, 513);
  EXPECT_EQ(it->second.msg->store_id, 9u);
  EXPECT_TRUE(it->second.retain);
  ++it;
  EXPECT_EQ(it->second.packet_id, 0);
  EXPECT_EQ(it->second.subscription_id, 77u);
  EXPECT_EQ(it->second.msg.get(), st->messages.at(7).get());  // shared, stored once
  ASSERT_EQ(s.incoming_qos2.size(), 2u);
  EXPECT_EQ(s.incoming_qos2.at(300), nullptr);
  EXPECT_EQ(s.incoming_qos2.at(301).get(), st->messages.at(7).get());
}

TEST(PersistSnapshot, CutAtEveryByteIsRefusedWithAnOffset) {
  std::string data = sample_snapshot();
  for (size_t n = 0; n < data.size(); n++) {
    uint64_t gen;
    auto st = parse_snapshot(std::string_view(data).substr(0, n), &gen);
    ASSERT_FALSE(st.ok()) << "cut at " << n;
    EXPECT_NE(st.error().context.find("corrupt at offset"), std::string::npos);
  }
}

TEST(PersistSnapshot, EveryBitFlipIsRefused) {
  std::string data = sample_snapshot();
  for (size_t i = 0; i < data.size(); i++) {
    for (int bit = 0; bit < 8; bit += (data.size() > 2000 && i > 200 ? 7 : 1)) {
      std::string bad = data;
      bad[i] = char(bad[i] ^ (1 << bit));
      uint64_t gen;
      EXPECT_FALSE(parse_snapshot(bad, &gen).ok()) << "flip at " << i << " bit " << bit;
    }
  }
}

TEST(PersistSnapshot, TrailingDataAndWrongCountAreRefused) {
  uint64_t gen;
  EXPECT_FALSE(parse_snapshot(sample_snapshot() + "x", &gen).ok());
  std::string data;
  append_header(data, Header{FileKind::kSnapshot, 1});
  uint64_t n;
  data += sample_body(&n);
  put_end(data, n + 1);
  EXPECT_FALSE(parse_snapshot(data, &gen).ok());
  std::string journal;
  append_header(journal, Header{FileKind::kJournal, 1});
  put_end(journal, 0);
  EXPECT_FALSE(parse_snapshot(journal, &gen).ok());
}

// A journal of changes on top of the sample snapshot; `ends` gets each record's end offset.
std::string sample_journal(uint64_t generation, std::vector<size_t>* ends) {
  std::string j;
  append_header(j, Header{FileKind::kJournal, generation});
  auto mark = [&] { ends->push_back(j.size()); };
  put_out_packet_id(j, "client-1", 3, 514), mark();  // the queued message goes in flight
  put_out_pubrec(j, "client-1", 2), mark();
  put_out_del(j, "client-1", 1), mark();
  put_qos2_rel(j, "client-1", 300), mark();
  put_sub_del(j, "client-1", "x/+"), mark();
  put_retain_del(j, "a/b"), mark();
  auto m = sample_message(50, "new/t", "fresh");
  put_message(j, *m), mark();
  put_retain_set(j, "new/t", 50), mark();
  StoredSession s2;
  s2.expiry_interval = Session::kNeverExpires;
  put_session(j, "client-2", s2), mark();
  put_session_disconnect(j, "client-2", 60, 1234), mark();
  put_session_del(j, "client-1"), mark();
  return j;
}

TEST(PersistJournal, ReplaysOnTopOfTheSnapshot) {
  uint64_t gen;
  auto st = parse_snapshot(sample_snapshot(5), &gen);
  ASSERT_TRUE(st.ok());
  std::vector<size_t> ends;
  std::string j = sample_journal(5, &ends);
  ReplayResult r = replay_journal(j, 5, *st);
  EXPECT_EQ(r.records, ends.size());
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_TRUE(r.problem.empty());
  EXPECT_EQ(st->sessions.count("client-1"), 0u);
  EXPECT_EQ(st->sessions.at("client-2").expiry_interval, 60u);
  EXPECT_EQ(st->sessions.at("client-2").disconnect_unix_ms, 1234);
  EXPECT_EQ(st->retained.count("a/b"), 0u);
  EXPECT_EQ(st->retained.at("new/t"), 50u);
  EXPECT_EQ(st->next_store_id, 51u);
  EXPECT_EQ(st->skipped, 0u);
}

TEST(PersistJournal, IntermediateStatesAreRight) {
  uint64_t gen;
  auto st = parse_snapshot(sample_snapshot(5), &gen);
  ASSERT_TRUE(st.ok());
  std::vector<size_t> ends;
  std::string j = sample_journal(5, &ends);
  ReplayResult r = replay_journal(std::string_view(j).substr(0, ends[3]), 5, *st);
  EXPECT_EQ(r.records, 4u);
  const StoredSession& s = st->sessions.at("client-1");
  ASSERT_EQ(s.outgoing.size(), 2u);
  EXPECT_TRUE(s.outgoing.at(2).pubrec_received);
  EXPECT_EQ(s.outgoing.at(3).packet_id, 514);
  EXPECT_EQ(s.incoming_qos2.count(300), 0u);  // released by the journal
  EXPECT_EQ(s.incoming_qos2.size(), 1u);      // 301 still held
}

TEST(PersistJournal, StaleGenerationIsIgnored) {
  State st;
  std::vector<size_t> ends;
  ReplayResult r = replay_journal(sample_journal(4, &ends), 5, st);
  EXPECT_TRUE(r.stale);
  EXPECT_EQ(r.records, 0u);
  EXPECT_TRUE(st.retained.empty());
}

TEST(PersistJournal, CutAtEveryByteRecoversThePrefix) {
  std::vector<size_t> ends;
  std::string j = sample_journal(5, &ends);
  for (size_t n = 0; n <= j.size(); n++) {
    uint64_t gen;
    auto st = parse_snapshot(sample_snapshot(5), &gen);
    ASSERT_TRUE(st.ok());
    ReplayResult r = replay_journal(std::string_view(j).substr(0, n), 5, *st);
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= n) whole++;
    if (n < kHeaderSize) {
      EXPECT_EQ(r.records, 0u);
      EXPECT_EQ(r.dropped_bytes, n);
      continue;
    }
    EXPECT_EQ(r.records, whole) << "cut at " << n;
    size_t boundary = whole ? ends[whole - 1] : kHeaderSize;
    EXPECT_EQ(r.dropped_bytes, n - boundary) << "cut at " << n;
  }
}

TEST(PersistJournal, EveryBitFlipStopsReplayAtTheDamagedRecord) {
  std::vector<size_t> ends;
  std::string j = sample_journal(5, &ends);
  for (size_t i = 0; i < j.size(); i++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string bad = j;
      bad[i] = char(bad[i] ^ (1 << bit));
      uint64_t gen;
      auto st = parse_snapshot(sample_snapshot(5), &gen);
      ReplayResult r = replay_journal(bad, 5, *st);
      if (i < kHeaderSize) {
        // A damaged header drops the whole file (or, for the generation, marks it stale).
        EXPECT_EQ(r.records, 0u) << "flip at " << i;
        continue;
      }
      size_t damaged = 0;
      while (ends[damaged] <= i) damaged++;
      EXPECT_EQ(r.records, damaged) << "flip at " << i << " bit " << bit;
      EXPECT_GT(r.dropped_bytes, 0u);
    }
  }
}

TEST(PersistJournal, UnknownReferencesAreSkippedNotFatal) {
  State st;
  std::string j;
  append_header(j, Header{FileKind::kJournal, 0});
  put_sub_add(j, "nobody", "a", SessionSubscription{"a", "", {}});
  put_retain_set(j, "t", 99);
  put_out_del(j, "nobody", 1);
  ReplayResult r = replay_journal(j, 0, st);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(st.skipped, 3u);
  EXPECT_TRUE(st.sessions.empty());
}

TEST(PersistJournal, WriterAppendsAndRestartsDurably) {
  char tmpl[] = "/tmp/mq-persist-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/j";
  {
    JournalWriter w;
    ASSERT_TRUE(w.start(path, 3).ok());
    put_retain_del(w.pending(), "a");
    put_retain_del(w.pending(), "b");
    ASSERT_TRUE(w.commit(true).ok());
    EXPECT_FALSE(w.has_pending());
    put_retain_del(w.pending(), "c");
    ASSERT_TRUE(w.commit(false).ok());
    auto data = read_file(path);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(w.size(), data->size());
    State st;
    ReplayResult r = replay_journal(*data, 3, st);
    EXPECT_EQ(r.records, 3u);
    EXPECT_EQ(r.dropped_bytes, 0u);
    // Starting again (after a snapshot) leaves an empty journal of the new generation.
    ASSERT_TRUE(w.start(path, 4).ok());
  }
  auto data = read_file(path);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->size(), kHeaderSize);
  EXPECT_EQ(parse_header(*data)->generation, 4u);
  EXPECT_EQ(read_file(path + ".missing").error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(write_file_durably(path, sample_snapshot(9)).ok());
  uint64_t gen;
  EXPECT_TRUE(parse_snapshot(*read_file(path), &gen).ok());
  EXPECT_EQ(gen, 9u);
  unlink(path.c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace mq::broker::persist
