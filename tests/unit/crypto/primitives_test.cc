#include "crypto/primitives.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mq::crypto {
namespace {

std::string hex(std::span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

TEST(Primitives, Sha512KnownAnswer) {
  // FIPS 180-2 "abc"; the split form hashes the concatenation.
  const char* abc =
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c2"
      "3a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
  EXPECT_EQ(hex(sha512(as_bytes("abc"))), abc);
  EXPECT_EQ(hex(sha512(as_bytes("a"), as_bytes("bc"))), abc);
}

TEST(Primitives, Pbkdf2HmacSha512KnownAnswers) {
  // Values from Python's hashlib.pbkdf2_hmac('sha512', b'password', b'salt', n, 64).
  uint8_t out[64];
  ASSERT_TRUE(pbkdf2_hmac_sha512("password", as_bytes("salt"), 1, out).ok());
  EXPECT_EQ(hex(out),
            "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999"
            "bfe943c08f050235d7d68b1da55e63f73b60a57fce");
  ASSERT_TRUE(pbkdf2_hmac_sha512("password", as_bytes("salt"), 2, out).ok());
  EXPECT_EQ(hex(out),
            "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7840ed"
            "ce4fef5a82be67335c77a6068e04112754f27ccf4e");
  EXPECT_FALSE(pbkdf2_hmac_sha512("password", as_bytes("salt"), 0, out).ok());
}

TEST(Primitives, RandomBytesDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; i++) {
    uint8_t buf[16];
    ASSERT_TRUE(random_bytes(buf).ok());
    seen.insert(hex(buf));
  }
  EXPECT_EQ(seen.size(), 50u);
  std::vector<uint8_t> big(5000);  // more than one DRBG request
  ASSERT_TRUE(random_bytes(big).ok());
  EXPECT_NE(hex(std::span(big).subspan(0, 16)), hex(std::span(big).subspan(4000, 16)));
}

TEST(Primitives, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abcd")));
  EXPECT_TRUE(constant_time_equal({}, {}));
}

}  // namespace
}  // namespace mq::crypto
