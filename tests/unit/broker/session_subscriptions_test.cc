// SubscriptionList: a session's subscriptions by the filter the client wrote, across the switch
// between the linear search and the key index (both ways), with replacement and removal.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "broker/session.h"

namespace mq::broker {
namespace {

SessionSubscription sub(const std::string& filter, uint8_t qos) {
  SessionSubscription s;
  s.filter = filter;
  s.options.qos = qos;
  return s;
}

std::set<std::string> keys(const SubscriptionList& l) {
  std::set<std::string> out;
  for (const auto& e : l) {
    EXPECT_EQ(e.key(), e.sub().filter);  // stored under its own filter: no separate key
    out.insert(std::string(e.key()));
  }
  return out;
}

TEST(SubscriptionList, PutReplacesAndRemoveTakesOut) {
  SubscriptionList l;
  l.put("a/b", sub("a/b", 0));
  l.put("a/#", sub("a/#", 1));
  EXPECT_EQ(l.put("a/b", sub("a/b", 2)).options.qos, 2);  // replaced, not added
  EXPECT_EQ(l.size(), 2u);
  SessionSubscription removed;
  EXPECT_FALSE(l.remove("a/+", &removed));
  ASSERT_TRUE(l.remove("a/b", &removed));
  EXPECT_EQ(removed.filter, "a/b");
  EXPECT_EQ(removed.options.qos, 2);
  EXPECT_EQ(keys(l), (std::set<std::string>{"a/#"}));
  EXPECT_FALSE(l.remove("a/b", &removed));
}

TEST(SubscriptionList, AKeyOtherThanTheFilterIsKept) {
  SubscriptionList l;
  SessionSubscription shared = sub("a/b", 1);
  shared.set_share_group("g");
  l.put("$share/g/a/b", shared);
  l.put("a/b", sub("a/b", 0));  // the same filter unshared: a second entry
  EXPECT_EQ(l.size(), 2u);
  SessionSubscription removed;
  ASSERT_TRUE(l.remove("$share/g/a/b", &removed));
  EXPECT_EQ(removed.share_group(), "g");
  EXPECT_EQ(removed.filter, "a/b");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l.begin()->key(), "a/b");
  EXPECT_EQ(l.begin()->sub().share_group(), "");
}

TEST(SubscriptionList, ManyKeysThroughTheIndexAndBack) {
  SubscriptionList l;
  std::set<std::string> want;
  const size_t n = SubscriptionList::kIndexAbove * 4;
  for (size_t i = 0; i < n; ++i) {
    std::string f = "t/" + std::to_string(i);
    l.put(f, sub(f, uint8_t(i % 3)));
    want.insert(f);
  }
  EXPECT_EQ(l.size(), n);
  // Replacing through the index keeps one entry and changes its options.
  std::string f7 = "t/7";
  EXPECT_EQ(l.put(f7, sub(f7, 2)).options.qos, 2);
  EXPECT_EQ(l.size(), n);
  // Remove every other one (the swap with the last entry must keep the index right), then
  // down below the index threshold.
  SessionSubscription removed;
  for (size_t i = 0; i < n; i += 2) {
    std::string f = "t/" + std::to_string(i);
    ASSERT_TRUE(l.remove(f, &removed)) << f;
    EXPECT_EQ(removed.filter, f);
    want.erase(f);
  }
  EXPECT_EQ(keys(l), want);
  for (size_t i = 1; i < n; i += 2) {
    std::string f = "t/" + std::to_string(i);
    if (want.size() <= 3) break;
    ASSERT_TRUE(l.remove(f, &removed)) << f;
    want.erase(f);
  }
  EXPECT_EQ(keys(l), want);
  for (const std::string& f : want) {
    SessionSubscription again;
    EXPECT_FALSE(l.put(f, sub(f, 1)).filter.empty());
  }
  EXPECT_EQ(l.size(), want.size());
  EXPECT_FALSE(l.remove("t/0", &removed));
}

}  // namespace
}  // namespace mq::broker
