// Encoding. Every packet body is written by one template over Sink: Measure computes the
// remaining length, Emit writes the bytes, so the two can never disagree.
#include "codec/encode.h"

#include "codec/wire.h"

namespace mq::codec {

namespace {

bool is_v5(ProtocolVersion v) {
  return v == ProtocolVersion::kV5;
}

template <bool M>
void props(Sink<M>& s, ProtocolVersion v, const Properties& p) {
  if (is_v5(v)) encode_properties(s, p);
}

uint8_t rc(ReasonCode r) {
  return static_cast<uint8_t>(r);
}

// --- fixed header flags (section 2.1.3) ---

template <class T>
uint8_t header(const T&) {
  constexpr PacketType t = T::kType;
  constexpr bool needs_0010 =
      t == PacketType::kPubrel || t == PacketType::kSubscribe || t == PacketType::kUnsubscribe;
  return static_cast<uint8_t>(static_cast<uint8_t>(t) << 4 | (needs_0010 ? 0x02 : 0x00));
}

uint8_t header(const Publish& p) {
  return static_cast<uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (p.qos & 0x03) << 1 |
                              (p.retain ? 0x01 : 0));
}

// --- bodies ---

template <bool M>
void body(Sink<M>& s, const Connect& c, ProtocolVersion) {
  const ProtocolVersion v = c.version;
  s.binary(v == ProtocolVersion::kV31 ? "MQIsdp" : "MQTT");
  s.u8(static_cast<uint8_t>(static_cast<uint8_t>(v) | (c.bridge ? 0x80 : 0)));
  uint8_t flags = c.clean_start ? 0x02 : 0;
  if (c.will) {
    flags |= 0x04 | (c.will->qos & 0x03) << 3 | (c.will->retain ? 0x20 : 0);
  }
  if (c.password) flags |= 0x40;
  if (c.username) flags |= 0x80;
  s.u8(flags);
  s.u16(c.keep_alive);
  props(s, v, c.properties);
  s.binary(c.client_id);
  if (c.will) {
    props(s, v, c.will->properties);
    s.binary(c.will->topic);
    s.binary(c.will->payload);
  }
  if (c.username) s.binary(*c.username);
  if (c.password) s.binary(*c.password);
}

template <bool M>
void body(Sink<M>& s, const Connack& c, ProtocolVersion v) {
  s.u8(c.session_present ? 0x01 : 0x00);
  s.u8(rc(c.reason_code));
  // The two-byte form of a refusal by a pre-5 server is kept as it was (see decode_connack).
  bool v3_refusal = c.properties.empty() && rc(c.reason_code) >= 1 && rc(c.reason_code) <= 5;
  if (!v3_refusal) props(s, v, c.properties);
}

// Everything of a PUBLISH except its payload.
template <bool M>
void publish_head(Sink<M>& s, const Publish& p, ProtocolVersion v) {
  s.binary(p.topic);
  if (p.qos > 0) s.u16(p.packet_id);
  props(s, v, p.properties);
}

template <bool M>
void body(Sink<M>& s, const Publish& p, ProtocolVersion v) {
  publish_head(s, p, v);
  s.bytes(p.payload);
}

template <bool M, PacketType T>
void body(Sink<M>& s, const Ack<T>& a, ProtocolVersion v) {
  s.u16(a.packet_id);
  if (!is_v5(v)) return;
  const bool no_props = a.properties.empty();
  if (a.reason_code == ReasonCode::kSuccess && no_props) return;  // remaining length 2
  s.u8(rc(a.reason_code));
  if (!no_props) encode_properties(s, a.properties);  // else remaining length 3
}

template <bool M>
void body(Sink<M>& s, const Subscribe& p, ProtocolVersion v) {
  s.u16(p.packet_id);
  props(s, v, p.properties);
  for (const Subscription& e : p.subscriptions) {
    s.binary(e.filter);
    uint8_t options = e.qos & 0x03;
    if (is_v5(v)) {
      options |= (e.no_local ? 0x04 : 0) | (e.retain_as_published ? 0x08 : 0) |
                 (e.retain_handling & 0x03) << 4;
    }
    s.u8(options);
  }
}

template <bool M>
void body(Sink<M>& s, const Suback& p, ProtocolVersion v) {
  s.u16(p.packet_id);
  props(s, v, p.properties);
  for (ReasonCode r : p.reason_codes) s.u8(rc(r));
}

template <bool M>
void body(Sink<M>& s, const Unsubscribe& p, ProtocolVersion v) {
  s.u16(p.packet_id);
  props(s, v, p.properties);
  for (std::string_view f : p.filters) s.binary(f);
}

template <bool M>
void body(Sink<M>& s, const Unsuback& p, ProtocolVersion v) {
  s.u16(p.packet_id);
  if (!is_v5(v)) return;
  encode_properties(s, p.properties);
  for (ReasonCode r : p.reason_codes) s.u8(rc(r));
}

template <bool M>
void body(Sink<M>&, const Pingreq&, ProtocolVersion) {}

template <bool M>
void body(Sink<M>&, const Pingresp&, ProtocolVersion) {}

// DISCONNECT and AUTH: remaining length 0 for reason 0x00 without properties.
template <bool M, class T>
void reason_and_properties(Sink<M>& s, const T& p, ProtocolVersion v) {
  if (!is_v5(v)) return;
  const bool no_props = p.properties.empty();
  if (p.reason_code == ReasonCode::kSuccess && no_props) return;
  s.u8(rc(p.reason_code));
  if (!no_props) encode_properties(s, p.properties);
}

template <bool M>
void body(Sink<M>& s, const Disconnect& p, ProtocolVersion v) {
  reason_and_properties(s, p, v);
}

template <bool M>
void body(Sink<M>& s, const Auth& p, ProtocolVersion v) {
  reason_and_properties(s, p, v);
}

// --- drivers ---

Error too_large(const char* what) {
  return make_error(ErrorKind::kTooLarge, what, 0x95);
}

// Measures the body and checks it fits; sets remaining to the remaining length.
template <class T>
Status measure(const T& p, ProtocolVersion v, size_t& remaining) {
  Measure m;
  body(m, p, v);
  if (!m.ok()) return too_large("field too long for its length prefix");
  if (m.size() > kMaxVarint) return too_large("remaining length above 268435455");
  remaining = m.size();
  return {};
}

template <class T>
Status encode_one(const T& p, ProtocolVersion v, std::string& out) {
  size_t remaining = 0;
  if (Status s = measure(p, v, remaining); !s) return s;
  out.reserve(out.size() + 1 + varint_size(static_cast<uint32_t>(remaining)) + remaining);
  out.push_back(static_cast<char>(header(p)));
  append_varint(out, static_cast<uint32_t>(remaining));
  Emit e(&out);
  body(e, p, v);
  return {};
}

template <class T>
Result<size_t> size_one(const T& p, ProtocolVersion v) {
  size_t remaining = 0;
  if (Status s = measure(p, v, remaining); !s) return s.error();
  return 1 + varint_size(static_cast<uint32_t>(remaining)) + remaining;
}

}  // namespace

Status encode(const Packet& p, ProtocolVersion v, std::string& out) {
  return std::visit([&](const auto& x) { return encode_one(x, v, out); }, p);
}

Status encode(const Connect& p, std::string& out) {
  return encode_one(p, p.version, out);
}
Status encode(const Connack& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Publish& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Puback& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Pubrec& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Pubrel& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Pubcomp& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Subscribe& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Suback& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Unsubscribe& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Unsuback& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Pingreq& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Pingresp& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Disconnect& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}
Status encode(const Auth& p, ProtocolVersion v, std::string& out) {
  return encode_one(p, v, out);
}

Status encode_publish_header(const Publish& p, ProtocolVersion v, std::string& out) {
  size_t remaining = 0;
  if (Status s = measure(p, v, remaining); !s) return s;
  out.push_back(static_cast<char>(header(p)));
  append_varint(out, static_cast<uint32_t>(remaining));
  Emit e(&out);
  publish_head(e, p, v);
  return {};
}

Result<size_t> encoded_size(const Packet& p, ProtocolVersion v) {
  return std::visit(
      [&](const auto& x) -> Result<size_t> {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, Connect>) {
          return size_one(x, x.version);
        } else {
          return size_one(x, v);
        }
      },
      p);
}

Result<size_t> encoded_size(const Publish& p, ProtocolVersion v) {
  return size_one(p, v);
}

}  // namespace mq::codec
