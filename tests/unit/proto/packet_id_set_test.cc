#include "proto/packet_id_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace mq::proto {
namespace {

TEST(PacketIdSet, InsertEraseCount) {
  PacketIdSet s;
  EXPECT_TRUE(s.empty());
  s.insert(5);
  s.insert(1);
  s.insert(5);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.count(5), 1u);
  EXPECT_EQ(s.count(2), 0u);
  EXPECT_EQ((std::vector<uint16_t>(s.begin(), s.end())), (std::vector<uint16_t>{1, 5}));
  EXPECT_EQ(s.erase(2), 0u);
  EXPECT_EQ(s.erase(1), 1u);
  EXPECT_EQ(s.erase(5), 1u);
  EXPECT_TRUE(s.empty());
}

}  // namespace
}  // namespace mq::proto
