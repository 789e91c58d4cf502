// Variable byte integers, the bounds-checked Reader, UTF-8 validation and reason code names.
#include "codec/wire.h"

#include "codec/utf8.h"
#include "test_util.h"

namespace mq::codec::testing {
namespace {

TEST(Varint, BoundaryValuesRoundTripMinimally) {
  struct Case {
    uint32_t value;
    size_t size;
  };
  for (Case c : {Case{0, 1},
                 {127, 1},
                 {128, 2},
                 {16383, 2},
                 {16384, 3},
                 {2097151, 3},
                 {2097152, 4},
                 {268435455, 4}}) {
    std::string out;
    append_varint(out, c.value);
    EXPECT_EQ(out.size(), c.size) << c.value;
    EXPECT_EQ(varint_size(c.value), c.size);
    uint32_t v = 0;
    size_t used = 0;
    ASSERT_EQ(decode_varint(reinterpret_cast<const uint8_t*>(out.data()), out.size(), v, used),
              VarintStatus::kOk);
    EXPECT_EQ(v, c.value);
    EXPECT_EQ(used, c.size);
  }
}

TEST(Varint, SpecExamples) {
  std::string out;
  append_varint(out, 321);  // section 1.5.5: 321 = 0xC1 0x02
  EXPECT_EQ(hex(out), hex(bytes({0xC1, 0x02})));
  out.clear();
  append_varint(out, 268435455);
  EXPECT_EQ(hex(out), hex(bytes({0xFF, 0xFF, 0xFF, 0x7F})));
}

VarintStatus decode_str(const std::string& s) {
  uint32_t v = 0;
  size_t used = 0;
  return decode_varint(reinterpret_cast<const uint8_t*>(s.data()), s.size(), v, used);
}

TEST(Varint, RejectsFiveBytesNonMinimalAndTruncation) {
  EXPECT_EQ(decode_str(bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x01})), VarintStatus::kTooLong);
  EXPECT_EQ(decode_str(bytes({0x80, 0x80, 0x80, 0x80})), VarintStatus::kTooLong);
  EXPECT_EQ(decode_str(bytes({0x80, 0x00})), VarintStatus::kNonMinimal);
  EXPECT_EQ(decode_str(bytes({0xFF, 0x00})), VarintStatus::kNonMinimal);
  EXPECT_EQ(decode_str(bytes({0x80, 0x80, 0x80, 0x00})), VarintStatus::kNonMinimal);
  EXPECT_EQ(decode_str(bytes({0x80, 0x80})), VarintStatus::kNeedMore);
  EXPECT_EQ(decode_str(""), VarintStatus::kNeedMore);
}

TEST(Reader, BoundsChecked) {
  const std::string in = bytes({0x00, 0x05, 'a', 'b'});
  Reader r(in);
  std::string_view s;
  EXPECT_FALSE(r.binary(s));     // length 5 runs past the 2 bytes left
  EXPECT_EQ(r.remaining(), 4u);  // a failed read consumes nothing
  uint32_t w = 0;
  EXPECT_TRUE(r.u32(w));
  EXPECT_EQ(w, 0x00056162u);
  uint8_t b = 0;
  EXPECT_FALSE(r.u8(b));
  EXPECT_TRUE(r.at_end());
}

TEST(Sink, MeasureMatchesEmit) {
  Measure m;
  std::string out;
  Emit e(&out);
  m.u8(1), m.u16(2), m.u32(3), m.varint(200), m.binary("abc"), m.bytes("xy");
  e.u8(1), e.u16(2), e.u32(3), e.varint(200), e.binary("abc"), e.bytes("xy");
  EXPECT_EQ(m.size(), out.size());
  EXPECT_TRUE(m.ok());
  std::string big(70000, 'x');
  m.binary(big);
  EXPECT_FALSE(m.ok());
  Measure m2;
  m2.varint(kMaxVarint + 1);
  EXPECT_FALSE(m2.ok());
}

TEST(Utf8, AcceptsValidText) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii text longer than eight bytes"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9"));          // U+00E9
  EXPECT_TRUE(valid_utf8("\xE2\x82\xAC"));      // U+20AC
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBD"));  // U+10FFFD
  EXPECT_TRUE(valid_utf8("\xC2\xA0"));          // U+00A0, the first after the C1 controls
  EXPECT_TRUE(valid_utf8(" ~ printable ASCII: 0x20 and 0x7E at the ends ~ "));
  EXPECT_TRUE(
      valid_utf8("\xEF\xBB\xBF"
                 "abc"));                   // BOM is data [MQTT-1.5.4-3]
}

// MQTT lets a receiver treat these as malformed [MQTT-1.5.4-1 note]; Mosquitto 2.0.11 does
// (DISCONNECT 0x81 for each, checked).
TEST(Utf8, RejectsControlsAndNonCharactersAsMosquitto) {
  EXPECT_FALSE(valid_utf8("a\tb"));
  EXPECT_FALSE(valid_utf8("\x01"));
  EXPECT_FALSE(valid_utf8("\x1F"));
  EXPECT_FALSE(valid_utf8("\x7F"));
  for (size_t at = 0; at < 16; at++) {  // in and around an 8-byte fast-path word
    for (char bad : {'\t', '\x01', '\x1F', '\x7F', '\n'}) {
      std::string s(16, 'x');
      s[at] = bad;
      EXPECT_FALSE(valid_utf8(s)) << "byte " << int(bad) << " at " << at;
    }
  }
  EXPECT_FALSE(valid_utf8("\xC2\x80"));          // U+0080
  EXPECT_FALSE(valid_utf8("\xC2\x85"));          // U+0085
  EXPECT_FALSE(valid_utf8("\xC2\x9F"));          // U+009F
  EXPECT_FALSE(valid_utf8("\xEF\xB7\x90"));      // U+FDD0
  EXPECT_FALSE(valid_utf8("\xEF\xB7\xAF"));      // U+FDEF
  EXPECT_FALSE(valid_utf8("\xEF\xBF\xBE"));      // U+FFFE
  EXPECT_FALSE(valid_utf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_FALSE(valid_utf8("\xF0\x9F\xBF\xBF"));  // U+1FFFF
  EXPECT_FALSE(valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(valid_utf8("\xEF\xB7\x8F"));       // U+FDCF
  EXPECT_TRUE(valid_utf8("\xEF\xB7\xB0"));       // U+FDF0
}

TEST(Utf8, RejectsWhatMqttForbids) {
  EXPECT_FALSE(valid_utf8(std::string_view("a\0b", 3)));        // U+0000 [MQTT-1.5.4-2]
  EXPECT_FALSE(valid_utf8(std::string_view("abcdefgh\0", 9)));  // U+0000 after a fast-path word
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));                     // U+D800 surrogate [MQTT-1.5.4-1]
  EXPECT_FALSE(valid_utf8("\xED\xBF\xBF"));                     // U+DFFF surrogate
  EXPECT_FALSE(valid_utf8("\xC0\x80"));                         // overlong U+0000
  EXPECT_FALSE(valid_utf8("\xC1\xBF"));                         // overlong
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));                     // overlong '/'
  EXPECT_FALSE(valid_utf8("\xF0\x80\x80\xAF"));                 // overlong '/'
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));                 // U+110000
  EXPECT_FALSE(valid_utf8("\xF8\x88\x80\x80\x80"));             // 5-byte form
  EXPECT_FALSE(valid_utf8("\x80"));                             // stray continuation
  EXPECT_FALSE(valid_utf8("\xC3"));                             // truncated sequence
  EXPECT_FALSE(valid_utf8("\xE2\x82"));                         // truncated sequence
  EXPECT_FALSE(valid_utf8("\xE2\x28\xA1"));                     // bad continuation
  EXPECT_FALSE(valid_utf8("\xFF"));
}

TEST(ReasonCode, NamesAsInTheSpecification) {
  EXPECT_STREQ(reason_code_name(ReasonCode::kNotAuthorized), "Not authorized");
  EXPECT_STREQ(reason_code_name(ReasonCode::kSuccess), "Success");
  EXPECT_STREQ(reason_code_name(ReasonCode::kUnsupportedProtocolVersion),
               "Unsupported Protocol Version");
  EXPECT_STREQ(reason_code_name(ReasonCode::kPacketTooLarge), "Packet too large");
  EXPECT_STREQ(reason_code_name(static_cast<ReasonCode>(0x03)), "Unknown");
  EXPECT_TRUE(reason_code_allowed(PacketType::kPuback, ReasonCode::kNoMatchingSubscribers));
  EXPECT_FALSE(reason_code_allowed(PacketType::kPubrel, ReasonCode::kNotAuthorized));
  EXPECT_FALSE(reason_code_allowed(PacketType::kConnack, ReasonCode::kDisconnectWithWillMessage));
  EXPECT_EQ(connack_return_code_v3(ReasonCode::kUnsupportedProtocolVersion), 1);
  EXPECT_EQ(connack_return_code_v3(ReasonCode::kBadUserNameOrPassword), 4);
  EXPECT_STREQ(packet_type_name(PacketType::kUnsubscribe), "UNSUBSCRIBE");
  EXPECT_STREQ(property_name(PropertyId::kTopicAlias), "Topic Alias");
  EXPECT_TRUE(property_allowed(PropertyId::kWillDelayInterval, PropertyScope::kWill));
  EXPECT_FALSE(property_allowed(PropertyId::kWillDelayInterval, PropertyScope::kConnect));
}

}  // namespace
}  // namespace mq::codec::testing

namespace mq::codec::testing {
namespace {

std::string encoded(const Properties& p) {
  std::string out;
  Emit e(&out);
  encode_properties(e, p);
  return out;
}

TEST(Properties, UsualOrderIsByIdentifier) {
  Properties p;
  p.user_properties = {{"a", "b"}};
  p.content_type = "t";
  p.payload_format_indicator = 1;
  EXPECT_EQ(encoded(p), std::string("\x0D\x01\x01\x03\x00\x01t\x26\x00\x01" "a\x00\x01" "b", 14));
}

TEST(Properties, OrderHintWritesInThatOrderThenTheRest) {
  // mosquitto_pub -D publish user-property a b -D publish content-type t
  //               -D publish user-property c d (the payload format indicator not listed)
  Properties p;
  p.user_properties = {{"a", "b"}, {"c", "d"}};
  p.content_type = "t";
  p.payload_format_indicator = 1;
  std::vector<PropertyId> order = {PropertyId::kUserProperty, PropertyId::kContentType,
                                   PropertyId::kUserProperty};
  p.order = order;
  std::string want("\x14"
                   "\x26\x00\x01" "a\x00\x01" "b"
                   "\x03\x00\x01" "t"
                   "\x26\x00\x01" "c\x00\x01" "d"
                   "\x01\x01", 21);
  EXPECT_EQ(encoded(p), want);
  // An identifier listed more often than it has values, or not set at all, writes nothing.
  order.push_back(PropertyId::kUserProperty);
  order.push_back(PropertyId::kTopicAlias);
  p.order = order;
  EXPECT_EQ(encoded(p), want);
  EXPECT_EQ(properties_size(p) + 1, want.size());
}

TEST(Properties, IdsOfAnEncodedBlockInOrder) {
  Properties p;
  p.user_properties = {{"a", "b"}, {"c", "d"}};
  p.content_type = "t";
  p.message_expiry_interval = 7;
  p.subscription_identifiers = {300};
  std::vector<PropertyId> order = {PropertyId::kUserProperty, PropertyId::kSubscriptionIdentifier,
                                   PropertyId::kContentType, PropertyId::kMessageExpiryInterval,
                                   PropertyId::kUserProperty};
  p.order = order;
  std::string block = encoded(p).substr(1);  // after the one-byte Property Length
  EXPECT_EQ(property_ids(block), order);
  EXPECT_FALSE(property_ids_in_usual_order(block));
  EXPECT_TRUE(property_ids("").empty());
  EXPECT_TRUE(property_ids_in_usual_order(""));
  p.order = {};
  EXPECT_TRUE(property_ids_in_usual_order(encoded(p).substr(1)));
}

}  // namespace
}  // namespace mq::codec::testing
