// -F / -v / %j output, checked against what mosquitto_sub 2.0.11 printed for the same messages.
#include "client/format.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

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

template <class T>
std::string bytes_of(T v) {
  std::string b(sizeof v, '\0');
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

TEST_F(FormatTest, FloatAndDouble21) {
  std::string f = bytes_of(1.5f), d = bytes_of(-2.25);
  EXPECT_EQ(fmt("%f|%.2f|%8.3f|%-8.1f|%08.2f", msg("t", f)), "1.500000|1.50|   1.500|1.5     |00001.50\n");
  EXPECT_EQ(fmt("%d|%.1d|%7.2d|%-7.0d|", msg("t", d)), "-2.250000|-2.2|  -2.25|-2     |\n");
  // Little-endian wire bytes of 1.5f on this (x86/ARM little-endian) host: host order is used.
  EXPECT_EQ(fmt("%.1f", msg("t", std::string("\x00\x00\xc0\x3f", 4))), "1.5\n");
  // Wrong length: nothing for the field (no padding either), one stderr line as for %J.
  EXPECT_EQ(fmt("[%8f]", msg("t/x", "abc")), "[]\nError: Message payload is not a 4 byte float on topic t/x.\n");
  EXPECT_EQ(fmt("[%d]", msg("t/y", f)), "[]\nError: Message payload is not an 8 byte double on topic t/y.\n");
}

TEST_F(FormatTest, HexGrouping21) {
  ReceivedMessage m = msg("t", std::string_view("\x18\x83\xab\x01\xff", 5));
  EXPECT_EQ(fmt("%.2x|%.2:x|%.4X|%.4-x|%.3x|%.0x|%.10x", m),
            "18 83 ab 01 ff|18:83:ab:01:ff|1883 AB01 FF|1883-ab01-ff|188 3ab 01f f|1883ab01ff|1883ab01ff\n");
  // With a grouping the width is a minimum over the grouped text; nothing is cut.
  EXPECT_EQ(fmt("%20.2x|%-16.4x|%016.2/x|%4.2x", m),
            "      18 83 ab 01 ff|1883 ab01 ff    |0018/83/ab/01/ff|18 83 ab 01 ff\n");
  // Every separator Mosquitto 2.1 lists.
  for (char c : std::string("!\"#$&'()*+,-./:;=?@[\\]^_`{|}~")) {
    std::string f = std::string("%.2") + c + "x";
    EXPECT_EQ(check_format_text(f), "") << f;
    EXPECT_EQ(fmt(f, msg("t", "\x01\x02")), std::string("01") + c + "02\n") << f;
  }
}

TEST_F(FormatTest, HexWidth20And21) {
  ReceivedMessage m = msg("t", "abc");
  // 2.0 (Mosquitto names): a width truncates to width/2 bytes.
  EXPECT_EQ(fmt("%4x|%-6X|%08x", m), "  61|61    |00000061\n");
  // 2.1 (mq names): the width is a minimum.
  OutputOptions o;
  o.format = "%4x|%-8X|%08x|%2x";
  o.legacy_hex_width = false;
  std::string out;
  format_message(out, o, m, WallTime{}, nullptr);
  EXPECT_EQ(out, "616263|616263  |00616263|616263\n");
}

TEST_F(FormatTest, CheckFormat21) {
  EXPECT_EQ(check_format_text("%f %d %-08.3f %.2:x %.4X %.2-X"), "");
  EXPECT_EQ(check_format_text("%.2:t"), "Error: Invalid format specifier ':'.\n");
  EXPECT_EQ(check_format_text("%.2:"), "Error: Invalid format specifier ':'.\n");
  EXPECT_EQ(check_format_text("%.2%x"), "");  // "%%" after "%.2": the literal percent, then x
}

TEST(WatchScreenTest, FixedLinePerTopic) {
  WatchScreen w;
  std::string out;
  w.render(out, "a", "a 1");
  w.render(out, "b", "b 1");
  w.render(out, "c", "c 1");
  EXPECT_EQ(out, "a 1\nb 1\nc 1\n");
  out.clear();
  w.render(out, "a", "a 2");  // top row: 3 lines up, redraw, 3 lines down
  EXPECT_EQ(out, "\033[3A\r\033[2Ka 2\033[3B\r");
  out.clear();
  w.render(out, "c", "c 2");
  EXPECT_EQ(out, "\033[1A\r\033[2Kc 2\033[1B\r");
  out.clear();
  w.render(out, "d", "d 1");  // a new topic goes below the others
  EXPECT_EQ(out, "d 1\n");
  EXPECT_EQ(w.rows(), 4u);
}

TEST(WatchScreenTest, NoLineBreaksAndCutToWidth) {
  WatchScreen w(5);
  std::string out;
  w.render(out, "t", "a\nb\rcdefgh");
  EXPECT_EQ(out, "a b c\n");
  out.clear();
  w.render(out, "u", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");  // cut by characters, not bytes
  EXPECT_EQ(out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n");
}

TEST(RateLineTest, Format) {
  std::string out;
  format_rate_line(out, 0);
  format_rate_line(out, 1234);
  EXPECT_EQ(out, "0 messages/s\n1234 messages/s\n");
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
