// The few MQTT 3.1.1 packets the load generator needs, hand-encoded, and a
// framer that finds packet boundaries in a byte stream. Deliberately
// independent of src/codec: the benchmark must not share bugs (or speed) with
// the broker it measures. Header-only, no state, no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mq::bench {

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kSubscribe = 8,
  kSuback = 9,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
};

inline void put_u16(std::string& o, uint16_t v) {
  o.push_back(static_cast<char>(v >> 8));
  o.push_back(static_cast<char>(v & 0xff));
}

inline void put_str(std::string& o, std::string_view s) {
  put_u16(o, static_cast<uint16_t>(s.size()));
  o.append(s);
}

// Remaining length: 7 bits per byte, high bit = continuation, at most 4 bytes.
inline void put_remaining_length(std::string& o, size_t n) {
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    if (n) b |= 0x80;
    o.push_back(static_cast<char>(b));
  } while (n);
}

inline std::string fixed_header_packet(uint8_t first_byte, std::string_view body) {
  std::string o;
  o.push_back(static_cast<char>(first_byte));
  put_remaining_length(o, body.size());
  o.append(body);
  return o;
}

// CONNECT, protocol level 4 (3.1.1), clean session unless `clean` is false, no will, no
// credentials.
inline std::string connect_packet(std::string_view client_id, uint16_t keepalive,
                                  bool clean = true) {
  std::string b;
  put_str(b, "MQTT");
  b.push_back(4);     // protocol level 3.1.1
  b.push_back(clean ? 0x02 : 0x00);  // connect flags: clean session
  put_u16(b, keepalive);
  put_str(b, client_id);
  return fixed_header_packet(0x10, b);
}

// SUBSCRIBE with one topic filter; fixed-header flags must be 0b0010 [MQTT-3.8.1-1].
inline std::string subscribe_packet(uint16_t packet_id, std::string_view filter, uint8_t qos) {
  std::string b;
  put_u16(b, packet_id);
  put_str(b, filter);
  b.push_back(static_cast<char>(qos));
  return fixed_header_packet(0x82, b);
}

// A PUBLISH template. The load generator patches the packet identifier (at
// pid_offset, QoS 1 only) and the first 8 payload bytes (publisher index and
// sequence number, little endian) in place for every message it sends.
struct PublishTemplate {
  std::string bytes;
  size_t pid_offset = 0;      // 0 when QoS 0
  size_t payload_offset = 0;  // first payload byte
};

inline PublishTemplate publish_template(std::string_view topic, uint8_t qos, size_t payload) {
  std::string b;
  put_str(b, topic);
  size_t pid_in_body = 0;
  if (qos > 0) {
    pid_in_body = b.size();
    put_u16(b, 1);
  }
  size_t payload_in_body = b.size();
  b.append(payload, 'x');
  PublishTemplate t;
  t.bytes = fixed_header_packet(static_cast<uint8_t>(0x30 | (qos << 1)), b);
  size_t header = t.bytes.size() - b.size();
  t.pid_offset = qos > 0 ? header + pid_in_body : 0;
  t.payload_offset = header + payload_in_body;
  return t;
}

inline constexpr char kPingreq[2] = {'\xc0', 0};
inline constexpr char kDisconnect[2] = {'\xe0', 0};

inline void append_puback(std::string& o, uint16_t packet_id) {
  const char p[4] = {0x40, 2, static_cast<char>(packet_id >> 8),
                     static_cast<char>(packet_id & 0xff)};
  o.append(p, 4);
}

// One complete packet inside a buffer; body points into that buffer.
struct Frame {
  uint8_t first_byte = 0;
  const uint8_t* body = nullptr;
  size_t body_len = 0;
  PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
};

enum class FrameStatus : uint8_t { kOk, kNeedMore, kMalformed };

// Reads one packet from [p, p+n). On kOk, *used is the packet's total size.
inline FrameStatus next_frame(const uint8_t* p, size_t n, Frame* f, size_t* used) {
  if (n < 2) return FrameStatus::kNeedMore;
  size_t len = 0;
  size_t i = 1;
  for (int shift = 0;; shift += 7, ++i) {
    if (i >= n) return FrameStatus::kNeedMore;
    if (i > 4) return FrameStatus::kMalformed;  // remaining length > 4 bytes
    len |= static_cast<size_t>(p[i] & 0x7f) << shift;
    if (!(p[i] & 0x80)) break;
  }
  ++i;
  if (n - i < len) return FrameStatus::kNeedMore;
  f->first_byte = p[0];
  f->body = p + i;
  f->body_len = len;
  *used = i + len;
  return FrameStatus::kOk;
}

inline uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

inline uint32_t get_u32le(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline void set_u32le(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

}  // namespace mq::bench
