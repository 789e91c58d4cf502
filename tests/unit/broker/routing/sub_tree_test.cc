#include "broker/routing/sub_tree.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace mq::broker {
namespace {

struct Visit {
  SessionId session;
  SubscriptionOptions options;
  std::string group;
};

std::vector<Visit> match_all(const SubscriptionTree& tree, std::string_view topic) {
  std::vector<Visit> out;
  tree.match(topic, [&](SessionId s, const SubscriptionOptions& o, std::string_view g) {
    out.push_back({s, o, std::string(g)});
  });
  return out;
}

bool matches(std::string_view filter, std::string_view topic) {
  SubscriptionTree tree;
  EXPECT_EQ(tree.subscribe(filter, 1, {}), SubscribeOutcome::kNew);
  return !match_all(tree, topic).empty();
}

struct MatchCase {
  const char* filter;
  const char* topic;
  bool match;
};

// Spec examples (MQTT 5.0 section 4.7) plus edge cases: empty levels, leading/trailing "/",
// "#" matching its parent level, and the "$" rule [MQTT-4.7.2-1].
const MatchCase kCases[] = {
    {"sport/tennis/player1", "sport/tennis/player1", true},
    {"sport/tennis/player1", "sport/tennis/player2", false},
    {"sport/tennis/player1", "sport/tennis/player1/ranking", false},
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},
    {"sport/#", "sports", false},
    {"sport/#", "sport/", true},
    {"#", "sport", true},
    {"#", "sport/tennis", true},
    {"#", "/", true},
    {"#", "", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player1/tennis", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+", "sport", true},
    {"+", "sport/", false},
    {"+", "/finance", false},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+/tennis/#", "sport/tennis/player1", true},
    {"+/tennis/#", "sport/tennis", true},
    {"+/#", "a", true},
    {"a/+/#", "a", false},
    {"a/+/#", "a/b", true},
    {"a/+/#", "a/b/c/d", true},
    {"a//b", "a//b", true},
    {"a/+/b", "a//b", true},
    {"a/b", "a//b", false},
    {"a/#", "a//b", true},
    {"+/+/+", "a//b", true},
    {"/", "/", true},
    {"+/+", "/", true},
    {"/#", "/", true},
    {"/+", "/", true},
    {"+", "/", false},
    {"+", "", true},
    {"a/", "a/", true},
    {"a/", "a", false},
    {"a", "a/", false},
    {"+/", "a/", true},
    {"/a", "a", false},
    {"a", "/a", false},
    {"$SYS/#", "$SYS/broker/uptime", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/+/uptime", "$SYS/broker/uptime", true},
    {"#", "$SYS/broker/uptime", false},
    {"#", "$SYS", false},
    {"+/broker/uptime", "$SYS/broker/uptime", false},
    {"+/#", "$SYS/broker", false},
    {"+", "$", false},
    {"$", "$", true},
    {"x/+", "x/$y", true},
    {"x/#", "x/$y", true},
    {"$share", "$share", true},
    {"Sport", "sport", false},
};

TEST(SubTree, MatchTable) {
  for (const MatchCase& c : kCases) {
    EXPECT_EQ(matches(c.filter, c.topic), c.match) << "filter '" << c.filter << "' topic '"
                                                   << c.topic << "'";
  }
}

TEST(SubTree, MatchTableAllInOneTree) {
  // Every filter in one tree, each with its own session: the visited set must be exactly the
  // filters expected to match, each once.
  SubscriptionTree tree;
  std::map<std::string, SessionId> ids;
  for (const MatchCase& c : kCases) {
    auto [it, fresh] = ids.emplace(c.filter, ids.size() + 1);
    if (fresh) {
      ASSERT_EQ(tree.subscribe(c.filter, it->second, {}), SubscribeOutcome::kNew);
    }
  }
  std::set<std::string> topics;
  for (const MatchCase& c : kCases) topics.insert(c.topic);
  for (const std::string& topic : topics) {
    std::multiset<SessionId> expected;
    for (const auto& [filter, id] : ids) {
      if (matches(filter, topic)) expected.insert(id);
    }
    std::multiset<SessionId> got;
    for (const Visit& v : match_all(tree, topic)) got.insert(v.session);
    EXPECT_EQ(got, expected) << "topic '" << topic << "'";
  }
}

TEST(SubTree, ReplaceKeepsOneEntryWithNewOptions) {
  SubscriptionTree tree;
  SubscriptionOptions o1{.qos = 0, .subscription_id = 7};
  SubscriptionOptions o2{.qos = 2, .no_local = true, .retain_as_published = true,
                         .retain_handling = 2, .subscription_id = 9};
  EXPECT_EQ(tree.subscribe("a/+", 5, o1), SubscribeOutcome::kNew);
  EXPECT_EQ(tree.subscribe("a/+", 5, o2), SubscribeOutcome::kReplaced);
  EXPECT_EQ(tree.subscription_count(), 1u);
  auto v = match_all(tree, "a/b");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].session, 5u);
  EXPECT_EQ(v[0].options, o2);
  ASSERT_NE(tree.find("a/+", 5), nullptr);
  EXPECT_EQ(*tree.find("a/+", 5), o2);
  EXPECT_EQ(tree.find("a/+", 6), nullptr);
  EXPECT_EQ(tree.find("a/#", 5), nullptr);
}

TEST(SubTree, SessionWithOverlappingFiltersVisitedPerSubscription) {
  SubscriptionTree tree;
  ASSERT_EQ(tree.subscribe("a/+", 1, {.qos = 1}), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("a/#", 1, {.qos = 2}), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("a/b", 1, {.qos = 0}), SubscribeOutcome::kNew);
  auto v = match_all(tree, "a/b");
  ASSERT_EQ(v.size(), 3u);
  std::multiset<int> qos;
  for (auto& x : v) qos.insert(x.options.qos);
  EXPECT_EQ(qos, (std::multiset<int>{0, 1, 2}));
}

TEST(SubTree, UnsubscribeReturnsWhetherRemoved) {
  SubscriptionTree tree;
  EXPECT_FALSE(tree.unsubscribe("a", 1));
  ASSERT_EQ(tree.subscribe("a", 1, {}), SubscribeOutcome::kNew);
  EXPECT_FALSE(tree.unsubscribe("a", 2));
  EXPECT_FALSE(tree.unsubscribe("a/b", 1));
  EXPECT_FALSE(tree.unsubscribe("+", 1));
  EXPECT_TRUE(tree.unsubscribe("a", 1));
  EXPECT_FALSE(tree.unsubscribe("a", 1));
  EXPECT_EQ(tree.subscription_count(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubTree, SharedAndNormalAreDistinct) {
  SubscriptionTree tree;
  ASSERT_EQ(tree.subscribe("t", 1, {.qos = 1}), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("t", 1, {.qos = 2}, "g"), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("t", 1, {.qos = 0}, "h"), SubscribeOutcome::kNew);
  EXPECT_EQ(tree.subscription_count(), 3u);
  EXPECT_EQ(tree.shared_subscription_count(), 2u);
  EXPECT_EQ(match_all(tree, "t").size(), 3u);

  // UNSUBSCRIBE $share/x/t while subscribed to t (and the reverse) removes nothing.
  EXPECT_FALSE(tree.unsubscribe("t", 1, "x"));
  EXPECT_FALSE(tree.unsubscribe("t", 2, "g"));

  EXPECT_TRUE(tree.unsubscribe("t", 1, "g"));
  auto v = match_all(tree, "t");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(tree.shared_subscription_count(), 1u);
  EXPECT_NE(tree.find("t", 1), nullptr);
  EXPECT_EQ(tree.find("t", 1, "g"), nullptr);
  EXPECT_NE(tree.find("t", 1, "h"), nullptr);

  EXPECT_TRUE(tree.unsubscribe("t", 1));
  v = match_all(tree, "t");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].group, "h");
  EXPECT_FALSE(tree.unsubscribe("t", 1));
  EXPECT_TRUE(tree.unsubscribe("t", 1, "h"));
  EXPECT_EQ(tree.subscription_count(), 0u);
  EXPECT_EQ(tree.shared_subscription_count(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubTree, SharedReplaceKeepsOneMember) {
  SubscriptionTree tree;
  ASSERT_EQ(tree.subscribe("t/#", 1, {.qos = 0}, "g"), SubscribeOutcome::kNew);
  EXPECT_EQ(tree.subscribe("t/#", 1, {.qos = 1}, "g"), SubscribeOutcome::kReplaced);
  EXPECT_EQ(tree.shared_subscription_count(), 1u);
  auto v = match_all(tree, "t/x");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].options.qos, 1);
}

TEST(SubTree, SharedRoundRobinOverThreeMembers) {
  SubscriptionTree tree;
  for (SessionId s : {10, 11, 12}) ASSERT_EQ(tree.subscribe("job/+", s, {}, "workers"),
                                             SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("job/#", 99, {}), SubscribeOutcome::kNew);
  std::map<SessionId, int> got;
  for (int i = 0; i < 300; ++i) {
    auto v = match_all(tree, "job/" + std::to_string(i));
    ASSERT_EQ(v.size(), 2u);  // one worker + the normal subscriber
    for (auto& x : v) got[x.session]++;
  }
  EXPECT_EQ(got[10], 100);
  EXPECT_EQ(got[11], 100);
  EXPECT_EQ(got[12], 100);
  EXPECT_EQ(got[99], 300);
}

TEST(SubTree, SharedGroupPerFilterDeliversOncePerFilter) {
  // $share/g/a/+ and $share/g/a/# are two shared subscriptions: each delivers one copy.
  SubscriptionTree tree;
  ASSERT_EQ(tree.subscribe("a/+", 1, {}, "g"), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("a/+", 2, {}, "g"), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("a/#", 3, {}, "g"), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("a/+", 4, {}, "other"), SubscribeOutcome::kNew);
  for (int i = 0; i < 10; ++i) {
    auto v = match_all(tree, "a/b");
    ASSERT_EQ(v.size(), 3u);
  }
  // A member leaving mid-rotation: still exactly one delivery per group+filter.
  EXPECT_TRUE(tree.unsubscribe("a/+", 1, "g"));
  for (int i = 0; i < 10; ++i) {
    auto v = match_all(tree, "a/b");
    ASSERT_EQ(v.size(), 3u);
    for (auto& x : v) EXPECT_NE(x.session, 1u);
  }
}

TEST(SubTree, PruningReturnsToBaseline) {
  SubscriptionTree tree;
  std::mt19937 rng(42);
  const char* parts[] = {"a", "b", "+", "", "$SYS", "long-level-name-beyond-sso"};
  std::vector<std::tuple<std::string, SessionId, std::string>> subs;
  for (int round = 0; round < 5; ++round) {
    subs.clear();
    for (int i = 0; i < 2000; ++i) {
      std::string f;
      int depth = 1 + rng() % 5;
      for (int d = 0; d < depth; ++d) {
        if (d) f += '/';
        f += (rng() % 3 == 0) ? std::to_string(rng() % 50) : parts[rng() % 6];
      }
      if (rng() % 4 == 0) f += "/#";
      std::string group;
      if (rng() % 5 == 0) group.append("g").append(std::to_string(rng() % 3));
      SessionId s = rng() % 40;
      if (tree.subscribe(f, s, {}, group) == SubscribeOutcome::kNew) subs.emplace_back(f, s, group);
    }
    EXPECT_EQ(tree.subscription_count(), subs.size());
    EXPECT_GT(tree.node_count(), 0u);
    std::shuffle(subs.begin(), subs.end(), rng);
    for (auto& [f, s, g] : subs) EXPECT_TRUE(tree.unsubscribe(f, s, g)) << f;
    EXPECT_EQ(tree.subscription_count(), 0u);
    EXPECT_EQ(tree.shared_subscription_count(), 0u);
    EXPECT_EQ(tree.node_count(), 0u);
  }
}

TEST(SubTree, ManySessionsAndManyChildren) {
  // Crosses the indexed thresholds of both the subscriber set and the child table.
  SubscriptionTree tree;
  for (SessionId s = 0; s < 1000; ++s) ASSERT_EQ(tree.subscribe("x", s, {}), SubscribeOutcome::kNew);
  for (SessionId s = 0; s < 1000; s += 2) {
    ASSERT_EQ(tree.subscribe("x", s, {.qos = 1}), SubscribeOutcome::kReplaced);
  }
  for (SessionId s = 1; s < 1000; s += 2) ASSERT_TRUE(tree.unsubscribe("x", s));
  auto v = match_all(tree, "x");
  ASSERT_EQ(v.size(), 500u);
  for (auto& x : v) {
    EXPECT_EQ(x.session % 2, 0u);
    EXPECT_EQ(x.options.qos, 1);
  }
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(tree.subscribe("dev/" + std::to_string(i) + "/t", 5000 + i, {}),
              SubscribeOutcome::kNew);
  }
  for (int i = 0; i < 1000; ++i) {
    auto m = match_all(tree, "dev/" + std::to_string(i) + "/t");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].session, 5000u + i);
  }
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(tree.unsubscribe("dev/" + std::to_string(i) + "/t", 5000 + i));
  for (SessionId s = 0; s < 1000; s += 2) ASSERT_TRUE(tree.unsubscribe("x", s));
  EXPECT_EQ(tree.node_count(), 0u);
}

std::string deep(int levels, const char* level) {
  std::string s;
  s.reserve(levels * 2);
  for (int i = 0; i < levels; ++i) {
    if (i) s += '/';
    s += level;
  }
  return s;
}

TEST(SubTree, DeepTopicsAndFilters) {
  const std::string topic = deep(50000, "a");
  {
    SubscriptionTree tree;
    ASSERT_EQ(tree.subscribe("#", 1, {}), SubscribeOutcome::kNew);
    ASSERT_EQ(tree.subscribe("a/+/#", 2, {}), SubscribeOutcome::kNew);
    ASSERT_EQ(tree.subscribe("a/a", 3, {}), SubscribeOutcome::kNew);
    ASSERT_EQ(tree.subscribe(topic, 4, {}), SubscribeOutcome::kNew);
    ASSERT_EQ(tree.subscribe(deep(50000, "+"), 5, {}), SubscribeOutcome::kNew);
    ASSERT_EQ(tree.subscribe(deep(49999, "+") + "/#", 6, {}), SubscribeOutcome::kNew);
    // "a" chain, "+" chain, root "#", the "+/#" of "a/+/#", the final "#" of the "+" chain.
    EXPECT_EQ(tree.node_count(), 50000u + 50000u + 1u + 2u + 1u);
    std::set<SessionId> got;
    for (auto& v : match_all(tree, topic)) got.insert(v.session);
    EXPECT_EQ(got, (std::set<SessionId>{1, 2, 4, 5, 6}));
    std::string dumped;
    tree.dump([&](std::string_view f, SessionId s, const SubscriptionOptions&, std::string_view) {
      if (s == 4) dumped = f;
    });
    EXPECT_EQ(dumped, topic);
    EXPECT_TRUE(tree.unsubscribe(topic, 4));
    EXPECT_TRUE(tree.unsubscribe(deep(50000, "+"), 5));
    // Tree destroyed here with a 50,000-level chain still in it.
  }
  SubscriptionTree tree;
  ASSERT_EQ(tree.subscribe(topic, 1, {}), SubscribeOutcome::kNew);
  EXPECT_TRUE(tree.unsubscribe(topic, 1));
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubTree, DumpRebuildsEveryFilter) {
  SubscriptionTree tree;
  std::set<std::tuple<std::string, SessionId, std::string, int>> want = {
      {"a/b", 1, "", 0},  {"a/+", 1, "", 1},   {"#", 2, "", 2},     {"/a", 3, "", 0},
      {"a//", 3, "", 1},  {"", 4, "", 0},      {"a/b", 5, "g", 1},  {"a/b", 6, "g", 2},
      {"+/#", 7, "h", 0}, {"$SYS/#", 8, "", 0}, {"/", 9, "", 0},
  };
  for (auto& [f, s, g, q] : want) {
    ASSERT_EQ(tree.subscribe(f, s, {.qos = static_cast<uint8_t>(q)}, g), SubscribeOutcome::kNew);
  }
  std::set<std::tuple<std::string, SessionId, std::string, int>> got;
  tree.dump([&](std::string_view f, SessionId s, const SubscriptionOptions& o, std::string_view g) {
    got.emplace(std::string(f), s, std::string(g), o.qos);
  });
  EXPECT_EQ(got, want);
  EXPECT_EQ(tree.subscription_count(), want.size());
  EXPECT_EQ(tree.shared_subscription_count(), 3u);
}

TEST(SubTree, InvalidFiltersAreHarmless) {
  // The codec rejects these; if one slipped through it must not crash or match wrongly.
  SubscriptionTree tree;
  ASSERT_EQ(tree.subscribe("a/#/b", 1, {}), SubscribeOutcome::kNew);
  ASSERT_EQ(tree.subscribe("a+", 2, {}), SubscribeOutcome::kNew);
  EXPECT_TRUE(match_all(tree, "a/x/b").empty());
  EXPECT_EQ(match_all(tree, "a+").size(), 1u);
  EXPECT_TRUE(tree.unsubscribe("a/#/b", 1));
  EXPECT_TRUE(tree.unsubscribe("a+", 2));
  EXPECT_EQ(tree.node_count(), 0u);
}

}  // namespace
}  // namespace mq::broker

namespace mq::broker {
namespace {

// The visiting order is Mosquitto 2.0's: at each level the literal child's whole subtree, then
// the "+" subtree, then "#" at this level; where the topic ends, "x/#" before "x"; at a node,
// shared groups before normal subscriptions, those in subscription order.
TEST(SubscriptionTreeOrder, LiteralThenPlusThenHashDepthFirst) {
  SubscriptionTree tree;
  const char* filters[] = {"#", "a/#", "+/#", "a/+", "a/b", "+/b", "a/b/#", "+/+"};
  SessionId id = 1;
  for (const char* f : filters) tree.subscribe(f, id++, {});
  std::vector<SessionId> order;
  tree.match("a/b", [&](SessionId s, const SubscriptionOptions&, std::string_view) {
    order.push_back(s);
  });
  // a/b/# (7), a/b (5), a/+ (4), a/# (2), +/b (6), +/+ (8), +/# (3), # (1)
  EXPECT_EQ(order, (std::vector<SessionId>{7, 5, 4, 2, 6, 8, 3, 1}));
}

TEST(SubscriptionTreeOrder, SharedGroupsBeforeNormalSubscriptions) {
  SubscriptionTree tree;
  tree.subscribe("t", 1, {});
  tree.subscribe("t", 2, {}, "g");
  tree.subscribe("t", 3, {});
  std::vector<SessionId> order;
  tree.match("t", [&](SessionId s, const SubscriptionOptions&, std::string_view) {
    order.push_back(s);
  });
  EXPECT_EQ(order, (std::vector<SessionId>{2, 1, 3}));
}

}  // namespace
}  // namespace mq::broker
