// The WebSocket wire format (RFC 6455) as pure functions: frame headers (section 5.2), masking
// (5.3), close payloads (5.5.1, 7.4), the opening handshake for both roles (section 4) and the
// Sec-WebSocket-Accept key. No I/O and no state: WebSocketTransport (ws_transport.h) drives them.
// Parsers return views into the caller's buffer that live only as long as that buffer.
// Everything here is safe on any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mq::net::ws {

// Opcodes, RFC 6455 section 5.2 (%x3-7 and %xB-F are reserved).
enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Status codes, RFC 6455 section 7.4.1. 1005 and 1006 never go on the wire.
enum class CloseCode : uint16_t {
  kNone = 0,  // not a wire value: "no status code"
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kInvalidPayload = 1007,  // e.g. a close reason that is not UTF-8
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kInternalError = 1011,
};

inline constexpr size_t kMaxFrameHeaderSize = 14;  // 2 + 8 (64-bit length) + 4 (masking key)
inline constexpr size_t kMaxControlPayload = 125;  // section 5.5
inline constexpr bool is_control(uint8_t opcode) {
  return (opcode & 0x8) != 0;
}

struct FrameHeader {
  bool fin = true;
  uint8_t rsv = 0;     // RSV1..RSV3 as bits 2..0 (0 unless an extension was negotiated)
  uint8_t opcode = 0;  // raw 4 bits: may be a reserved value when parsed
  bool masked = false;
  uint64_t payload_length = 0;
  std::array<uint8_t, 4> mask_key{};

  bool operator==(const FrameHeader&) const = default;
};

// Parses a frame header from the start of `in`. Returns the header size (2..14) with `out` set,
// 0 when `in` holds only part of a header, or an error (kMalformed) for a 64-bit length with the
// most significant bit set (section 5.2). Non-minimal length encodings are accepted: the RFC asks
// senders to be minimal but gives receivers no reason to refuse them.
[[nodiscard]] Result<size_t> parse_frame_header(std::span<const uint8_t> in, FrameHeader& out);

// Writes `h` with the minimal length encoding; returns its size (2..14).
size_t encode_frame_header(const FrameHeader& h, std::span<uint8_t, kMaxFrameHeaderSize> out);

// What a receiver in `role` must refuse in a parsed header, as the close code to send
// (kNone: acceptable). Checks, in order: RSV bits without an extension -> 1002 (5.2); reserved
// opcodes -> 1002; control frames fragmented or over 125 bytes -> 1002 (5.5); frames from a
// client must be masked and frames from a server must not be -> 1002 (5.1); continuation with no
// message open, or a new data frame inside one -> 1002 (5.4); text frames -> 1003 (MQTT only
// uses binary frames, [MQTT-6.0.0-1]); payload over `max_payload` -> 1009.
enum class Role : uint8_t { kServer, kClient };
struct FrameCheck {
  Role receiver = Role::kServer;
  bool in_message = false;  // a fragmented data message has started and not finished
  uint64_t max_payload = UINT64_MAX;
};
// `why`, if given, is set to a static description of the problem ("" when there is none).
CloseCode check_frame_header(const FrameHeader& h, const FrameCheck& c, const char** why = nullptr);
const char* close_reason_text(CloseCode code);  // "protocol error", "message too big", ...

// XORs `data` with `key`, where data[0] is payload byte number `offset` (5.3). Masking and
// unmasking are the same operation.
void apply_mask(uint8_t* data, size_t len, const std::array<uint8_t, 4>& key, uint64_t offset);

// A Close frame body (5.5.1): empty, or a 2-byte status code plus a UTF-8 reason.
struct ClosePayload {
  CloseCode code = CloseCode::kNone;
  uint16_t raw_code = 0;
  std::string_view reason;  // view into the parsed bytes
};
// Errors map to the close code to answer with through close_code_for(): a body of length 1 or a
// code that may not be sent (7.4.2) -> 1002; a reason that is not UTF-8 (5.5.1) -> 1007.
[[nodiscard]] Result<ClosePayload> parse_close_payload(std::span<const uint8_t> body);
CloseCode close_code_for(const Error& e);  // kMalformed -> 1007, others -> 1002
bool valid_utf8(std::string_view s);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)), section 4.2.2.
std::string accept_key(std::string_view sec_websocket_key);

// Index just past the "\r\n\r\n" that ends an HTTP header block in `buf`, or npos.
size_t find_header_end(std::string_view buf);

// --- server side of the opening handshake (section 4.2) ---------------------------------------

struct UpgradeRequest {  // views into the request text
  std::string_view method, target, host, key, origin, forwarded_for;
  std::string_view subprotocol;  // the one chosen ("mqtt", "mqttv3.1"), empty if none offered
};
// Parses a complete header block (request line through the blank line) and applies the rules of
// section 4.2.1: GET, HTTP/1.1 or later, Upgrade containing "websocket", Connection containing
// "Upgrade", Sec-WebSocket-Version 13, a Sec-WebSocket-Key of 16 base64-encoded bytes. Of the
// offered subprotocols the first (in the client's order of preference) of "mqtt" or "mqttv3.1"
// is chosen; none of ours offered -> accepted without a subprotocol. Errors map to an HTTP
// status with http_status_for(): kMalformed/kProtocol -> 400, kUnsupported (version) -> 426.
[[nodiscard]] Result<UpgradeRequest> parse_upgrade_request(std::string_view head);
int http_status_for(const Error& e);
// Origin check (Mosquitto 2.1 websockets_origin): an empty list allows any request; otherwise the
// Origin must be present and equal (ASCII case-insensitively) one entry.
bool origin_allowed(std::string_view origin, std::span<const std::string> allowed);

// "HTTP/1.1 101 Switching Protocols" with Sec-WebSocket-Accept and, if non-empty, the subprotocol.
std::string build_upgrade_response(std::string_view key, std::string_view subprotocol);
// A short refusal: "HTTP/1.1 400 Bad Request", 403, 426 (adds Sec-WebSocket-Version: 13), 431...
// with Connection: close and an empty body.
std::string build_error_response(int status);
const char* http_reason_phrase(int status);

// --- client side (section 4.1) ------------------------------------------------------------------

// `key` is the base64 of 16 random bytes. `host` goes into Host with the port (IPv6 in brackets);
// an empty subprotocol sends no Sec-WebSocket-Protocol.
std::string build_client_request(std::string_view host, uint16_t port, std::string_view path,
                                 std::string_view key, std::string_view subprotocol);
// A fresh random Sec-WebSocket-Key (getrandom).
std::string make_client_key();
// Validates a complete response header block against the request that used `key` and offered
// `subprotocol`. Returns the subprotocol the server chose (empty if none). Errors read like
// "server answered HTTP 404 Not Found" or "bad Sec-WebSocket-Accept".
[[nodiscard]] Result<std::string> validate_upgrade_response(std::string_view head,
                                                            std::string_view key,
                                                            std::string_view subprotocol);

}  // namespace mq::net::ws
