// -F / -v / %j output, checked against what mosquitto_sub 2.0.11 printed for the same messages.
#include "client/format.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace mq::client {
namespace {

class FormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  std::string fmt(const std::string& f, const ReceivedMessage& m, bool eol = true) {
    OutputOptions o;
    o.format = f;
    o.eol = eol;
    std::string out, err;
    format_message(out, o, m, WallTime{1700000000, 123456789}, &err);
    return out + err;
  }
};

ReceivedMessage msg(std::string_view topic, std::string_view payload, uint8_t qos = 0,
                    uint16_t mid = 0) {
  ReceivedMessage m;
  m.topic = topic;
  m.payload = payload;
  m.qos = qos;
  m.mid = mid;
  return m;
}

TEST_F(FormatTest, WidthsAndPadding) {
  ReceivedMessage m = msg("e/2", "abc", 1, 1);
  EXPECT_EQ(fmt("%t|%p|%l|%m|%q|%r|%x|%X", m), "e/2|abc|3|1|1|0|616263|616263\n");
  EXPECT_EQ(fmt("%10t|%-10t|%.2t|%5.1t|%05l|%-5l|%5l", m),
            "       e/2|e/2       |e/|    e|00003|3    |    3\n");
  // Mosquitto's quirks: a width truncates %p, and hex takes width/2 bytes at most.
  EXPECT_EQ(fmt("%8p|%-8p|%08p|%2p|%4x|%-6X|%08x", m),
            "     abc|abc     |00000abc|ab|  61|61    |00000061\n");
}

TEST_F(FormatTest, EmptyPayload) {
  ReceivedMessage m = msg("e/1", "");
  EXPECT_EQ(fmt("%p|%8p|%4x|%A|%E|%%", m), "|        |    |||%\n");
  OutputOptions v;
  v.verbose = true;
  std::string out;
  format_message(out, v, m, WallTime{}, nullptr);
  EXPECT_EQ(out, "e/1 (null)\n");
  OutputOptions plain;
  out.clear();
  format_message(out, plain, m, WallTime{}, nullptr);
  EXPECT_EQ(out, "");  // nothing at all, not even a newline
}

TEST_F(FormatTest, TimeCodesAndEscapes) {
  ReceivedMessage m = msg("t", "p");
  EXPECT_EQ(fmt("%I|%U|@Y@m@d|@N|@@", m),
            "2023-11-14T22:13:20+0000|1700000000.123456789|20231114|123456789|@\n");
  EXPECT_EQ(fmt("a\\tb\\\\c\\e\\0", m, false), std::string("a\tb\\c\033\0", 7));
}

TEST_F(FormatTest, JsonMatchesCjsonLayout) {
  // properties: content-type "text/json", user-property k=v (wire order: content type first)
  std::string props = std::string("\x03\x00\x09text/json", 12) + std::string("\x26\x00\x01k\x00\x01v", 7);
  ReceivedMessage m = msg("a/json", "{\"t\":27.0}", 1, 7);
  m.retain = true;
  m.properties = props;
  EXPECT_EQ(fmt("%j", m),
            "{\"tst\":\"2023-11-14T22:13:20.123456Z+0000\",\"topic\":\"a/json\",\"qos\":1,\"retain\":1,"
            "\"payloadlen\":10,\"mid\":7,\"properties\":{\"content-type\":\"text/json\","
            "\"user-properties\":{\"k\":\"v\"}},\"payload\":\"{\\\"t\\\":27.0}\"}\n");
  EXPECT_EQ(fmt("%J", m),
            "{\"tst\":\"2023-11-14T22:13:20.123456Z+0000\",\"topic\":\"a/json\",\"qos\":1,\"retain\":1,"
            "\"payloadlen\":10,\"mid\":7,\"properties\":{\"content-type\":\"text/json\","
            "\"user-properties\":{\"k\":\"v\"}},\"payload\":{\"t\":27}}\n");
}

TEST_F(FormatTest, JsonEscapesLikeCjsonAndStopsAtNul) {
  ReceivedMessage m = msg("s", std::string_view("\x01\x02\xff\x7f\b\f\n\t/e", 10));
  std::string out = fmt("%j", m);
  EXPECT_NE(out.find("\"payload\":\"\\u0001\\u0002\xff\x7f\\b\\f\\n\\t/e\""), std::string::npos) << out;
  ReceivedMessage n = msg("s", std::string_view("a\0b", 3));
  EXPECT_NE(fmt("%j", n).find("\"payloadlen\":3,\"payload\":\"a\"}"), std::string::npos);
  ReceivedMessage e = msg("s", "");
  EXPECT_NE(fmt("%j", e).find("\"payload\":null}"), std::string::npos);
}

TEST_F(FormatTest, InvalidJsonPayloadForCapitalJ) {
  ReceivedMessage m = msg("bad/t", "not json");
  EXPECT_EQ(fmt("%J", m), "\nError: Message payload is not valid JSON on topic bad/t.\n");
}

TEST_F(FormatTest, CheckFormat) {
  EXPECT_EQ(check_format_text("%t %p %j %J %x %X %-05.3t @Y \\n"), "");
  EXPECT_EQ(check_format_text("%z"), "Error: Invalid format specifier 'z'.\n");
  EXPECT_EQ(check_format_text("%5"), "Error: Incomplete format specifier.\n");
  EXPECT_EQ(check_format_text("%"), "Error: Incomplete format specifier.\n");
  EXPECT_EQ(check_format_text("@"), "Error: Incomplete format specifier.\n");
  EXPECT_EQ(check_format_text("x\\q"), "Error: Invalid escape specifier 'q'.\n");
  EXPECT_EQ(check_format_text("x\\"), "Error: Incomplete escape specifier.\n");
}

TEST_F(FormatTest, JsonLines) {
  std::string props = std::string("\x26\x00\x01k\x00\x01v", 7);
  ReceivedMessage m = msg("t", "hi");
  m.properties = props;
  OutputOptions o;
  o.json_lines = true;
  std::string out;
  format_message(out, o, m, WallTime{}, nullptr);
  EXPECT_EQ(out, "{\"topic\":\"t\",\"qos\":0,\"retain\":false,\"properties\":{\"user-properties\":[[\"k\",\"v\"]]},\"payload\":\"hi\"}\n");
  ReceivedMessage b = msg("t", std::string_view("\xff\x00", 2));
  out.clear();
  format_message(out, o, b, WallTime{}, nullptr);
  EXPECT_EQ(out, "{\"topic\":\"t\",\"qos\":0,\"retain\":false,\"payload_base64\":\"/wA=\"}\n");
}

}  // namespace
}  // namespace mq::client
