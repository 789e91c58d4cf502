// Golden bytes for MQTT 3.1.1 (and 3.1 CONNECT): each byte array decodes to the struct beside it
// and the struct encodes to exactly those bytes.
#include "test_util.h"

namespace mq::codec::testing {
namespace {

TEST(GoldenV311, Connect) {
  const std::string wire = bytes({
      0x10, 0x20,                      // CONNECT, remaining length 32
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name "MQTT"
      0x04,                            // protocol level 4
      0xEE,                            // flags: user, password, will retain/QoS 1/flag, clean
      0x00, 0x3C,                      // keep alive 60
      0x00, 0x03, 'c', 'i', 'd',       // client identifier "cid"
      0x00, 0x03, 'w', '/', 't',       // will topic "w/t"
      0x00, 0x03, 'b', 'y', 'e',       // will payload "bye"
      0x00, 0x01, 'u',                 // user name "u"
      0x00, 0x02, 'p', 'w',            // password "pw"
  });
  Connect c;
  c.version = kV311;
  c.clean_start = true;
  c.keep_alive = 60;
  c.client_id = "cid";
  c.will = Will{"w/t", "bye", 1, true, {}};
  c.username = "u";
  c.password = "pw";
  expect_golden(wire, c, kV311, kToServer);
}

TEST(GoldenV311, ConnectMinimal) {
  const std::string wire = bytes({
      0x10, 0x0C,                      // CONNECT, remaining length 12
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04,                            // level 4
      0x00,                            // flags: none (clean session 0)
      0x00, 0x00,                      // keep alive 0
      0x00, 0x00,                      // empty client identifier
  });
  Connect c;
  c.version = kV311;
  c.clean_start = false;
  expect_golden(wire, c, kV311, kToServer);
}

TEST(GoldenV31, Connect) {
  const std::string wire = bytes({
      0x10, 0x0F,                                // CONNECT, remaining length 15
      0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p',  // protocol name "MQIsdp"
      0x03,                                      // protocol level 3
      0x02,                                      // flags: clean session
      0x00, 0x0A,                                // keep alive 10
      0x00, 0x01, 'c',                           // client identifier "c"
  });
  Connect c;
  c.version = kV31;
  c.keep_alive = 10;
  c.client_id = "c";
  // The negotiated version passed to decode is irrelevant for CONNECT.
  expect_golden(wire, c, kV31, kToServer);
  EXPECT_EQ(peek_connect_version(wire.substr(2)), kV31);
}

TEST(GoldenV311, ConnectFromMosquittoBridge) {
  const std::string wire = bytes({
      0x10, 0x0D,                      // CONNECT, remaining length 13
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x84,                            // level 4 with bit 7: a bridge (try_private)
      0x00,                            // flags: none
      0x00, 0x3C,                      // keep alive 60
      0x00, 0x01, 'b',                 // client identifier "b"
  });
  Connect c;
  c.version = kV311;
  c.bridge = true;
  c.clean_start = false;
  c.keep_alive = 60;
  c.client_id = "b";
  expect_golden(wire, c, kV311, kToServer);
  EXPECT_EQ(peek_connect_version(wire.substr(2)), kV311);
}

TEST(GoldenV311, Connack) {
  expect_golden(bytes({
                    0x20, 0x02,  // CONNACK, remaining length 2
                    0x01,        // session present
                    0x00,        // return code 0: accepted
                }),
                Connack{true, ReasonCode::kSuccess, {}}, kV311, kToClient);
  expect_golden(bytes({
                    0x20, 0x02,  // CONNACK, remaining length 2
                    0x00,        // no session
                    0x05,        // return code 5: not authorized
                }),
                Connack{false, static_cast<ReasonCode>(5), {}}, kV311, kToClient);
}

TEST(GoldenV311, PublishQos0) {
  const std::string wire = bytes({
      0x30, 0x07,                 // PUBLISH QoS 0, remaining length 7
      0x00, 0x03, 'a', '/', 'b',  // topic name "a/b"
      'h', 'i',                   // payload "hi"
  });
  Publish p;
  p.topic = "a/b";
  p.payload = "hi";
  expect_golden(wire, p, kV311, kToServer);
  expect_golden(wire, p, kV311, kToClient);
}

TEST(GoldenV311, PublishQos1DupRetain) {
  const std::string wire = bytes({
      0x3B, 0x08,                 // PUBLISH DUP, QoS 1, RETAIN; remaining length 8
      0x00, 0x03, 'a', '/', 'b',  // topic name
      0x00, 0x0A,                 // packet identifier 10
      'x',                        // payload
  });
  Publish p;
  p.topic = "a/b";
  p.payload = "x";
  p.qos = 1;
  p.dup = true;
  p.retain = true;
  p.packet_id = 10;
  expect_golden(wire, p, kV311, kToServer);
}

TEST(GoldenV311, PublishQos2EmptyPayload) {
  const std::string wire = bytes({
      0x34, 0x05,       // PUBLISH QoS 2, remaining length 5
      0x00, 0x01, 't',  // topic name "t"
      0xFF, 0xFF,       // packet identifier 65535
  });
  Publish p;
  p.topic = "t";
  p.qos = 2;
  p.packet_id = 65535;
  expect_golden(wire, p, kV311, kToClient);
}

TEST(GoldenV311, Acks) {
  expect_golden(bytes({0x40, 0x02, 0x00, 0x0A}), Puback{10, {}, {}}, kV311,
                kToServer);  // PUBACK id 10
  expect_golden(bytes({0x50, 0x02, 0x00, 0x0B}), Pubrec{11, {}, {}}, kV311,
                kToClient);  // PUBREC id 11
  expect_golden(bytes({0x62, 0x02, 0x00, 0x0C}), Pubrel{12, {}, {}}, kV311,
                kToServer);  // PUBREL (flags 0010) id 12
  expect_golden(bytes({0x70, 0x02, 0x01, 0x00}), Pubcomp{256, {}, {}}, kV311,
                kToClient);  // PUBCOMP id 256
}

TEST(GoldenV311, Subscribe) {
  const std::string wire = bytes({
      0x82, 0x0C,                 // SUBSCRIBE (flags 0010), remaining length 12
      0x00, 0x01,                 // packet identifier 1
      0x00, 0x03, 'a', '/', '#',  // topic filter "a/#"
      0x01,                       // requested QoS 1
      0x00, 0x01, '+',            // topic filter "+"
      0x02,                       // requested QoS 2
  });
  Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"a/#", 1}, {"+", 2}};
  expect_golden(wire, s, kV311, kToServer);
}

TEST(GoldenV311, Suback) {
  const std::string wire = bytes({
      0x90, 0x04,  // SUBACK, remaining length 4
      0x00, 0x01,  // packet identifier 1
      0x01,        // granted QoS 1
      0x80,        // failure
  });
  Suback s;
  s.packet_id = 1;
  s.reason_codes = {ReasonCode::kGrantedQos1, ReasonCode::kUnspecifiedError};
  expect_golden(wire, s, kV311, kToClient);
}

TEST(GoldenV311, Unsubscribe) {
  const std::string wire = bytes({
      0xA2, 0x07,                 // UNSUBSCRIBE (flags 0010), remaining length 7
      0x00, 0x02,                 // packet identifier 2
      0x00, 0x03, 'a', '/', '#',  // topic filter "a/#"
  });
  Unsubscribe u;
  u.packet_id = 2;
  u.filters = {"a/#"};
  expect_golden(wire, u, kV311, kToServer);
}

TEST(GoldenV311, Unsuback) {
  expect_golden(bytes({
                    0xB0, 0x02,  // UNSUBACK, remaining length 2
                    0x00, 0x02,  // packet identifier 2
                }),
                Unsuback{2, {}, {}}, kV311, kToClient);
}

TEST(GoldenV311, PingAndDisconnect) {
  expect_golden(bytes({0xC0, 0x00}), Pingreq{}, kV311, kToServer);     // PINGREQ
  expect_golden(bytes({0xD0, 0x00}), Pingresp{}, kV311, kToClient);    // PINGRESP
  expect_golden(bytes({0xE0, 0x00}), Disconnect{}, kV311, kToServer);  // DISCONNECT
}

TEST(GoldenV311, V5OnlyFieldsAreNotWritten) {
  Puback a{7, ReasonCode::kNotAuthorized, {}};
  a.properties.reason_string = "no";
  EXPECT_EQ(hex(encode_to_string(a, kV311)), hex(bytes({0x40, 0x02, 0x00, 0x07})));
  Disconnect d{ReasonCode::kServerShuttingDown, {}};
  EXPECT_EQ(hex(encode_to_string(d, kV311)), hex(bytes({0xE0, 0x00})));
}

}  // namespace
}  // namespace mq::codec::testing
