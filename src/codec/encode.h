// Encoding MQTT control packets: minimal remaining lengths and varints, appended to a caller's
// std::string. encode_publish_header writes everything of a PUBLISH but its payload, so a sender
// can write the payload from a shared buffer (writev) without copying it; encoded_size lets a
// sender check a peer's Maximum Packet Size without encoding.
// Fields a version lacks are not written (properties before MQTT 5, reason codes on 3.1.1 acks).
// Values are written as given: the encoder checks only that they fit the wire format.
// Pure functions; safe on any thread.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"
#include "codec/packet.h"

namespace mq::codec {

// Appends the whole packet to out. For Connect, the version is the packet's own (c.version).
// Errors (out unchanged): kTooLarge 0x95 when a string or binary field exceeds 65535 bytes, a
// varint exceeds 268435455, or the remaining length exceeds 268435455.
[[nodiscard]] Status encode(const Packet& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Connect& p, std::string& out);
[[nodiscard]] Status encode(const Connack& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Publish& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Puback& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Pubrec& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Pubrel& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Pubcomp& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Subscribe& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Suback& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Unsubscribe& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Unsuback& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Pingreq& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Pingresp& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Disconnect& p, ProtocolVersion v, std::string& out);
[[nodiscard]] Status encode(const Auth& p, ProtocolVersion v, std::string& out);

// Appends the fixed header (its remaining length counting p.payload), topic name, packet
// identifier and properties of a PUBLISH, but not the payload: the caller sends p.payload.size()
// bytes right after. Same errors as encode.
[[nodiscard]] Status encode_publish_header(const Publish& p, ProtocolVersion v, std::string& out);

// Size in bytes of the whole encoded packet (fixed header + remaining length + body), the
// quantity MQTT 5's Maximum Packet Size limits. Same errors as encode.
[[nodiscard]] Result<size_t> encoded_size(const Packet& p, ProtocolVersion v);
[[nodiscard]] Result<size_t> encoded_size(const Publish& p, ProtocolVersion v);

}  // namespace mq::codec
