#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace mq {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return make_error(ErrorKind::kMalformed, "not a digit", 0x81);
  return c - '0';
}

TEST(Result, CarriesValue) {
  auto r = parse_digit('7');
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
}

TEST(Result, CarriesErrorWithReasonCode) {
  auto r = parse_digit('x');
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kMalformed);
  EXPECT_EQ(r.error().reason, 0x81);
  EXPECT_EQ(r.error().to_string(), "malformed: not a digit");
}

TEST(Result, MovesOnlyTypes) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(3));
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 3);
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status bad = make_error(ErrorKind::kIo, "open");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kIo);
}

}  // namespace
}  // namespace mq
