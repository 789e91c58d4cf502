// cJSON-compatible parsing and printing used by %J and --pretty.
#include "client/json.h"

#include <gtest/gtest.h>

namespace mq::client {
namespace {

std::string reprint(std::string_view in, bool pretty = false) {
  JsonValue v;
  if (!json_parse(in, &v)) return "<invalid>";
  std::string out;
  json_print(out, v, pretty);
  return out;
}

TEST(JsonTest, NumbersPrintAsCjson) {
  EXPECT_EQ(reprint("[27.0, 2.5, -3, 1e3, 0.1, 1e20]"), "[27,2.5,-3,1000,0.1,1e+20]");
}

TEST(JsonTest, KeepsOrderAndDuplicates) {
  EXPECT_EQ(reprint(" {\"b\":1, \"a\":[true,false,null], \"b\":\"x\"} "),
            "{\"b\":1,\"a\":[true,false,null],\"b\":\"x\"}");
}

TEST(JsonTest, PrettyLayout) {
  EXPECT_EQ(reprint("{\"t\":27,\"o\":{\"k\":\"v\"},\"a\":[1,2]}", true),
            "{\n\t\"t\":\t27,\n\t\"o\":\t{\n\t\t\"k\":\t\"v\"\n\t},\n\t\"a\":\t[1, 2]\n}");
}

TEST(JsonTest, StringEscapes) {
  EXPECT_EQ(reprint("\"\\u00e9\\n\\/\\ud83d\\ude00\""), "\"\xc3\xa9\\n/\xf0\x9f\x98\x80\"");
}

TEST(JsonTest, Rejects) {
  for (std::string_view bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "1 2", "\"abc"})
    EXPECT_EQ(reprint(bad), "<invalid>") << bad;
  EXPECT_EQ(reprint(std::string_view("1\0", 2)), "<invalid>");
}

TEST(JsonTest, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
}

}  // namespace
}  // namespace mq::client
