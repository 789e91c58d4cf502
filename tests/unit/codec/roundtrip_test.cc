// Encode then decode gives back the same packet: every packet type in every version, every
// property in every place it may appear, and remaining lengths across each varint size.
#include "test_util.h"

namespace mq::codec::testing {
namespace {

void expect_round_trip(const Packet& p, ProtocolVersion v, Direction d) {
  std::string wire = encode_to_string(p, v);
  Result<size_t> size = encoded_size(p, v);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, wire.size());
  Framer f;
  Result<Packet> got = decode_whole(f, wire, v, d);
  ASSERT_TRUE(got.ok()) << got.error().to_string() << " for " << packet_type_name(packet_type(p));
  EXPECT_TRUE(*got == p) << packet_type_name(packet_type(p)) << " in version "
                         << static_cast<int>(v);
}

Properties message_properties() {
  Properties p;
  p.payload_format_indicator = 1;
  p.message_expiry_interval = 0xFFFFFFFF;
  p.content_type = "text/plain";
  p.response_topic = "reply/here";
  p.correlation_data = std::string_view("\x00\xFF", 2);
  p.user_properties = {{"k", "v"}, {"k", "v2"}, {"", ""}};
  return p;
}

TEST(RoundTrip, ConnectWithEveryProperty) {
  Connect c;
  c.version = kV5;
  c.clean_start = false;
  c.keep_alive = 65535;
  c.client_id = "client-\xC3\xA9";
  c.properties.session_expiry_interval = 0xFFFFFFFF;
  c.properties.authentication_method = "SCRAM-SHA-1";
  c.properties.authentication_data = "data";
  c.properties.request_problem_information = 0;
  c.properties.request_response_information = 1;
  c.properties.receive_maximum = 65535;
  c.properties.topic_alias_maximum = 0;
  c.properties.maximum_packet_size = 268435460;
  c.properties.user_properties = {{"a", "b"}};
  Will w;
  w.topic = "last/will";
  w.payload = std::string_view("\x00\x01\x02", 3);
  w.qos = 2;
  w.retain = true;
  w.properties = message_properties();
  w.properties.will_delay_interval = 30;
  c.will = w;
  c.username = "";
  c.password = "";
  expect_round_trip(c, kV5, kToServer);
}

TEST(RoundTrip, ConnectEveryVersion) {
  for (ProtocolVersion v : {kV31, kV311, kV5}) {
    Connect c;
    c.version = v;
    c.client_id = "id";
    c.will = Will{"t", "p", 1, false, {}};
    c.username = "user";
    c.password = "pass";
    expect_round_trip(c, kV5, kToServer);  // the negotiated version does not matter for CONNECT
    EXPECT_EQ(peek_connect_version(encode_to_string(c, v).substr(2)), v);
  }
}

TEST(RoundTrip, ConnackWithEveryProperty) {
  Connack c;
  c.session_present = true;
  Properties& p = c.properties;
  p.session_expiry_interval = 10;
  p.assigned_client_identifier = "auto-1";
  p.server_keep_alive = 20;
  p.authentication_method = "m";
  p.authentication_data = "d";
  p.response_information = "resp/";
  p.server_reference = "other:1883";
  p.reason_string = "ok";
  p.receive_maximum = 100;
  p.topic_alias_maximum = 10;
  p.maximum_qos = 1;
  p.retain_available = 0;
  p.maximum_packet_size = 1024;
  p.wildcard_subscription_available = 1;
  p.subscription_identifier_available = 0;
  p.shared_subscription_available = 1;
  p.user_properties = {{"x", "y"}};
  expect_round_trip(c, kV5, kToClient);
}

TEST(RoundTrip, PublishWithEveryPropertyAndBigSubscriptionIdentifiers) {
  Publish p;
  p.topic = "a/b/c";
  p.payload = "payload";
  p.qos = 2;
  p.packet_id = 0x1234;
  p.properties = message_properties();
  p.properties.topic_alias = 65535;
  p.properties.subscription_identifiers = {1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455};
  expect_round_trip(p, kV5, kToClient);
}

TEST(RoundTrip, PublishRemainingLengthAcrossVarintSizes) {
  // Remaining length = 2 + topic (1) + payload for QoS 0 on 3.1.1.
  for (size_t remaining : {127u, 128u, 16383u, 16384u, 2097151u, 2097152u}) {
    std::string payload(remaining - 3, 'x');
    Publish p;
    p.topic = "t";
    p.payload = payload;
    std::string wire = encode_to_string(p, kV311);
    EXPECT_EQ(wire.size(), 1 + varint_size(static_cast<uint32_t>(remaining)) + remaining);
    expect_round_trip(p, kV311, kToServer);
  }
}

TEST(RoundTrip, AcksWithProperties) {
  for (ProtocolVersion v : {kV311, kV5}) {
    Puback a{1, v == kV5 ? ReasonCode::kQuotaExceeded : ReasonCode::kSuccess, {}};
    Pubrec b{2, v == kV5 ? ReasonCode::kPayloadFormatInvalid : ReasonCode::kSuccess, {}};
    Pubrel c{3, {}, {}};
    Pubcomp d{65535, {}, {}};
    if (v == kV5) {
      a.properties.reason_string = "quota";
      a.properties.user_properties = {{"k", "v"}};
      c.properties.reason_string = "r";
      d.reason_code = ReasonCode::kPacketIdentifierNotFound;
    }
    for (Direction dir : {kToServer, kToClient}) {
      expect_round_trip(a, v, dir);
      expect_round_trip(b, v, dir);
      expect_round_trip(c, v, dir);
      expect_round_trip(d, v, dir);
    }
  }
}

TEST(RoundTrip, SubscribeFamily) {
  for (ProtocolVersion v : {kV31, kV311, kV5}) {
    const bool v5 = v == kV5;
    Subscribe s;
    s.packet_id = 9;
    s.subscriptions = {{"a/+/c", 2, v5, v5, v5 ? uint8_t{1} : uint8_t{0}},
                       {"$share/grp/x/#", 1, false, v5, 0}};
    if (v5) {
      s.properties.subscription_identifiers = {268435455};
      s.properties.user_properties = {{"u", "p"}};
    }
    expect_round_trip(s, v, kToServer);

    Suback a;
    a.packet_id = 9;
    a.reason_codes = {ReasonCode::kGrantedQos2, ReasonCode::kUnspecifiedError};
    if (v5) {
      a.reason_codes.push_back(ReasonCode::kSharedSubscriptionsNotSupported);
      a.properties.reason_string = "partly";
    }
    expect_round_trip(a, v, kToClient);

    Unsubscribe u;
    u.packet_id = 10;
    u.filters = {"a/#", "$share/g/b"};
    if (v5) u.properties.user_properties = {{"a", "b"}};
    expect_round_trip(u, v, kToServer);

    Unsuback ua;
    ua.packet_id = 10;
    if (v5) {
      ua.reason_codes = {ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted};
      ua.properties.reason_string = "r";
    }
    expect_round_trip(ua, v, kToClient);
  }
}

TEST(RoundTrip, DisconnectAndAuth) {
  Disconnect d{ReasonCode::kServerMoved, {}};
  d.properties.server_reference = "elsewhere";
  d.properties.reason_string = "moving";
  d.properties.session_expiry_interval = 5;
  d.properties.user_properties = {{"a", "b"}};
  expect_round_trip(d, kV5, kToClient);
  expect_round_trip(Disconnect{ReasonCode::kDisconnectWithWillMessage, {}}, kV5, kToServer);
  Auth a{ReasonCode::kReAuthenticate, {}};
  a.properties.authentication_method = "m";
  a.properties.authentication_data = "";
  a.properties.reason_string = "again";
  a.properties.user_properties = {{"a", "b"}};
  expect_round_trip(a, kV5, kToServer);
  expect_round_trip(Pingreq{}, kV31, kToServer);
  expect_round_trip(Pingresp{}, kV31, kToClient);
}

TEST(Encode, PublishHeaderWithoutPayload) {
  std::string payload(300, 'p');
  Publish p;
  p.topic = "t";
  p.qos = 1;
  p.packet_id = 5;
  p.payload = payload;
  p.properties.message_expiry_interval = 60;
  for (ProtocolVersion v : {kV311, kV5}) {
    std::string whole = encode_to_string(p, v);
    std::string head;
    ASSERT_TRUE(encode_publish_header(p, v, head).ok());
    EXPECT_EQ(head.size() + payload.size(), whole.size());
    EXPECT_EQ(head + payload, whole);  // header counts the payload; payload bytes are not copied
    Result<size_t> size = encoded_size(p, v);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, whole.size());
  }
}

TEST(Encode, AppendsToExistingOutput) {
  std::string out = "prefix";
  ASSERT_TRUE(encode(Pingreq{}, kV311, out).ok());
  EXPECT_EQ(out, "prefix" + bytes({0xC0, 0x00}));
}

TEST(Encode, RejectsFieldsThatDoNotFit) {
  std::string long_topic(65536, 't');
  Publish p;
  p.topic = long_topic;
  std::string out = "keep";
  Status s = encode(p, kV311, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(out, "keep");  // nothing appended on failure
  Publish q;
  q.topic = "t";
  q.properties.subscription_identifiers = {268435456};
  EXPECT_FALSE(encoded_size(q, kV5).ok());
  EXPECT_TRUE(encoded_size(q, kV311).ok());  // properties are not written before MQTT 5
}

}  // namespace
}  // namespace mq::codec::testing
