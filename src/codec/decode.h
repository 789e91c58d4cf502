// Decoding one MQTT control packet from its fixed header byte and body (the bytes after the
// remaining length, as framer.h delivers them). Every rule a single packet can break is checked
// here; rules that need connection state (packet id in use, topic alias mapping, second CONNECT,
// AUTH method continuity) belong to proto/ and broker/.
// The returned packet holds views into body: valid only while body's buffer lives.
// Pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"
#include "codec/packet.h"

namespace mq::codec {

// Decodes a packet sent in direction d on a connection that negotiated version v (for CONNECT,
// v is ignored: the packet names its own version). Errors carry the MQTT 5 reason code to
// answer with: kMalformed 0x81, kProtocol 0x82 (or a more specific code such as 0x8F, 0x90,
// 0x94), kUnsupported 0x84 for a CONNECT naming a protocol we do not speak (MQTT 3.1.1 return
// code 1).
[[nodiscard]] Result<Packet> decode(uint8_t fixed_header, std::string_view body, ProtocolVersion v,
                                    Direction d);

// decode() of a PUBLISH, into `out` (a default-constructed Publish) rather than a Packet: the
// same checks and errors without moving the packet through a variant, for the broker's
// per-message path. REQUIRES: fixed_header >> 4 == 3.
[[nodiscard]] Status decode_publish(uint8_t fixed_header, std::string_view body, ProtocolVersion v,
                                    Direction d, Publish& out);

// The version a CONNECT body asks for, read from its protocol name and level alone, so a server
// can pick the CONNACK layout even when the rest of the CONNECT is bad. nullopt when the name and
// level are not a combination we support.
std::optional<ProtocolVersion> peek_connect_version(std::string_view body);

}  // namespace mq::codec
