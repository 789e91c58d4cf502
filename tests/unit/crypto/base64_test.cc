#include "crypto/base64.h"

#include <gtest/gtest.h>

namespace mq::crypto {
namespace {

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(Base64, Rfc4648Vectors) {
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, coded] : cases) {
    EXPECT_EQ(base64_encode(bytes(plain)), coded);
    auto back = base64_decode(coded, true);
    ASSERT_TRUE(back) << coded;
    EXPECT_EQ(*back, bytes(plain));
  }
}

TEST(Base64, NoPadForm) {
  EXPECT_EQ(base64_encode(bytes("f"), Base64Padding::kNoPad), "Zg");
  EXPECT_EQ(base64_encode(bytes("fo"), Base64Padding::kNoPad), "Zm8");
  EXPECT_EQ(*base64_decode("Zg"), bytes("f"));
  EXPECT_EQ(*base64_decode("Zm8"), bytes("fo"));
  EXPECT_FALSE(base64_decode("Zm8", /*require_padding=*/true));
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; i++) all[i] = uint8_t(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::vector<uint8_t> part(all.begin(), all.begin() + n);
    EXPECT_EQ(*base64_decode(base64_encode(part)), part);
  }
  EXPECT_NE(base64_encode(all).find('+'), std::string::npos);  // standard, not URL alphabet
  EXPECT_NE(base64_encode(all).find('/'), std::string::npos);
}

TEST(Base64, RejectsMalformed) {
  for (const char* bad : {"Z", "Zg=", "Zg===", "Z===", "Zm9v!", "Zm-v", "Zm_v", "Zg==Zg==", "=Zg=",
                          "Zh==",  // unused bits set: not the canonical form
                          "Zm9 v", "Zm9v\n"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

}  // namespace
}  // namespace mq::crypto
