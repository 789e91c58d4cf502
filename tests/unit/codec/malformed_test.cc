// Bad input the codec must reject with the right error kind and reason code (the classes of
// ARCHITECTURE.md "Errors and hostile input" that a codec can see), truncation at every offset, and a very large
// but legal property block.
#include <chrono>

#include "test_util.h"

namespace mq::codec::testing {
namespace {

// Builds a packet body field by field; packet() adds the fixed header and remaining length.
struct B {
  std::string body;
  B& u8(int v) {
    body.push_back(static_cast<char>(v));
    return *this;
  }
  B& u16(int v) { return u8(v >> 8).u8(v & 0xFF); }
  B& u32(uint32_t v) { return u16(static_cast<int>(v >> 16)).u16(static_cast<int>(v & 0xFFFF)); }
  B& s(std::string_view v) {
    u16(static_cast<int>(v.size()));
    body.append(v);
    return *this;
  }
  B& raw(std::string_view v) {
    body.append(v);
    return *this;
  }
  B& vi(uint32_t v) {
    append_varint(body, v);
    return *this;
  }
  // A property block (MQTT 5): length then the given bytes.
  B& props(const B& p) { return vi(static_cast<uint32_t>(p.body.size())).raw(p.body); }
  std::string packet(int header) const {
    std::string out(1, static_cast<char>(header));
    append_varint(out, static_cast<uint32_t>(body.size()));
    return out + body;
  }
};

B none() {
  return B{};
}

// CONNECT header up to and including keep alive, for a given protocol name, level and flags.
B connect_head(std::string_view name, int level, int flags) {
  return std::move(B().s(name).u8(level).u8(flags).u16(60));
}

struct Case {
  const char* name;
  std::string wire;
  ProtocolVersion v;
  Direction d;
  ErrorKind kind;
  uint8_t reason;
};

constexpr ErrorKind kMal = ErrorKind::kMalformed;
constexpr ErrorKind kProto = ErrorKind::kProtocol;

std::vector<Case> cases() {
  std::vector<Case> c;
  auto add = [&](const char* n, std::string w, ProtocolVersion v, Direction d, ErrorKind k,
                 uint8_t r) {
    c.push_back({n, std::move(w), v, d, k, r});
  };

  // --- fixed header and lengths ---
  add("5-byte remaining length", bytes({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}), kV311, kToServer,
      kMal, 0x81);
  add("non-minimal remaining length", bytes({0xC0, 0x80, 0x00}), kV311, kToServer, kMal, 0x81);
  add("reserved type 0", bytes({0x00, 0x00}), kV311, kToServer, kMal, 0x81);
  add("type 15 on 3.1.1", bytes({0xF0, 0x00}), kV311, kToServer, kMal, 0x81);
  add("type 15 on 3.1", bytes({0xF0, 0x00}), kV31, kToClient, kMal, 0x81);
  add("PUBREL flags 0000", B().u16(1).packet(0x60), kV311, kToServer, kMal, 0x81);
  add("SUBSCRIBE flags 0000", B().u16(1).s("a").u8(0).packet(0x80), kV311, kToServer, kMal, 0x81);
  add("UNSUBSCRIBE flags 0000", B().u16(1).s("a").packet(0xA0), kV311, kToServer, kMal, 0x81);
  add("PUBACK flags 0010", B().u16(1).packet(0x42), kV311, kToServer, kMal, 0x81);
  add("PINGREQ flags 0001", bytes({0xC1, 0x00}), kV311, kToServer, kMal, 0x81);
  add("CONNECT flags 1000", connect_head("MQTT", 4, 2).s("c").packet(0x18), kV311, kToServer, kMal,
      0x81);
  add("PUBLISH QoS 3", B().s("t").u16(1).packet(0x36), kV311, kToServer, kMal, 0x81);
  add("DUP on QoS 0", B().s("t").packet(0x38), kV311, kToServer, kMal, 0x81);
  add("CONNECT remaining length 0", bytes({0x10, 0x00}), kV311, kToServer, kMal, 0x81);
  add("PUBLISH remaining length 0", bytes({0x30, 0x00}), kV5, kToServer, kMal, 0x81);
  add("SUBSCRIBE remaining length 0", bytes({0x82, 0x00}), kV311, kToServer, kMal, 0x81);
  add("PUBACK remaining length 0", bytes({0x40, 0x00}), kV5, kToServer, kMal, 0x81);
  add("PUBREC remaining length 1", bytes({0x50, 0x01, 0x01}), kV311, kToServer, kMal, 0x81);
  add("PUBACK 3.1.1 with extra byte", B().u16(1).u8(0).packet(0x40), kV311, kToServer, kMal, 0x81);
  add("PINGREQ with a body", bytes({0xC0, 0x01, 0x00}), kV311, kToServer, kMal, 0x81);
  add("DISCONNECT 3.1.1 with a body", bytes({0xE0, 0x01, 0x00}), kV311, kToServer, kMal, 0x81);
  add("UNSUBACK 3.1.1 with extra bytes", B().u16(1).u8(0).packet(0xB0), kV311, kToClient, kMal,
      0x81);

  // --- direction ---
  add("CONNACK sent by a client", B().u8(0).u8(0).packet(0x20), kV311, kToServer, kProto, 0x82);
  add("SUBACK sent by a client", B().u16(1).u8(0).packet(0x90), kV311, kToServer, kProto, 0x82);
  add("PINGRESP sent by a client", bytes({0xD0, 0x00}), kV5, kToServer, kProto, 0x82);
  add("SUBSCRIBE sent by a server", B().u16(1).s("a").u8(0).packet(0x82), kV311, kToClient, kProto,
      0x82);
  add("CONNECT sent by a server", connect_head("MQTT", 4, 2).s("c").packet(0x10), kV311, kToClient,
      kProto, 0x82);
  add("3.1.1 server DISCONNECT", bytes({0xE0, 0x00}), kV311, kToClient, kProto, 0x82);

  // --- strings and topics ---
  add("string length past packet", B().u16(5).raw("ab").packet(0x30), kV311, kToServer, kMal, 0x81);
  add("U+0000 in topic", B().s(std::string_view("a\0b", 3)).packet(0x30), kV311, kToServer, kMal,
      0x81);
  add("surrogate in topic", B().s("\xED\xA0\x80").packet(0x30), kV311, kToServer, kMal, 0x81);
  add("overlong in topic", B().s("\xC0\xAF").packet(0x30), kV5, kToServer, kMal, 0x81);
  add("above U+10FFFF in topic", B().s("\xF4\x90\x80\x80").packet(0x30), kV311, kToServer, kMal,
      0x81);
  add("'#' in PUBLISH topic", B().s("a/#").packet(0x30), kV311, kToServer, kProto, 0x90);
  add("'+' in PUBLISH topic", B().s("a/+/b").props(none()).packet(0x30), kV5, kToClient, kProto,
      0x90);
  add("empty topic on 3.1.1", B().s("").packet(0x30), kV311, kToServer, kProto, 0x82);
  // MQTT 5 3.3.2.1: a zero-length Topic Name without a Topic Alias is a Protocol Error.
  add("empty topic without alias", B().s("").props(none()).packet(0x30), kV5, kToServer, kProto,
      0x82);
  add("PUBLISH packet id 0", B().s("t").u16(0).packet(0x32), kV311, kToServer, kProto, 0x82);

  // --- CONNECT ---
  // Not MQTT at all: no reason code, the connection is closed without a CONNACK (Mosquitto).
  add("unknown protocol name", connect_head("MQTX", 4, 2).s("c").packet(0x10), kV311, kToServer,
      kProto, 0);
  add("unknown protocol level", connect_head("MQTT", 6, 2).s("c").packet(0x10), kV311, kToServer,
      ErrorKind::kUnsupported, 0x84);
  add("MQIsdp with level 4", connect_head("MQIsdp", 4, 2).s("c").packet(0x10), kV311, kToServer,
      ErrorKind::kUnsupported, 0x84);
  add("CONNECT reserved flag", connect_head("MQTT", 4, 0x03).s("c").packet(0x10), kV311, kToServer,
      kMal, 0x81);
  add("will QoS without will", connect_head("MQTT", 4, 0x0A).s("c").packet(0x10), kV311, kToServer,
      kMal, 0x81);
  add("will retain without will", connect_head("MQTT", 4, 0x22).s("c").packet(0x10), kV311,
      kToServer, kMal, 0x81);
  add("will QoS 3", connect_head("MQTT", 4, 0x1E).s("c").s("t").s("p").packet(0x10), kV311,
      kToServer, kMal, 0x81);
  add("password without user name", connect_head("MQTT", 4, 0x42).s("c").s("p").packet(0x10), kV311,
      kToServer, kMal, 0x81);
  add("client id overlong UTF-8", connect_head("MQTT", 4, 0x02).s("\xE0\x80\xAF").packet(0x10),
      kV311, kToServer, kMal, 0x81);
  add("CONNECT trailing bytes", connect_head("MQTT", 4, 0x02).s("c").u8(0).packet(0x10), kV311,
      kToServer, kMal, 0x81);
  add("CONNECT user name missing", connect_head("MQTT", 4, 0x82).s("c").packet(0x10), kV311,
      kToServer, kMal, 0x81);
  add("will topic with wildcard", connect_head("MQTT", 4, 0x06).s("c").s("a/#").s("p").packet(0x10),
      kV311, kToServer, kProto, 0x90);
  add("auth data without method",
      connect_head("MQTT", 5, 2).props(B().u8(0x16).s("d")).s("c").packet(0x10), kV5, kToServer,
      kProto, 0x82);
  add("session expiry in will properties",
      connect_head("MQTT", 5, 6)
          .props(none())
          .s("c")
          .props(B().u8(0x11).u32(1))
          .s("t")
          .s("p")
          .packet(0x10),
      kV5, kToServer, kMal, 0x81);
  add("will delay in CONNECT properties",
      connect_head("MQTT", 5, 2).props(B().u8(0x18).u32(1)).s("c").packet(0x10), kV5, kToServer,
      kMal, 0x81);
  add("will property string not UTF-8",
      connect_head("MQTT", 5, 6)
          .props(none())
          .s("c")
          .props(B().u8(0x03).s("\xFF"))
          .s("t")
          .s("p")
          .packet(0x10),
      kV5, kToServer, kMal, 0x81);
  add("receive maximum 0",
      connect_head("MQTT", 5, 2).props(B().u8(0x21).u16(0)).s("c").packet(0x10), kV5, kToServer,
      kProto, 0x82);
  add("maximum packet size 0",
      connect_head("MQTT", 5, 2).props(B().u8(0x27).u32(0)).s("c").packet(0x10), kV5, kToServer,
      kProto, 0x82);
  add("session expiry twice",
      connect_head("MQTT", 5, 2).props(B().u8(0x11).u32(1).u8(0x11).u32(2)).s("c").packet(0x10),
      kV5, kToServer, kProto, 0x82);
  add("request problem information 2",
      connect_head("MQTT", 5, 2).props(B().u8(0x17).u8(2)).s("c").packet(0x10), kV5, kToServer,
      kProto, 0x82);
  add("property length past packet", connect_head("MQTT", 5, 2).vi(40).u8(0x11).u32(1).packet(0x10),
      kV5, kToServer, kMal, 0x81);
  add("property value past its block",
      connect_head("MQTT", 5, 2).vi(3).u8(0x11).u16(0).s("c").packet(0x10), kV5, kToServer, kMal,
      0x81);
  add("unknown property identifier",
      connect_head("MQTT", 5, 2).props(B().u8(0x7F).u8(0)).s("c").packet(0x10), kV5, kToServer,
      kMal, 0x81);
  add("5-byte property length",
      connect_head("MQTT", 5, 2).raw("\x80\x80\x80\x80\x01").s("c").packet(0x10), kV5, kToServer,
      kMal, 0x81);

  // --- CONNACK ---
  add("CONNACK 3.1.1 return code 6", B().u8(0).u8(6).packet(0x20), kV311, kToClient, kProto, 0x82);
  add("CONNACK reserved flags", B().u8(2).u8(0).packet(0x20), kV311, kToClient, kMal, 0x81);
  add("CONNACK session present with error", B().u8(1).u8(0x87).props(none()).packet(0x20), kV5,
      kToClient, kProto, 0x82);
  add("CONNACK 3 bytes on 3.1.1", B().u8(0).u8(0).u8(0).packet(0x20), kV311, kToClient, kMal, 0x81);
  add("CONNACK reason not for CONNACK", B().u8(0).u8(0x04).props(none()).packet(0x20), kV5,
      kToClient, kProto, 0x82);
  add("CONNACK maximum QoS 2", B().u8(0).u8(0).props(B().u8(0x24).u8(2)).packet(0x20), kV5,
      kToClient, kProto, 0x82);

  // --- PUBLISH properties ---
  add("subscription identifier from a client", B().s("t").props(B().u8(0x0B).vi(1)).packet(0x30),
      kV5, kToServer, kProto, 0x82);
  add("topic alias 0", B().s("t").props(B().u8(0x23).u16(0)).packet(0x30), kV5, kToServer, kProto,
      0x94);
  add("session expiry on PUBLISH", B().s("t").props(B().u8(0x11).u32(0)).packet(0x30), kV5,
      kToServer, kMal, 0x81);
  add("topic alias twice", B().s("t").props(B().u8(0x23).u16(1).u8(0x23).u16(2)).packet(0x30), kV5,
      kToClient, kProto, 0x82);
  add("payload format indicator 2", B().s("t").props(B().u8(0x01).u8(2)).packet(0x30), kV5,
      kToServer, kProto, 0x82);
  add("response topic with wildcard", B().s("t").props(B().u8(0x08).s("r/#")).packet(0x30), kV5,
      kToServer, kProto, 0x82);
  add("user property cut in half", B().s("t").props(B().u8(0x26).s("k")).packet(0x30), kV5,
      kToServer, kMal, 0x81);
  add("subscription identifier 0 to client", B().s("t").props(B().u8(0x0B).vi(0)).packet(0x30), kV5,
      kToClient, kProto, 0x82);

  // --- acks ---
  add("PUBACK reason not for PUBACK", B().u16(1).u8(0x92).packet(0x40), kV5, kToServer, kProto,
      0x82);
  add("PUBREL reason not for PUBREL", B().u16(1).u8(0x10).packet(0x62), kV5, kToServer, kProto,
      0x82);
  add("PUBACK packet id 0", B().u16(0).packet(0x40), kV311, kToServer, kProto, 0x82);
  add("PUBACK property not allowed", B().u16(1).u8(0).props(B().u8(0x23).u16(1)).packet(0x40), kV5,
      kToServer, kMal, 0x81);
  add("DISCONNECT reason 0x01", bytes({0xE0, 0x01, 0x01}), kV5, kToServer, kProto, 0x82);
  add("AUTH reason 0x80", bytes({0xF0, 0x01, 0x80}), kV5, kToServer, kProto, 0x82);

  // --- SUBSCRIBE family ---
  add("SUBSCRIBE without filters", B().u16(1).packet(0x82), kV311, kToServer, kProto, 0x82);
  add("SUBSCRIBE v5 without filters", B().u16(1).props(none()).packet(0x82), kV5, kToServer, kProto,
      0x82);
  add("SUBSCRIBE cut before options", B().u16(1).s("a").packet(0x82), kV311, kToServer, kMal, 0x81);
  add("SUBSCRIBE second filter cut before options", B().u16(1).s("a").u8(0).s("b").packet(0x82),
      kV311, kToServer, kMal, 0x81);
  add("SUBSCRIBE 3.1.1 reserved option bits", B().u16(1).s("a").u8(0x04).packet(0x82), kV311,
      kToServer, kMal, 0x81);
  add("SUBSCRIBE QoS 3", B().u16(1).s("a").u8(0x03).packet(0x82), kV311, kToServer, kMal, 0x81);
  add("SUBSCRIBE v5 QoS 3", B().u16(1).props(none()).s("a").u8(0x03).packet(0x82), kV5, kToServer,
      kProto, 0x82);
  add("SUBSCRIBE v5 reserved option bits", B().u16(1).props(none()).s("a").u8(0x40).packet(0x82),
      kV5, kToServer, kMal, 0x81);
  add("SUBSCRIBE retain handling 3", B().u16(1).props(none()).s("a").u8(0x30).packet(0x82), kV5,
      kToServer, kProto, 0x82);
  add("SUBSCRIBE packet id 0", B().u16(0).s("a").u8(0).packet(0x82), kV311, kToServer, kProto,
      0x82);
  add("'#' not last", B().u16(1).s("a/#/b").u8(0).packet(0x82), kV311, kToServer, kProto, 0x8F);
  add("'+' sharing a level", B().u16(1).s("a/b+").u8(0).packet(0x82), kV311, kToServer, kProto,
      0x8F);
  add("'#' sharing a level", B().u16(1).props(none()).s("a/b#").u8(0).packet(0x82), kV5, kToServer,
      kProto, 0x8F);
  add("empty filter", B().u16(1).s("").u8(0).packet(0x82), kV311, kToServer, kProto, 0x8F);
  add("$share/ab", B().u16(1).s("$share/ab").u8(0).packet(0x82), kV311, kToServer, kProto, 0x8F);
  add("$share//t", B().u16(1).s("$share//t").u8(0).packet(0x82), kV311, kToServer, kProto, 0x8F);
  add("$share/a+b/t", B().u16(1).props(none()).s("$share/a+b/t").u8(0).packet(0x82), kV5, kToServer,
      kProto, 0x8F);
  add("$share/g/", B().u16(1).props(none()).s("$share/g/").u8(0).packet(0x82), kV5, kToServer,
      kProto, 0x8F);
  add("no local on shared", B().u16(1).props(none()).s("$share/g/t").u8(0x04).packet(0x82), kV5,
      kToServer, kProto, 0x82);
  add("SUBSCRIBE subscription identifier 0",
      B().u16(1).props(B().u8(0x0B).vi(0)).s("a").u8(0).packet(0x82), kV5, kToServer, kProto, 0x82);
  add("SUBSCRIBE two subscription identifiers",
      B().u16(1).props(B().u8(0x0B).vi(1).u8(0x0B).vi(2)).s("a").u8(0).packet(0x82), kV5, kToServer,
      kProto, 0x82);
  add("SUBSCRIBE reason string", B().u16(1).props(B().u8(0x1F).s("r")).s("a").u8(0).packet(0x82),
      kV5, kToServer, kMal, 0x81);
  add("UNSUBSCRIBE without filters", B().u16(1).packet(0xA2), kV311, kToServer, kProto, 0x82);
  add("UNSUBSCRIBE bad filter", B().u16(1).props(none()).s("a/#/b").packet(0xA2), kV5, kToServer,
      kProto, 0x8F);
  add("UNSUBSCRIBE $share/g/", B().u16(1).s("$share/g/").packet(0xA2), kV311, kToServer, kProto,
      0x8F);
  add("SUBACK without reason codes", B().u16(1).packet(0x90), kV311, kToClient, kProto, 0x82);
  add("SUBACK 3.1.1 return code 3", B().u16(1).u8(3).packet(0x90), kV311, kToClient, kProto, 0x82);
  add("SUBACK v5 reason 0x92", B().u16(1).props(none()).u8(0x92).packet(0x90), kV5, kToClient,
      kProto, 0x82);
  add("UNSUBACK v5 without reason codes", B().u16(1).props(none()).packet(0xB0), kV5, kToClient,
      kProto, 0x82);
  return c;
}

TEST(Malformed, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    expect_error(c.wire, c.v, c.d, c.kind, c.reason);
  }
}

// Valid packets of every type, for the truncation test.
std::vector<std::pair<std::string, ProtocolVersion>> valid_packets() {
  std::vector<std::pair<std::string, ProtocolVersion>> out;
  Connect c;
  c.client_id = "cid";
  c.will = Will{"w", "p", 1, true, {}};
  c.will->properties.will_delay_interval = 1;
  c.username = "u";
  c.password = "p";
  c.properties.session_expiry_interval = 1;
  for (ProtocolVersion v : {kV31, kV311, kV5}) {
    c.version = v;
    out.emplace_back(encode_to_string(c, v), v);
  }
  Publish p;
  p.topic = "a/b";
  p.qos = 1;
  p.packet_id = 1;
  p.payload = "xyz";
  p.properties.message_expiry_interval = 5;
  Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"a/#", 1}, {"b", 0}};
  Unsubscribe u{1, {}, {"a", "b"}};
  Puback a{1, ReasonCode::kNotAuthorized, {}};
  a.properties.reason_string = "r";
  Disconnect d{ReasonCode::kServerBusy, {}};
  d.properties.reason_string = "r";
  for (ProtocolVersion v : {kV311, kV5}) {
    for (const Packet& pk : std::initializer_list<Packet>{p, s, u, a, d, Pingreq{}}) {
      out.emplace_back(encode_to_string(pk, v), v);
    }
  }
  return out;
}

TEST(Malformed, TruncationAtEveryOffset) {
  for (const auto& [wire, v] : valid_packets()) {
    const uint8_t header = static_cast<uint8_t>(wire[0]);
    for (size_t k = 0; k < wire.size(); ++k) {
      Framer f;
      f.append(std::string_view(wire).substr(0, k));
      Result<std::optional<Frame>> fr = f.next();
      ASSERT_TRUE(fr.ok());
      EXPECT_FALSE(fr->has_value()) << "frame from " << k << " of " << wire.size() << " bytes";
    }
    // The body cut short at every offset (as if the remaining length were smaller): never a
    // crash, and for CONNECT, whose fields are all required, always an error.
    size_t body_start = wire.size() - [&] {
      Framer f;
      f.append(wire);
      return (*f.next())->body.size();
    }();
    for (size_t k = body_start; k < wire.size(); ++k) {
      std::string body = wire.substr(body_start, k - body_start);
      Result<Packet> r = decode(header, body, v, kToServer);
      if ((header >> 4) == 1) {
        EXPECT_FALSE(r.ok()) << "CONNECT cut at " << k;
      }
    }
  }
}

TEST(Malformed, ManyUserPropertiesDecodeAndStayBounded) {
  B props;
  for (int i = 0; i < 100000; ++i) props.u8(0x26).s("k").s("v");
  std::string wire = B().s("t").props(props).raw("payload").packet(0x30);
  auto start = std::chrono::steady_clock::now();
  Framer f;
  Result<Packet> r = decode_whole(f, wire, kV5, kToServer);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const Publish& p = std::get<Publish>(*r);
  EXPECT_EQ(p.properties.user_properties.size(), 100000u);
  EXPECT_EQ(p.payload, "payload");
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  // Bounded by the packet: a 700 kB packet cannot be decoded under a smaller maximum.
  Framer small(256 * 1024);
  small.append(wire);
  Result<std::optional<Frame>> fr = small.next();
  ASSERT_FALSE(fr.ok());
  EXPECT_EQ(fr.error().reason, 0x95);
}

TEST(Malformed, ConnectVersionPeekSurvivesBadBodies) {
  EXPECT_EQ(peek_connect_version(""), std::nullopt);
  EXPECT_EQ(peek_connect_version(bytes({0x00, 0x04, 'M', 'Q'})), std::nullopt);
  EXPECT_EQ(peek_connect_version(connect_head("MQTT", 6, 0).body), std::nullopt);
  EXPECT_EQ(peek_connect_version(connect_head("MQTT", 5, 0xFF).body), kV5);
}

}  // namespace
}  // namespace mq::codec::testing
