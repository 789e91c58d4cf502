// SlotMap: ids name one object each; a stale id finds nothing even after its slot is reused.
#include "broker/slot_map.h"

#include <gtest/gtest.h>

#include <set>

namespace mq::broker {
namespace {

struct Item {
  explicit Item(uint64_t id, int v) : id_(id), value(v) {}
  uint64_t id() const { return id_; }
  uint64_t id_;
  int value;
};

TEST(SlotMap, FindsWhatWasEmplaced) {
  SlotMap<Item> m;
  Item& a = m.emplace([](uint64_t id) { return std::make_unique<Item>(id, 1); });
  Item& b = m.emplace([](uint64_t id) { return std::make_unique<Item>(id, 2); });
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(m.find(a.id()), &a);
  EXPECT_EQ(m.find(b.id())->value, 2);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.find(0), nullptr);
  EXPECT_EQ(m.find(0xFFFFFFFFull), nullptr) << "a slot beyond the array";
}

TEST(SlotMap, StaleIdFindsNothingAfterTheSlotIsReused) {
  SlotMap<Item> m;
  uint64_t old_id = m.emplace([](uint64_t id) { return std::make_unique<Item>(id, 1); }).id();
  EXPECT_TRUE(m.erase(old_id));
  EXPECT_FALSE(m.erase(old_id)) << "erased twice";
  EXPECT_EQ(m.find(old_id), nullptr);
  Item& fresh = m.emplace([](uint64_t id) { return std::make_unique<Item>(id, 7); });
  EXPECT_EQ(fresh.id() & 0xFFFFFFFFu, old_id & 0xFFFFFFFFu) << "slot reused";
  EXPECT_NE(fresh.id(), old_id);
  EXPECT_EQ(m.find(old_id), nullptr);
  EXPECT_EQ(m.find(fresh.id()), &fresh);
  EXPECT_EQ(m.size(), 1u);
}

TEST(SlotMap, ForEachVisitsEveryLiveObjectOnce) {
  SlotMap<Item> m;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 100; i++)
    ids.push_back(m.emplace([i](uint64_t id) { return std::make_unique<Item>(id, i); }).id());
  for (int i = 0; i < 100; i += 3) m.erase(ids[size_t(i)]);
  std::multiset<int> seen;
  m.for_each([&](Item& it) { seen.insert(it.value); });
  EXPECT_EQ(seen.size(), m.size());
  for (int i = 0; i < 100; i++) EXPECT_EQ(seen.count(i), i % 3 == 0 ? 0u : 1u) << i;
}

struct Probe {
  Probe(uint64_t id, SlotMap<Probe>* m, bool* found) : id_(id), map(m), found_self(found) {}
  ~Probe() { *found_self = map->find(id_) != nullptr; }
  uint64_t id() const { return id_; }
  uint64_t id_;
  SlotMap<Probe>* map;
  bool* found_self;
};

TEST(SlotMap, DestructorSeesItsSlotAlreadyFree) {
  SlotMap<Probe> m;
  bool found = true;
  uint64_t id = m.emplace([&](uint64_t i) { return std::make_unique<Probe>(i, &m, &found); }).id();
  m.erase(id);
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace mq::broker
