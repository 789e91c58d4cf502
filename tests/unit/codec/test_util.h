// Helpers for the codec tests: byte strings from literals, and decode/encode of whole packets
// (fixed header included) through the framer, the way a connection uses the codec.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/framer.h"

namespace mq::codec::testing {

inline std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

inline constexpr ProtocolVersion kV31 = ProtocolVersion::kV31;
inline constexpr ProtocolVersion kV311 = ProtocolVersion::kV311;
inline constexpr ProtocolVersion kV5 = ProtocolVersion::kV5;
inline constexpr Direction kToServer = Direction::kClientToServer;
inline constexpr Direction kToClient = Direction::kServerToClient;

// Decodes one whole packet. The framer must see exactly one frame covering all of wire; views
// in the result point into `wire`'s copy held by the caller-provided framer.
inline Result<Packet> decode_whole(Framer& f, const std::string& wire, ProtocolVersion v,
                                   Direction d) {
  f.append(wire);
  Result<std::optional<Frame>> fr = f.next();
  if (!fr) return fr.error();
  if (!fr->has_value()) return make_error(ErrorKind::kMalformed, "incomplete frame");
  if ((*fr)->size != wire.size()) return make_error(ErrorKind::kMalformed, "frame size differs");
  return decode((*fr)->fixed_header, (*fr)->body, v, d);
}

inline std::string encode_to_string(const Packet& p, ProtocolVersion v) {
  std::string out;
  Status s = encode(p, v, out);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
  return out;
}

inline std::string hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
    out += ' ';
  }
  return out;
}

// The golden check: wire decodes to expected, and expected encodes to wire.
inline void expect_golden(const std::string& wire, const Packet& expected, ProtocolVersion v,
                          Direction d) {
  Framer f;
  Result<Packet> got = decode_whole(f, wire, v, d);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_TRUE(*got == expected) << "decoded packet differs from the expected one";
  EXPECT_EQ(hex(encode_to_string(expected, v)), hex(wire));
  Result<size_t> size = encoded_size(expected, v);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, wire.size());
}

// Decoding must fail with this kind and reason.
inline void expect_error(const std::string& wire, ProtocolVersion v, Direction d, ErrorKind kind,
                         uint8_t reason) {
  Framer f;
  Result<Packet> got = decode_whole(f, wire, v, d);
  ASSERT_FALSE(got.ok()) << "decoded: " << hex(wire);
  EXPECT_EQ(got.error().kind, kind) << got.error().to_string() << " for " << hex(wire);
  EXPECT_EQ(got.error().reason, reason) << got.error().to_string() << " for " << hex(wire);
}

}  // namespace mq::codec::testing
