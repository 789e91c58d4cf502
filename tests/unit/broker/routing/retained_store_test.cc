#include "broker/routing/retained_store.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::broker::retained_store_test {
namespace {

MessagePtr msg(std::string topic, std::string payload = "p", int64_t expiry = 0) {
  auto m = std::make_shared<Message>();
  m->topic = std::move(topic);
  m->payload = std::move(payload);
  m->retain = true;
  m->expiry_unix_ms = expiry;
  return m;
}

std::set<std::string> match_topics(const RetainedStore& store, std::string_view filter) {
  std::set<std::string> out;
  store.match(filter, [&](const MessagePtr& m) {
    EXPECT_TRUE(out.insert(m->topic).second) << "duplicate " << m->topic;
  });
  return out;
}

TEST(Retained, SetFindEraseAndCounters) {
  RetainedStore store;
  EXPECT_EQ(store.find("a/b"), nullptr);
  store.set("a/b", msg("a/b", "hello"));
  store.set("a", msg("a", "xy"));
  EXPECT_EQ(store.count(), 2u);
  EXPECT_EQ(store.payload_bytes(), 7u);
  ASSERT_NE(store.find("a/b"), nullptr);
  EXPECT_EQ(store.find("a/b")->payload, "hello");
  EXPECT_EQ(store.find("a/"), nullptr);
  EXPECT_EQ(store.find("a/b/c"), nullptr);

  store.set("a/b", msg("a/b", "replaced!"));  // replace
  EXPECT_EQ(store.count(), 2u);
  EXPECT_EQ(store.payload_bytes(), 11u);
  EXPECT_EQ(store.find("a/b")->payload, "replaced!");

  EXPECT_FALSE(store.erase("a/c"));
  EXPECT_FALSE(store.erase("a/b/c"));
  EXPECT_TRUE(store.erase("a"));
  EXPECT_FALSE(store.erase("a"));
  EXPECT_EQ(store.find("a"), nullptr);
  EXPECT_NE(store.find("a/b"), nullptr);  // erasing a parent keeps the child
  store.set("a/b", nullptr);              // null erases
  EXPECT_EQ(store.count(), 0u);
  EXPECT_EQ(store.payload_bytes(), 0u);
  EXPECT_EQ(store.node_count(), 0u);
}

struct MatchCase {
  const char* filter;
  const char* topic;
  bool match;
};

const MatchCase kCases[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},
    {"sport/#", "sports", false},
    {"sport/#", "sport/", true},
    {"#", "sport/tennis", true},
    {"#", "/", true},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+", "sport", true},
    {"+", "sport/", false},
    {"+", "/finance", false},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+/tennis/#", "sport/tennis", true},
    {"+/#", "a", true},
    {"a/+/#", "a", false},
    {"a/+/#", "a/b/c", true},
    {"a//b", "a//b", true},
    {"a/+/b", "a//b", true},
    {"a/b", "a//b", false},
    {"+/+/+", "a//b", true},
    {"/#", "/", true},
    {"+", "/", false},
    {"a/", "a/", true},
    {"a/", "a", false},
    {"/a", "a", false},
    {"$SYS/#", "$SYS/broker/uptime", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/+/uptime", "$SYS/broker/uptime", true},
    {"#", "$SYS/broker/uptime", false},
    {"#", "$SYS", false},
    {"+/broker/uptime", "$SYS/broker/uptime", false},
    {"+/#", "$SYS/broker", false},
    {"+", "$", false},
    {"x/+", "x/$y", true},
    {"x/#", "x/$y", true},
};

TEST(Retained, MatchTable) {
  for (const MatchCase& c : kCases) {
    RetainedStore store;
    store.set(c.topic, msg(c.topic));
    EXPECT_EQ(match_topics(store, c.filter).size(), c.match ? 1u : 0u)
        << "filter '" << c.filter << "' topic '" << c.topic << "'";
  }
}

TEST(Retained, MatchTableAllInOneStoreAndCursorAgrees) {
  RetainedStore store;
  std::set<std::string> topics, filters;
  for (const MatchCase& c : kCases) {
    topics.insert(c.topic);
    filters.insert(c.filter);
  }
  for (const auto& t : topics) store.set(t, msg(t));
  for (const auto& f : filters) {
    std::set<std::string> expected;
    for (const auto& t : topics) {
      RetainedStore one;
      one.set(t, msg(t));
      if (!match_topics(one, f).empty()) expected.insert(t);
    }
    EXPECT_EQ(match_topics(store, f), expected) << "filter '" << f << "'";
    // The cursor yields the same set, even with a budget of one node per call.
    RetainedCursor c = store.cursor(f);
    std::vector<MessagePtr> out;
    int calls = 0;
    while (!c.done()) {
      c.next(out, 1, 1);
      ASSERT_LT(++calls, 10000);
    }
    std::set<std::string> got;
    for (auto& m : out) got.insert(m->topic);
    EXPECT_EQ(got, expected) << "cursor filter '" << f << "'";
    EXPECT_EQ(out.size(), expected.size());
  }
}

TEST(Retained, PruningReturnsToBaseline) {
  RetainedStore store;
  std::mt19937 rng(7);
  std::vector<std::string> topics;
  for (int i = 0; i < 5000; ++i) {
    std::string t;
    int depth = 1 + rng() % 6;
    for (int d = 0; d < depth; ++d) {
      if (d) t += '/';
      t += std::to_string(rng() % 20);
    }
    topics.push_back(t);
    store.set(t, msg(t));
  }
  EXPECT_GT(store.node_count(), 0u);
  std::shuffle(topics.begin(), topics.end(), rng);
  for (const auto& t : topics) store.erase(t);
  EXPECT_EQ(store.count(), 0u);
  EXPECT_EQ(store.node_count(), 0u);
  EXPECT_EQ(store.payload_bytes(), 0u);
}

std::string topic_n(int i) {
  // Mix of flat fan-out and depth: "d/<i%100>/<i>".
  return "d/" + std::to_string(i % 100) + "/" + std::to_string(i);
}

TEST(Retained, CursorOverHundredThousandInBatches) {
  RetainedStore store;
  const int kN = 100000;
  for (int i = 0; i < kN; ++i) store.set(topic_n(i), msg(topic_n(i)));
  store.set("$SYS/x", msg("$SYS/x"));
  RetainedCursor c = store.cursor("#");
  std::set<std::string> seen;
  std::vector<MessagePtr> batch;
  size_t batches = 0;
  while (!c.done()) {
    batch.clear();
    size_t n = c.next(batch, 1000);
    ASSERT_EQ(n, batch.size());
    ASSERT_LE(n, 1000u);
    for (auto& m : batch) ASSERT_TRUE(seen.insert(m->topic).second) << m->topic;
    ++batches;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kN));
  EXPECT_EQ(seen.count("$SYS/x"), 0u);
  EXPECT_GE(batches, 100u);

  // A narrower filter touches only its branch.
  RetainedCursor c2 = store.cursor("d/7/+");
  batch.clear();
  while (!c2.done()) c2.next(batch, 10);
  EXPECT_EQ(batch.size(), static_cast<size_t>(kN / 100));
}

TEST(Retained, CursorConsistentUnderMutation) {
  RetainedStore store;
  const int kN = 20000;
  for (int i = 0; i < kN; ++i) store.set(topic_n(i), msg(topic_n(i), "v1"));
  const size_t baseline_nodes = store.node_count();

  RetainedCursor c = store.cursor("d/#");
  std::mt19937 rng(1);
  std::map<std::string, int> yielded;
  std::set<std::string> erased_unseen;  // erased before the cursor could reach them
  std::set<std::string> erased_any;
  std::vector<MessagePtr> batch;
  int added = 0;
  while (!c.done()) {
    batch.clear();
    c.next(batch, 500);
    for (auto& m : batch) {
      yielded[m->topic]++;
      EXPECT_EQ(erased_unseen.count(m->topic), 0u) << "erased topic yielded: " << m->topic;
      EXPECT_EQ(store.find(m->topic), m);  // the message current when it was reached
    }
    // Between batches: erase some (seen or not), replace some, add new ones, erase+re-add.
    for (int k = 0; k < 50; ++k) {
      std::string t = topic_n(rng() % kN);
      if (store.erase(t)) {
        erased_any.insert(t);
        if (!yielded.count(t)) erased_unseen.insert(t);
      }
      std::string r = topic_n(rng() % kN);
      if (!erased_any.count(r)) store.set(r, msg(r, "v2"));
      std::string n = "d/" + std::to_string(rng() % 120) + "/new" + std::to_string(added++);
      store.set(n, msg(n));
      store.erase(n);  // erased at once: must never be yielded
      erased_unseen.insert(n);
    }
  }
  for (const auto& [t, n] : yielded) EXPECT_EQ(n, 1) << "yielded twice: " << t;
  // Every topic retained for the whole walk was yielded exactly once.
  for (int i = 0; i < kN; ++i) {
    std::string t = topic_n(i);
    if (!erased_any.count(t)) {
      EXPECT_EQ(yielded.count(t), 1u) << t;
    }
  }
  // The cursor finished, so the nodes kept for it are pruned.
  EXPECT_EQ(store.count(), static_cast<size_t>(kN) - erased_any.size());
  EXPECT_LE(store.node_count(), baseline_nodes);
  std::vector<std::string> all;
  store.match("#", [&](const MessagePtr& m) { all.push_back(m->topic); });
  for (auto& t : all) store.erase(t);
  EXPECT_EQ(store.node_count(), 0u);
}

TEST(Retained, PruningDeferredWhileCursorAlive) {
  RetainedStore store;
  store.set("a/b/c", msg("a/b/c"));
  store.set("a/x", msg("a/x"));
  {
    RetainedCursor c = store.cursor("#");
    std::vector<MessagePtr> out;
    c.next(out, 1);
    EXPECT_TRUE(store.erase("a/b/c"));
    EXPECT_TRUE(store.erase("a/x"));
    EXPECT_EQ(store.node_count(), 4u);  // kept while the cursor may point at them
    EXPECT_EQ(store.count(), 0u);
    store.set("a/b", msg("a/b"));         // revive a deferred node
    RetainedCursor moved = std::move(c);  // moving keeps the registration
    EXPECT_TRUE(c.done());
    while (!moved.done()) moved.next(out, 100);
    EXPECT_EQ(store.node_count(), 2u);  // finished: pruned at once, not at destruction
  }
  EXPECT_EQ(store.node_count(), 2u);
  EXPECT_EQ(store.find("a/b")->topic, "a/b");
  EXPECT_TRUE(store.erase("a/b"));
  EXPECT_EQ(store.node_count(), 0u);

  // An abandoned (unfinished) cursor releases on destruction.
  store.set("q/1", msg("q/1"));
  store.set("q/2", msg("q/2"));
  {
    RetainedCursor c = store.cursor("q/+");
    std::vector<MessagePtr> out;
    c.next(out, 1);
    EXPECT_FALSE(c.done());
    store.erase("q/1");
    store.erase("q/2");
    EXPECT_EQ(store.node_count(), 3u);
  }
  EXPECT_EQ(store.node_count(), 0u);
}

TEST(Retained, SweepInBoundedSteps) {
  RetainedStore store;
  const int kN = 10000;
  for (int i = 0; i < kN; ++i) store.set(topic_n(i), msg(topic_n(i), "x", i % 2 ? 1000 : 0));
  store.set("$SYS/old", msg("$SYS/old", "x", 5));
  const int64_t now = 2000;
  auto expired = [&](const Message& m) { return m.expiry_unix_ms != 0 && m.expiry_unix_ms <= now; };
  RetainedCursor c = store.cursor_all();
  size_t erased = 0;
  int calls = 0;
  while (!c.done()) {
    erased += store.sweep(c, 64, expired);
    ++calls;
  }
  EXPECT_EQ(erased, static_cast<size_t>(kN / 2 + 1));
  EXPECT_GT(calls, kN / 64);
  EXPECT_EQ(store.count(), static_cast<size_t>(kN / 2));
  EXPECT_EQ(store.find("$SYS/old"), nullptr);
  EXPECT_EQ(store.find(topic_n(1)), nullptr);
  EXPECT_NE(store.find(topic_n(2)), nullptr);

  EXPECT_EQ(store.erase_if([](const Message&) { return true; }), static_cast<size_t>(kN / 2));
  EXPECT_EQ(store.count(), 0u);
  EXPECT_EQ(store.node_count(), 0u);
}

TEST(Retained, DeepTopic) {
  std::string topic;
  for (int i = 0; i < 50000; ++i) topic += i ? "/l" : "l";
  {
    RetainedStore store;
    store.set(topic, msg(topic));
    store.set("l", msg("l"));
    EXPECT_EQ(store.node_count(), 50000u);
    EXPECT_NE(store.find(topic), nullptr);
    EXPECT_EQ(match_topics(store, "#").size(), 2u);
    EXPECT_EQ(match_topics(store, "l/#").size(), 2u);
    EXPECT_EQ(match_topics(store, topic).size(), 1u);
    RetainedCursor c = store.cursor("+/#");
    std::vector<MessagePtr> out;
    while (!c.done()) c.next(out, 1, 1000);
    EXPECT_EQ(out.size(), 2u);
    // Destroyed with the chain still in it.
  }
  RetainedStore store;
  store.set(topic, msg(topic));
  EXPECT_TRUE(store.erase(topic));
  EXPECT_EQ(store.node_count(), 0u);
}

TEST(Retained, ManyChildrenAtOneLevel) {
  RetainedStore store;
  for (int i = 0; i < 3000; ++i) store.set("flat/" + std::to_string(i), msg("flat/" + std::to_string(i)));
  EXPECT_EQ(match_topics(store, "flat/+").size(), 3000u);
  EXPECT_EQ(match_topics(store, "flat/1234").size(), 1u);
  for (int i = 0; i < 3000; i += 2) EXPECT_TRUE(store.erase("flat/" + std::to_string(i)));
  for (int i = 1; i < 3000; i += 2) EXPECT_NE(store.find("flat/" + std::to_string(i)), nullptr);
  EXPECT_EQ(match_topics(store, "flat/+").size(), 1500u);
  for (int i = 1; i < 3000; i += 2) EXPECT_TRUE(store.erase("flat/" + std::to_string(i)));
  EXPECT_EQ(store.node_count(), 0u);
}

TEST(Retained, ChildIndexChurn) {
  // Random set/erase on one wide level exercises the hashed child index (growth, shrink,
  // backward-shift deletion) against a reference set.
  RetainedStore store;
  std::set<int> live;
  std::mt19937 rng(3);
  for (int op = 0; op < 60000; ++op) {
    int k = rng() % 3000;
    std::string t = "w/" + std::to_string(k);
    if (rng() % 2) {
      store.set(t, msg(t));
      live.insert(k);
    } else {
      EXPECT_EQ(store.erase(t), live.erase(k) == 1);
    }
    if (op % 20000 == 19999) {  // drain to force the index to shrink and be dropped
      for (int x : live) store.erase("w/" + std::to_string(x));
      live.clear();
      EXPECT_EQ(store.node_count(), 0u);
    }
  }
  for (int k = 0; k < 3000; ++k) {
    std::string t = "w/" + std::to_string(k);
    EXPECT_EQ(store.find(t) != nullptr, live.count(k) == 1) << t;
  }
  EXPECT_EQ(match_topics(store, "w/+").size(), live.size());
  EXPECT_EQ(store.count(), live.size());
}

}  // namespace
}  // namespace mq::broker::retained_store_test
