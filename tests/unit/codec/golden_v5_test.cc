// Golden bytes for MQTT 5.0: each byte array decodes to the struct beside it and the struct
// encodes to exactly those bytes (properties are written in identifier order).
#include "test_util.h"

namespace mq::codec::testing {
namespace {

TEST(GoldenV5, Connect) {
  const std::string wire = bytes({
      0x10, 0x28,                         // CONNECT, remaining length 40
      0x00, 0x04, 'M',  'Q',  'T',  'T',  // protocol name "MQTT"
      0x05,                               // protocol level 5
      0xC6,                               // flags: user name, password, will (QoS 0), clean start
      0x00, 0x1E,                         // keep alive 30
      0x08,                               // property length 8
      0x11, 0x00, 0x00, 0x0E, 0x10,       //   session expiry interval 3600
      0x21, 0x00, 0x14,                   //   receive maximum 20
      0x00, 0x02, 'c',  '1',              // client identifier "c1"
      0x05,                               // will property length 5
      0x18, 0x00, 0x00, 0x00, 0x05,       //   will delay interval 5
      0x00, 0x01, 'w',                    // will topic "w"
      0x00, 0x00,                         // will payload, empty
      0x00, 0x01, 'u',                    // user name "u"
      0x00, 0x01, 'p',                    // password "p"
  });
  Connect c;
  c.version = kV5;
  c.keep_alive = 30;
  c.client_id = "c1";
  c.properties.session_expiry_interval = 3600;
  c.properties.receive_maximum = 20;
  Will w;
  w.topic = "w";
  w.properties.will_delay_interval = 5;
  c.will = w;
  c.username = "u";
  c.password = "p";
  expect_golden(wire, c, kV5, kToServer);
  EXPECT_EQ(peek_connect_version(wire.substr(2)), kV5);
}

TEST(GoldenV5, ConnectPasswordWithoutUserName) {
  // Allowed from MQTT 5 on (section 3.1.2.9).
  const std::string wire = bytes({
      0x10, 0x10,                      // CONNECT, remaining length 16
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x05,                            // level 5
      0x42,                            // flags: password, clean start
      0x00, 0x00,                      // keep alive 0
      0x00,                            // property length 0
      0x00, 0x00,                      // empty client identifier
      0x00, 0x01, 'p',                 // password "p"
  });
  Connect c;
  c.version = kV5;
  c.password = "p";
  expect_golden(wire, c, kV5, kToServer);
}

TEST(GoldenV5, Connack) {
  const std::string wire = bytes({
      0x20, 0x0C,                       // CONNACK, remaining length 12
      0x00,                             // no session present
      0x00,                             // reason code Success
      0x09,                             // property length 9
      0x12, 0x00, 0x03, 'a', 'b', 'c',  //   assigned client identifier "abc"
      0x22, 0x00, 0x0A,                 //   topic alias maximum 10
  });
  Connack c;
  c.properties.assigned_client_identifier = "abc";
  c.properties.topic_alias_maximum = 10;
  expect_golden(wire, c, kV5, kToClient);
}

TEST(GoldenV5, ConnackRefused) {
  expect_golden(bytes({
                    0x20, 0x03,  // CONNACK, remaining length 3
                    0x00,        // no session
                    0x87,        // Not authorized
                    0x00,        // property length 0
                }),
                Connack{false, ReasonCode::kNotAuthorized, {}}, kV5, kToClient);
}

TEST(GoldenV5, ConnackFromOldServer) {
  // A 3.1.1-only server refusing an MQTT 5 CONNECT: return code 1 without properties.
  expect_golden(bytes({0x20, 0x02, 0x00, 0x01}), Connack{false, static_cast<ReasonCode>(1), {}},
                kV5, kToClient);
}

TEST(GoldenV5, PublishWithTopicAlias) {
  const std::string wire = bytes({
      0x32, 0x0B,        // PUBLISH QoS 1, remaining length 11
      0x00, 0x01, 't',   // topic name "t"
      0x00, 0x07,        // packet identifier 7
      0x03,              // property length 3
      0x23, 0x00, 0x01,  //   topic alias 1
      'o', 'k',          // payload "ok"
  });
  Publish p;
  p.topic = "t";
  p.qos = 1;
  p.packet_id = 7;
  p.payload = "ok";
  p.properties.topic_alias = 1;
  expect_golden(wire, p, kV5, kToServer);
}

TEST(GoldenV5, PublishEmptyTopicUsesAlias) {
  const std::string wire = bytes({
      0x30, 0x07,        // PUBLISH QoS 0, remaining length 7
      0x00, 0x00,        // empty topic name
      0x03,              // property length 3
      0x23, 0x00, 0x01,  //   topic alias 1
      'z',               // payload
  });
  Publish p;
  p.payload = "z";
  p.properties.topic_alias = 1;
  expect_golden(wire, p, kV5, kToServer);
}

TEST(GoldenV5, PublishToClientWithSubscriptionIdentifiers) {
  const std::string wire = bytes({
      0x30, 0x0A,        // PUBLISH QoS 0, remaining length 10
      0x00, 0x01, 't',   // topic name "t"
      0x05,              // property length 5
      0x0B, 0x01,        //   subscription identifier 1
      0x0B, 0x80, 0x01,  //   subscription identifier 128 (two-byte varint)
      'p',               // payload
  });
  Publish p;
  p.topic = "t";
  p.payload = "p";
  p.properties.subscription_identifiers = {1, 128};
  expect_golden(wire, p, kV5, kToClient);
  // The raw block is kept for pass-through.
  Framer f;
  Result<Packet> got = decode_whole(f, wire, kV5, kToClient);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::get<Publish>(*got).properties.raw, wire.substr(6, 5));
}

TEST(GoldenV5, AckForms) {
  // Remaining length 2: Success, no properties.
  expect_golden(bytes({0x40, 0x02, 0x00, 0x01}), Puback{1, {}, {}}, kV5, kToServer);
  // Remaining length 3: reason code, no properties.
  expect_golden(bytes({
                    0x40, 0x03,  // PUBACK, remaining length 3
                    0x00, 0x01,  // packet identifier 1
                    0x10,        // No matching subscribers
                }),
                Puback{1, ReasonCode::kNoMatchingSubscribers, {}}, kV5, kToClient);
  Puback with_props{1, ReasonCode::kNotAuthorized, {}};
  with_props.properties.reason_string = "x";
  expect_golden(bytes({
                    0x40, 0x08,             // PUBACK, remaining length 8
                    0x00, 0x01,             // packet identifier 1
                    0x87,                   // Not authorized
                    0x04,                   // property length 4
                    0x1F, 0x00, 0x01, 'x',  //   reason string "x"
                }),
                with_props, kV5, kToClient);
  expect_golden(bytes({0x50, 0x03, 0x00, 0x02, 0x80}),  // PUBREC id 2, Unspecified error
                Pubrec{2, ReasonCode::kUnspecifiedError, {}}, kV5, kToServer);
  expect_golden(bytes({0x62, 0x03, 0x00, 0x02, 0x92}),  // PUBREL id 2, Packet Identifier not found
                Pubrel{2, ReasonCode::kPacketIdentifierNotFound, {}}, kV5, kToClient);
  expect_golden(bytes({0x70, 0x02, 0x00, 0x02}),  // PUBCOMP id 2, Success
                Pubcomp{2, {}, {}}, kV5, kToServer);
}

TEST(GoldenV5, AckWithEmptyPropertyLengthDecodes) {
  // Remaining length 4 with property length 0 is valid too; it re-encodes in the short form.
  Framer f;
  Result<Packet> got = decode_whole(f, bytes({0x40, 0x04, 0x00, 0x01, 0x00, 0x00}), kV5, kToServer);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == Packet(Puback{1, {}, {}}));
}

TEST(GoldenV5, Subscribe) {
  const std::string wire = bytes({
      0x82, 0x16,       // SUBSCRIBE (flags 0010), remaining length 22
      0x00, 0x03,       // packet identifier 3
      0x02,             // property length 2
      0x0B, 0x05,       //   subscription identifier 5
      0x00, 0x01, 'a',  // topic filter "a"
      0x2D,             // options: retain handling 2, retain as published, no local, QoS 1
      0x00, 0x0A, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 't',  // "$share/g/t"
      0x00,                                                          // options: QoS 0
  });
  Subscribe s;
  s.packet_id = 3;
  s.properties.subscription_identifiers = {5};
  s.subscriptions = {{"a", 1, true, true, 2}, {"$share/g/t", 0, false, false, 0}};
  expect_golden(wire, s, kV5, kToServer);
}

TEST(GoldenV5, Suback) {
  const std::string wire = bytes({
      0x90, 0x05,  // SUBACK, remaining length 5
      0x00, 0x03,  // packet identifier 3
      0x00,        // property length 0
      0x01,        // Granted QoS 1
      0xA2,        // Wildcard Subscriptions not supported
  });
  Suback s;
  s.packet_id = 3;
  s.reason_codes = {ReasonCode::kGrantedQos1, ReasonCode::kWildcardSubscriptionsNotSupported};
  expect_golden(wire, s, kV5, kToClient);
}

TEST(GoldenV5, Unsubscribe) {
  const std::string wire = bytes({
      0xA2, 0x06,       // UNSUBSCRIBE (flags 0010), remaining length 6
      0x00, 0x04,       // packet identifier 4
      0x00,             // property length 0
      0x00, 0x01, 'a',  // topic filter "a"
  });
  expect_golden(wire, Unsubscribe{4, {}, {"a"}}, kV5, kToServer);
}

TEST(GoldenV5, Unsuback) {
  const std::string wire = bytes({
      0xB0, 0x04,  // UNSUBACK, remaining length 4
      0x00, 0x04,  // packet identifier 4
      0x00,        // property length 0
      0x11,        // No subscription existed
  });
  expect_golden(wire, Unsuback{4, {}, {ReasonCode::kNoSubscriptionExisted}}, kV5, kToClient);
}

TEST(GoldenV5, Ping) {
  expect_golden(bytes({0xC0, 0x00}), Pingreq{}, kV5, kToServer);   // PINGREQ
  expect_golden(bytes({0xD0, 0x00}), Pingresp{}, kV5, kToClient);  // PINGRESP
}

TEST(GoldenV5, Disconnect) {
  expect_golden(bytes({0xE0, 0x00}), Disconnect{}, kV5, kToServer);  // normal, remaining length 0
  expect_golden(bytes({0xE0, 0x01, 0x8E}),  // DISCONNECT, Session taken over, no properties
                Disconnect{ReasonCode::kSessionTakenOver, {}}, kV5, kToClient);
  Disconnect d{ReasonCode::kDisconnectWithWillMessage, {}};
  d.properties.session_expiry_interval = 0;
  expect_golden(bytes({
                    0xE0, 0x07,                    // DISCONNECT, remaining length 7
                    0x04,                          // Disconnect with Will Message
                    0x05,                          // property length 5
                    0x11, 0x00, 0x00, 0x00, 0x00,  //   session expiry interval 0
                }),
                d, kV5, kToServer);
}

TEST(GoldenV5, Auth) {
  const std::string wire = bytes({
      0xF0, 0x0E,                            // AUTH, remaining length 14
      0x18,                                  // Continue authentication
      0x0C,                                  // property length 12
      0x15, 0x00, 0x04, 'S', 'C', 'R', 'M',  //   authentication method "SCRM"
      0x16, 0x00, 0x02, 0x01, 0x02,          //   authentication data 01 02
  });
  Auth a{ReasonCode::kContinueAuthentication, {}};
  a.properties.authentication_method = "SCRM";
  a.properties.authentication_data = std::string_view("\x01\x02", 2);
  expect_golden(wire, a, kV5, kToServer);
  expect_golden(bytes({0xF0, 0x00}), Auth{}, kV5, kToClient);  // AUTH Success, remaining length 0
}

}  // namespace
}  // namespace mq::codec::testing
