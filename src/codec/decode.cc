// Decoding: fixed-header checks and the packets after CONNECT / CONNACK. Each decode_* reads the
// body front to back with a bounds-checked Reader and fails on the first broken rule.
// Rule IDs are MQTT 5.0's unless marked (3.1.1): the two documents number their rules differently.
#include "codec/decode.h"

#include <string>

#include "codec/decode_util.h"
#include "codec/topic.h"
#include "codec/utf8.h"

namespace mq::codec {

namespace detail {

Status read_u8(Reader& r, uint8_t& v, const char* field) {
  if (!r.u8(v)) return malformed(std::string(field) + " truncated");
  return {};
}

Status read_u16(Reader& r, uint16_t& v, const char* field) {
  if (!r.u16(v)) return malformed(std::string(field) + " truncated");
  return {};
}

Status read_packet_id(Reader& r, uint16_t& v, const char* packet) {
  if (!r.u16(v)) return malformed(std::string(packet) + ": packet identifier truncated");
  // [MQTT-2.2.1-3], (3.1.1) [MQTT-2.3.1-1]
  if (v == 0) return protocol(std::string(packet) + ": packet identifier 0");
  return {};
}

Status read_string(Reader& r, std::string_view& v, const char* field) {
  if (!r.binary(v)) return malformed(std::string(field) + ": length runs past the packet");
  // [MQTT-1.5.4-1], (3.1.1) [MQTT-1.5.3-1]
  if (!valid_utf8(v)) return malformed(std::string(field) + ": invalid UTF-8");
  return {};
}

Status read_binary(Reader& r, std::string_view& v, const char* field) {
  if (!r.binary(v)) return malformed(std::string(field) + ": length runs past the packet");
  return {};
}

Status expect_end(const Reader& r, const char* packet) {
  if (!r.at_end()) return malformed(std::string(packet) + ": bytes after the end");
  return {};
}

Status read_properties(Reader& r, ProtocolVersion v, PropertyScope scope, Properties& out) {
  if (v != ProtocolVersion::kV5) return {};
  return decode_properties(r, scope, out);
}

Status check_reason(PacketType t, uint8_t rc) {
  if (!reason_code_allowed(t, static_cast<ReasonCode>(rc))) {
    return protocol(std::string(packet_type_name(t)) + ": reason code " + std::to_string(rc) +
                    " not allowed");
  }
  return {};
}

}  // namespace detail

using namespace detail;  // NOLINT: this file is the decoder

const char* packet_type_name(PacketType t) {
  static constexpr const char* kNames[] = {"Reserved",  "CONNECT",  "CONNACK",     "PUBLISH",
                                           "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                           "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                           "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
  uint8_t i = static_cast<uint8_t>(t);
  return i < 16 ? kNames[i] : "Reserved";
}

namespace {

bool v5(ProtocolVersion v) {
  return v == ProtocolVersion::kV5;
}

// Decodes into `p`, a default Publish: the broker's hot path calls this through
// decode_publish (no Packet around it), decode() through the wrapper below.
Status decode_publish_into(uint8_t flags, std::string_view body, ProtocolVersion v, Direction d,
                           Publish& p) {
  Reader r(body);
  p.dup = (flags & 0x08) != 0;
  p.qos = (flags >> 1) & 0x03;
  p.retain = (flags & 0x01) != 0;
  if (p.qos == 3) return malformed("PUBLISH: QoS 3");                      // [MQTT-3.3.1-4]
  if (p.dup && p.qos == 0) return malformed("PUBLISH: DUP set on QoS 0");  // [MQTT-3.3.1-2]
  if (Status s = read_string(r, p.topic, "PUBLISH topic name"); !s) return s.error();
  if (p.qos > 0) {
    if (Status s = read_packet_id(r, p.packet_id, "PUBLISH"); !s) return s.error();
  }
  if (Status s = read_properties(r, v, PropertyScope::kPublish, p.properties); !s) {
    return s.error();
  }
  p.payload = r.rest();
  if (p.topic.empty()) {
    // [MQTT-4.7.3-1]; MQTT 5 allows it when a Topic Alias stands in (section 3.3.2.3.4).
    // [MQTT-3.3.2-1] a zero-length topic without a Topic Alias is a Protocol Error (0x82).
    if (!p.properties.topic_alias) return protocol("PUBLISH: empty topic name", 0x82);
  } else if (has_wildcard(p.topic)) {
    return protocol("PUBLISH: wildcard in topic name", 0x90);  // [MQTT-3.3.2-2]
  }
  if (d == Direction::kClientToServer && !p.properties.subscription_identifiers.empty()) {
    return protocol("PUBLISH: subscription identifier from a client");  // [MQTT-3.3.4-6]
  }
  return {};
}

Result<Packet> decode_publish(uint8_t flags, std::string_view body, ProtocolVersion v,
                              Direction d) {
  Publish p;
  if (Status s = decode_publish_into(flags, body, v, d, p); !s) return s.error();
  return Packet(std::move(p));
}

template <PacketType T>
Result<Packet> decode_ack(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  Ack<T> a;
  const char* name = packet_type_name(T);
  if (Status s = read_packet_id(r, a.packet_id, name); !s) return s.error();
  if (v5(v) && !r.at_end()) {
    uint8_t rc = 0;
    if (!r.u8(rc)) return malformed("ack reason code truncated");
    if (Status s = check_reason(T, rc); !s) return s.error();
    a.reason_code = static_cast<ReasonCode>(rc);
    if (!r.at_end()) {  // remaining length 3: no properties (section 3.4.2.1)
      if (Status s = decode_properties(r, static_cast<PropertyScope>(T), a.properties); !s) {
        return s.error();
      }
    }
  }
  if (Status s = expect_end(r, name); !s) return s.error();
  return Packet(std::move(a));
}

// A topic filter in SUBSCRIBE or UNSUBSCRIBE; also rejects malformed `$share/` forms.
Status check_filter(std::string_view filter, bool& shared) {
  if (!valid_topic_filter(filter)) return protocol("invalid topic filter", 0x8F);
  Result<std::optional<SharedSubscription>> s = parse_shared(filter);
  if (!s) return s.error();
  shared = s->has_value();
  return {};
}

Result<Packet> decode_subscribe(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  Subscribe sub;
  if (Status s = read_packet_id(r, sub.packet_id, "SUBSCRIBE"); !s) return s.error();
  if (Status s = read_properties(r, v, PropertyScope::kSubscribe, sub.properties); !s) {
    return s.error();
  }
  // [MQTT-3.8.3-2], (3.1.1) [MQTT-3.8.3-3]
  if (r.at_end()) return protocol("SUBSCRIBE: no topic filters");
  while (!r.at_end()) {
    Subscription e;
    uint8_t options = 0;
    if (Status s = read_string(r, e.filter, "SUBSCRIBE topic filter"); !s) return s.error();
    if (Status s = read_u8(r, options, "SUBSCRIBE options"); !s) return s.error();
    e.qos = options & 0x03;
    if (v5(v)) {
      if (options & 0xC0) return malformed("SUBSCRIBE: reserved option bits");  // [MQTT-3.8.3-5]
      if (e.qos == 3) return protocol("SUBSCRIBE: QoS 3");                      // section 3.8.3.1
      e.no_local = (options & 0x04) != 0;
      e.retain_as_published = (options & 0x08) != 0;
      e.retain_handling = (options >> 4) & 0x03;
      if (e.retain_handling == 3) return protocol("SUBSCRIBE: retain handling 3");
    } else if ((options & 0xFC) || e.qos == 3) {
      return malformed("SUBSCRIBE: reserved option bits or QoS 3");  // (3.1.1) [MQTT-3-8.3-4]
    }
    bool shared = false;
    if (Status s = check_filter(e.filter, shared); !s) return s.error();
    if (shared && e.no_local) {
      return protocol("SUBSCRIBE: no local on a shared subscription");  // [MQTT-3.8.3-4]
    }
    sub.subscriptions.push_back(e);
  }
  return Packet(std::move(sub));
}

Result<Packet> decode_suback(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  Suback a;
  if (Status s = read_packet_id(r, a.packet_id, "SUBACK"); !s) return s.error();
  if (Status s = read_properties(r, v, PropertyScope::kSuback, a.properties); !s) {
    return s.error();
  }
  if (r.at_end()) return protocol("SUBACK: no reason codes");  // one per filter [MQTT-3.9.3-1]
  std::string_view codes = r.rest();
  a.reason_codes.reserve(codes.size());
  for (char ch : codes) {
    uint8_t rc = static_cast<uint8_t>(ch);
    if (v5(v)) {
      if (Status s = check_reason(PacketType::kSuback, rc); !s) return s.error();
    } else if (rc > 2 && rc != 0x80) {
      return protocol("SUBACK: reserved return code");  // (3.1.1) [MQTT-3.9.3-2]
    }
    a.reason_codes.push_back(static_cast<ReasonCode>(rc));
  }
  return Packet(std::move(a));
}

Result<Packet> decode_unsubscribe(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  Unsubscribe u;
  if (Status s = read_packet_id(r, u.packet_id, "UNSUBSCRIBE"); !s) return s.error();
  if (Status s = read_properties(r, v, PropertyScope::kUnsubscribe, u.properties); !s) {
    return s.error();
  }
  if (r.at_end()) return protocol("UNSUBSCRIBE: no topic filters");  // [MQTT-3.10.3-2]
  while (!r.at_end()) {
    std::string_view filter;
    if (Status s = read_string(r, filter, "UNSUBSCRIBE topic filter"); !s) return s.error();
    bool shared = false;
    if (Status s = check_filter(filter, shared); !s) return s.error();
    u.filters.push_back(filter);
  }
  return Packet(std::move(u));
}

Result<Packet> decode_unsuback(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  Unsuback a;
  if (Status s = read_packet_id(r, a.packet_id, "UNSUBACK"); !s) return s.error();
  if (v5(v)) {
    if (Status s = decode_properties(r, PropertyScope::kUnsuback, a.properties); !s) {
      return s.error();
    }
    // One per topic filter [MQTT-3.11.3-1].
    if (r.at_end()) return protocol("UNSUBACK: no reason codes");
    std::string_view codes = r.rest();
    a.reason_codes.reserve(codes.size());
    for (char ch : codes) {
      uint8_t rc = static_cast<uint8_t>(ch);
      if (Status s = check_reason(PacketType::kUnsuback, rc); !s) return s.error();
      a.reason_codes.push_back(static_cast<ReasonCode>(rc));
    }
  }
  if (Status s = expect_end(r, "UNSUBACK"); !s) return s.error();
  return Packet(std::move(a));
}

// DISCONNECT and AUTH (MQTT 5): remaining length 0 means reason 0x00 and no properties, 1 means
// no properties (sections 3.14.2.1, 3.15.2.1).
template <class T>
Result<Packet> decode_reason_and_properties(std::string_view body, ProtocolVersion v) {
  Reader r(body);
  T p;
  const char* name = packet_type_name(T::kType);
  if (v5(v) && !r.at_end()) {
    uint8_t rc = 0;
    if (!r.u8(rc)) return malformed("reason code truncated");
    if (Status s = check_reason(T::kType, rc); !s) return s.error();
    p.reason_code = static_cast<ReasonCode>(rc);
    if (!r.at_end()) {
      if (Status s = decode_properties(r, static_cast<PropertyScope>(T::kType), p.properties); !s) {
        return s.error();
      }
    }
  }
  if (Status s = expect_end(r, name); !s) return s.error();
  return Packet(std::move(p));
}

template <class T>
Result<Packet> decode_empty(std::string_view body) {
  if (!body.empty()) {
    return malformed(std::string(packet_type_name(T::kType)) + ": non-empty body");
  }
  return Packet(T{});
}

// Whether a packet type may travel in direction d under version v (section 2.1.2).
bool direction_allowed(PacketType t, Direction d, ProtocolVersion v) {
  const bool to_server = d == Direction::kClientToServer;
  switch (t) {
    case PacketType::kConnect:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
    case PacketType::kPingreq:
      return to_server;
    case PacketType::kConnack:
    case PacketType::kSuback:
    case PacketType::kUnsuback:
    case PacketType::kPingresp:
      return !to_server;
    case PacketType::kDisconnect:
      return to_server || v5(v);  // servers send it only in MQTT 5
    default:
      return true;
  }
}

}  // namespace

Result<Packet> decode(uint8_t fixed_header, std::string_view body, ProtocolVersion v, Direction d) {
  const uint8_t type = fixed_header >> 4;
  const uint8_t flags = fixed_header & 0x0F;
  if (type == 0) return malformed("reserved packet type 0");
  if (type == 15 && !v5(v)) return malformed("reserved packet type 15 before MQTT 5");
  const auto t = static_cast<PacketType>(type);
  if (t != PacketType::kPublish) {
    const bool needs_0010 =
        t == PacketType::kPubrel || t == PacketType::kSubscribe || t == PacketType::kUnsubscribe;
    if (flags != (needs_0010 ? 0x02 : 0x00)) {
      // [MQTT-2.1.3-1], (3.1.1) [MQTT-2.2.2-2]
      return malformed(std::string(packet_type_name(t)) + ": wrong fixed header flags");
    }
  }
  if (!direction_allowed(t, d, v)) {
    return protocol(std::string(packet_type_name(t)) + " sent in the wrong direction");
  }
  switch (t) {
    case PacketType::kConnect:
      return decode_connect(body);
    case PacketType::kConnack:
      return decode_connack(body, v);
    case PacketType::kPublish:
      return decode_publish(flags, body, v, d);
    case PacketType::kPuback:
      return decode_ack<PacketType::kPuback>(body, v);
    case PacketType::kPubrec:
      return decode_ack<PacketType::kPubrec>(body, v);
    case PacketType::kPubrel:
      return decode_ack<PacketType::kPubrel>(body, v);
    case PacketType::kPubcomp:
      return decode_ack<PacketType::kPubcomp>(body, v);
    case PacketType::kSubscribe:
      return decode_subscribe(body, v);
    case PacketType::kSuback:
      return decode_suback(body, v);
    case PacketType::kUnsubscribe:
      return decode_unsubscribe(body, v);
    case PacketType::kUnsuback:
      return decode_unsuback(body, v);
    case PacketType::kPingreq:
      return decode_empty<Pingreq>(body);
    case PacketType::kPingresp:
      return decode_empty<Pingresp>(body);
    case PacketType::kDisconnect:
      return decode_reason_and_properties<Disconnect>(body, v);
    case PacketType::kAuth:
      return decode_reason_and_properties<Auth>(body, v);
  }
  return malformed("unknown packet type");
}

Status decode_publish(uint8_t fixed_header, std::string_view body, ProtocolVersion v,
                      Direction d, Publish& out) {
  if (!direction_allowed(PacketType::kPublish, d, v)) {
    return protocol("PUBLISH sent in the wrong direction");
  }
  return decode_publish_into(fixed_header & 0x0F, body, v, d, out);
}

}  // namespace mq::codec
