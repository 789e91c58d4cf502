// Internal helpers shared by the decoder's .cc files: error constructors and reads that turn a
// failed bounds check into a Malformed Packet error naming the field. Not part of the public API.
// Pure functions; safe on any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "codec/packet.h"
#include "codec/wire.h"

namespace mq::codec::detail {

inline Error malformed(std::string_view what) {
  return make_error(ErrorKind::kMalformed, std::string(what), 0x81);
}
inline Error protocol(std::string_view what, uint8_t reason = 0x82) {
  return make_error(ErrorKind::kProtocol, std::string(what), reason);
}

[[nodiscard]] Status read_u8(Reader& r, uint8_t& v, const char* field);
[[nodiscard]] Status read_u16(Reader& r, uint16_t& v, const char* field);
// A packet identifier, which must be non-zero [MQTT-2.2.1-3].
[[nodiscard]] Status read_packet_id(Reader& r, uint16_t& v, const char* packet);
// A UTF-8 Encoded String, validated (section 1.5.4).
[[nodiscard]] Status read_string(Reader& r, std::string_view& v, const char* field);
[[nodiscard]] Status read_binary(Reader& r, std::string_view& v, const char* field);
[[nodiscard]] Status expect_end(const Reader& r, const char* packet);
// Reads properties when v is MQTT 5; nothing otherwise.
[[nodiscard]] Status read_properties(Reader& r, ProtocolVersion v, PropertyScope scope,
                                     Properties& out);
[[nodiscard]] Status check_reason(PacketType t, uint8_t rc);

Result<Packet> decode_connect(std::string_view body);
Result<Packet> decode_connack(std::string_view body, ProtocolVersion v);

}  // namespace mq::codec::detail
