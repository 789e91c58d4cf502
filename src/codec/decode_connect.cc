// Decoding CONNECT and CONNACK, the two packets whose layout depends on the protocol version
// being negotiated. Rule IDs are MQTT 5.0's unless marked (3.1.1).
#include <string>

#include "codec/decode.h"
#include "codec/decode_util.h"
#include "codec/topic.h"

namespace mq::codec {

namespace {

// Bit 7 of the level marks a Mosquitto bridge (try_private); it is not part of the version.
std::optional<ProtocolVersion> version_of(std::string_view name, uint8_t level) {
  level &= 0x7F;
  if (name == "MQTT" && level == 4) return ProtocolVersion::kV311;
  if (name == "MQTT" && level == 5) return ProtocolVersion::kV5;
  if (name == "MQIsdp" && level == 3) return ProtocolVersion::kV31;
  return std::nullopt;
}

}  // namespace

std::optional<ProtocolVersion> peek_connect_version(std::string_view body) {
  Reader r(body);
  std::string_view name;
  uint8_t level = 0;
  if (!r.binary(name) || !r.u8(level)) return std::nullopt;
  return version_of(name, level);
}

namespace detail {

Result<Packet> decode_connect(std::string_view body) {
  Reader r(body);
  Connect c;
  std::string_view name;
  uint8_t level = 0;
  if (!r.binary(name)) return malformed("CONNECT: protocol name truncated");
  if (!r.u8(level)) return malformed("CONNECT: protocol level truncated");
  std::optional<ProtocolVersion> version = version_of(name, level);
  if (!version && name != "MQTT" && name != "MQIsdp") {
    // [MQTT-3.1.2-1] not MQTT at all: close without a CONNACK (as Mosquitto does).
    return protocol("CONNECT: unknown protocol name", 0);
  }
  if (!version) {
    // [MQTT-3.1.2-2]: answer 0x84 / return code 1, then close.
    return make_error(ErrorKind::kUnsupported,
                      "CONNECT: unsupported protocol name or level " + std::to_string(level), 0x84);
  }
  c.version = *version;
  c.bridge = (level & 0x80) != 0;
  const bool v5 = c.version == ProtocolVersion::kV5;

  uint8_t flags = 0;
  if (Status s = read_u8(r, flags, "CONNECT flags"); !s) return s.error();
  if (flags & 0x01) return malformed("CONNECT: reserved flag set");  // [MQTT-3.1.2-3]
  c.clean_start = (flags & 0x02) != 0;
  const bool will_flag = (flags & 0x04) != 0;
  const uint8_t will_qos = (flags >> 3) & 0x03;
  const bool will_retain = (flags & 0x20) != 0;
  const bool password_flag = (flags & 0x40) != 0;
  const bool username_flag = (flags & 0x80) != 0;
  if (!will_flag && (will_qos != 0 || will_retain)) {
    return malformed(
        "CONNECT: will QoS or retain without will flag");  // (3.1.1) [MQTT-3.1.2-11] [-13] [-15]
  }
  if (will_qos == 3) return malformed("CONNECT: will QoS 3");  // (3.1.1) [MQTT-3.1.2-14]
  if (!v5 && password_flag && !username_flag) {
    return malformed("CONNECT: password without user name");  // (3.1.1) [MQTT-3.1.2-22]
  }
  if (Status s = read_u16(r, c.keep_alive, "CONNECT keep alive"); !s) return s.error();
  if (Status s = read_properties(r, c.version, PropertyScope::kConnect, c.properties); !s) {
    return s.error();
  }
  if (c.properties.authentication_data && !c.properties.authentication_method) {
    return protocol("CONNECT: authentication data without method");  // section 3.1.2.11.10
  }

  // Payload: client identifier, will, user name, password, in that order [MQTT-3.1.3-1].
  if (Status s = read_string(r, c.client_id, "CONNECT client identifier"); !s) return s.error();
  if (will_flag) {
    Will w;
    w.qos = will_qos;
    w.retain = will_retain;
    if (Status s = read_properties(r, c.version, PropertyScope::kWill, w.properties); !s) {
      return s.error();
    }
    if (Status s = read_string(r, w.topic, "CONNECT will topic"); !s) return s.error();
    if (!valid_topic_name(w.topic)) return protocol("CONNECT: invalid will topic", 0x90);
    if (Status s = read_binary(r, w.payload, "CONNECT will payload"); !s) return s.error();
    c.will = std::move(w);
  }
  if (username_flag) {
    std::string_view u;
    if (Status s = read_string(r, u, "CONNECT user name"); !s)
      return s.error();  // (3.1.1) [MQTT-3.1.3-11]
    c.username = u;
  }
  if (password_flag) {
    std::string_view p;
    if (Status s = read_binary(r, p, "CONNECT password"); !s) return s.error();
    c.password = p;
  }
  if (Status s = expect_end(r, "CONNECT"); !s) return s.error();
  return Packet(std::move(c));
}

Result<Packet> decode_connack(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  Connack c;
  uint8_t flags = 0;
  uint8_t rc = 0;
  if (Status s = read_u8(r, flags, "CONNACK flags"); !s) return s.error();
  if (Status s = read_u8(r, rc, "CONNACK reason code"); !s) return s.error();
  if (flags & 0xFE) return malformed("CONNACK: reserved flags set");  // (3.1.1) [MQTT-3.2.2-1]
  c.session_present = (flags & 0x01) != 0;
  c.reason_code = static_cast<ReasonCode>(rc);
  if (v == ProtocolVersion::kV5 && r.at_end()) {
    // A server that speaks only 3.1 / 3.1.1 answers an MQTT 5 CONNECT with a two-byte CONNACK
    // (return code 1): accept that form so the client can report the refusal. encode() writes
    // it back the same way for return codes 1..5.
    if (rc > 5) {
      if (Status s = check_reason(PacketType::kConnack, rc); !s) return s.error();
    }
  } else if (v == ProtocolVersion::kV5) {
    if (Status s = check_reason(PacketType::kConnack, rc); !s) return s.error();
    if (Status s = read_properties(r, v, PropertyScope::kConnack, c.properties); !s) {
      return s.error();
    }
  } else if (rc > 5) {
    return protocol("CONNACK: reserved return code");  // section 3.2.2.3
  }
  if (c.session_present && rc != 0) {
    return protocol(
        "CONNACK: session present with an error");  // [MQTT-3.2.2-6], (3.1.1) [MQTT-3.2.2-4]
  }
  if (Status s = expect_end(r, "CONNACK"); !s) return s.error();
  return Packet(std::move(c));
}

}  // namespace detail
}  // namespace mq::codec
