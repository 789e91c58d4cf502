#include "net/ws_frame.h"

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace mq::net::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // section 1.3

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each element of a comma-separated list (RFC 7230 section 7), skipping
// empty elements; stops early when fn returns true. Returns whether it stopped early.
template <class Fn>
bool for_each_token(std::string_view list, Fn fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view tok = trim(list.substr(0, comma));
    if (!tok.empty() && fn(tok)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool list_contains(std::string_view list, std::string_view token) {
  return for_each_token(list, [&](std::string_view t) { return iequals(t, token); });
}

bool is_tchar(char c) {  // RFC 7230 section 3.2.6
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_base64_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
         c == '/';
}

// One header field; false if the line is not "token: value" with no control characters.
bool split_field(std::string_view line, std::string_view& name, std::string_view& value) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  name = line.substr(0, colon);
  for (char c : name) {
    if (!is_tchar(c)) return false;  // also refuses "Name :" (RFC 7230 section 3.2.4)
  }
  value = trim(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

// Splits `head` (ending in the blank line) into the start line and a cursor over field lines.
struct Lines {
  std::string_view rest;
  // Next line without its CRLF; false at the blank line that ends the block.
  bool next(std::string_view& line) {
    size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) return false;
    line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    return true;
  }
};

// "HTTP/1.1" or a later version.
bool http_version_ok(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return false;
  char major = v[5], minor = v[7];
  if (major < '0' || major > '9' || minor < '0' || minor > '9') return false;
  return major > '1' || (major == '1' && minor >= '1');
}

Error bad(std::string ctx) {
  return Error(ErrorKind::kMalformed, std::move(ctx));
}

}  // namespace

Result<size_t> parse_frame_header(std::span<const uint8_t> in, FrameHeader& out) {
  if (in.size() < 2) return size_t{0};
  const uint8_t b0 = in[0], b1 = in[1];
  size_t need = 2;
  const uint8_t len7 = b1 & 0x7f;
  if (len7 == 126) need += 2;
  if (len7 == 127) need += 8;
  const bool masked = (b1 & 0x80) != 0;
  if (masked) need += 4;
  if (in.size() < need) return size_t{0};

  FrameHeader h;
  h.fin = (b0 & 0x80) != 0;
  h.rsv = uint8_t((b0 >> 4) & 0x7);
  h.opcode = b0 & 0x0f;
  h.masked = masked;
  size_t pos = 2;
  if (len7 < 126) {
    h.payload_length = len7;
  } else {
    size_t n = len7 == 126 ? 2 : 8;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | in[pos + i];
    pos += n;
    // Section 5.2: "the most significant bit MUST be 0".
    if (n == 8 && (v >> 63) != 0) return bad("WebSocket frame length has its top bit set");
    h.payload_length = v;
  }
  if (masked) {
    for (size_t i = 0; i < 4; ++i) h.mask_key[i] = in[pos + i];
    pos += 4;
  }
  out = h;
  return pos;
}

size_t encode_frame_header(const FrameHeader& h, std::span<uint8_t, kMaxFrameHeaderSize> out) {
  out[0] = uint8_t((h.fin ? 0x80 : 0) | ((h.rsv & 0x7) << 4) | (h.opcode & 0x0f));
  const uint8_t mask_bit = h.masked ? 0x80 : 0;
  size_t pos = 2;
  if (h.payload_length < 126) {
    out[1] = uint8_t(mask_bit | h.payload_length);
  } else if (h.payload_length <= 0xffff) {
    out[1] = uint8_t(mask_bit | 126);
    out[2] = uint8_t(h.payload_length >> 8);
    out[3] = uint8_t(h.payload_length);
    pos = 4;
  } else {
    out[1] = uint8_t(mask_bit | 127);
    for (int i = 0; i < 8; ++i) out[2 + i] = uint8_t(h.payload_length >> (56 - 8 * i));
    pos = 10;
  }
  if (h.masked) {
    for (size_t i = 0; i < 4; ++i) out[pos + i] = h.mask_key[i];
    pos += 4;
  }
  return pos;
}

CloseCode check_frame_header(const FrameHeader& h, const FrameCheck& c, const char** why) {
  const char* unused;
  const char*& w = why ? *why : unused;
  w = "";
  if (h.rsv != 0) {
    w = "RSV bits set without a negotiated extension";  // 5.2
    return CloseCode::kProtocolError;
  }
  switch (h.opcode) {
    case uint8_t(Opcode::kContinuation):
    case uint8_t(Opcode::kText):
    case uint8_t(Opcode::kBinary):
    case uint8_t(Opcode::kClose):
    case uint8_t(Opcode::kPing):
    case uint8_t(Opcode::kPong):
      break;
    default:
      w = "reserved opcode";  // 5.2
      return CloseCode::kProtocolError;
  }
  // 5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be
  // fragmented."
  if (is_control(h.opcode) && !h.fin) {
    w = "fragmented control frame";
    return CloseCode::kProtocolError;
  }
  if (is_control(h.opcode) && h.payload_length > kMaxControlPayload) {
    w = "control frame over 125 bytes";
    return CloseCode::kProtocolError;
  }
  // 5.1: "a client MUST mask all frames that it sends to the server"; "A server MUST NOT mask
  // any frames that it sends to the client".
  if (h.masked != (c.receiver == Role::kServer)) {
    w = h.masked ? "masked frame from the server" : "unmasked frame from the client";
    return CloseCode::kProtocolError;
  }
  if (h.opcode == uint8_t(Opcode::kContinuation) && !c.in_message) {
    w = "continuation frame with no message to continue";  // 5.4
    return CloseCode::kProtocolError;
  }
  if ((h.opcode == uint8_t(Opcode::kText) || h.opcode == uint8_t(Opcode::kBinary)) &&
      c.in_message) {
    w = "new data frame inside a fragmented message";  // 5.4
    return CloseCode::kProtocolError;
  }
  if (h.opcode == uint8_t(Opcode::kText)) {
    w = "text frame (MQTT uses binary frames only)";  // [MQTT-6.0.0-1]
    return CloseCode::kUnsupportedData;
  }
  if (h.payload_length > c.max_payload) {
    w = "frame larger than the maximum frame size";
    return CloseCode::kMessageTooBig;
  }
  return CloseCode::kNone;
}

const char* close_reason_text(CloseCode code) {
  switch (code) {
    case CloseCode::kNone:
      return "no status";
    case CloseCode::kNormal:
      return "normal closure";
    case CloseCode::kGoingAway:
      return "going away";
    case CloseCode::kProtocolError:
      return "protocol error";
    case CloseCode::kUnsupportedData:
      return "unsupported data (text frame)";
    case CloseCode::kInvalidPayload:
      return "invalid payload data";
    case CloseCode::kPolicyViolation:
      return "policy violation";
    case CloseCode::kMessageTooBig:
      return "message too big";
    case CloseCode::kInternalError:
      return "internal error";
  }
  return "close";
}

void apply_mask(uint8_t* data, size_t len, const std::array<uint8_t, 4>& key, uint64_t offset) {
  size_t i = 0;
  size_t k = size_t(offset & 3);
  // Byte-wise until aligned on the key, then 8 bytes at a time with a rotated 64-bit key.
  for (; i < len && k != 0; ++i, k = (k + 1) & 3) data[i] ^= key[k];
  if (len - i >= 8) {
    uint8_t k8[8];
    for (int j = 0; j < 8; ++j) k8[j] = key[size_t(j) & 3];
    uint64_t kw;
    std::memcpy(&kw, k8, 8);
    for (; len - i >= 8; i += 8) {
      uint64_t w;
      std::memcpy(&w, data + i, 8);
      w ^= kw;
      std::memcpy(data + i, &w, 8);
    }
  }
  for (; i < len; ++i, k = (k + 1) & 3) data[i] ^= key[k];
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t j = 1; j <= n; ++j) {
      auto cc = static_cast<unsigned char>(s[i + j]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Result<ClosePayload> parse_close_payload(std::span<const uint8_t> body) {
  ClosePayload p;
  if (body.empty()) return p;
  if (body.size() == 1) return Error(ErrorKind::kProtocol, "close frame with a 1-byte body");
  p.raw_code = uint16_t((body[0] << 8) | body[1]);
  const uint16_t c = p.raw_code;
  // 7.4: 1000-1003 and 1007-1011 are defined; 1012-1014 were registered later (IANA); 3000-4999
  // belong to libraries and applications. 1004-1006, 1015 and the rest may not be sent.
  bool ok = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
  if (!ok) return Error(ErrorKind::kProtocol, "close frame with status code " + std::to_string(c));
  p.code = static_cast<CloseCode>(c);
  p.reason = std::string_view(reinterpret_cast<const char*>(body.data()) + 2, body.size() - 2);
  if (!valid_utf8(p.reason)) return Error(ErrorKind::kMalformed, "close reason is not UTF-8");
  return p;
}

CloseCode close_code_for(const Error& e) {
  return e.kind == ErrorKind::kMalformed ? CloseCode::kInvalidPayload : CloseCode::kProtocolError;
}

std::string accept_key(std::string_view sec_websocket_key) {
  std::string in;
  in.reserve(sec_websocket_key.size() + kGuid.size());
  in.append(sec_websocket_key).append(kGuid);
  unsigned char digest[20];
  if (mbedtls_sha1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest) != 0) {
    return {};
  }
  unsigned char out[32];  // base64 of 20 bytes is 28 characters plus the terminating NUL
  size_t olen = 0;
  if (mbedtls_base64_encode(out, sizeof out, &olen, digest, sizeof digest) != 0) return {};
  return std::string(reinterpret_cast<const char*>(out), olen);
}

size_t find_header_end(std::string_view buf) {
  size_t p = buf.find("\r\n\r\n");
  return p == std::string_view::npos ? p : p + 4;
}

Result<UpgradeRequest> parse_upgrade_request(std::string_view head) {
  UpgradeRequest req;
  Lines lines{head};
  std::string_view line;
  if (!lines.next(line)) return bad("empty request");
  // Request line: method SP request-target SP HTTP-version (RFC 7230 section 3.1.1).
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return bad("malformed request line");
  }
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (req.method != "GET") return Error(ErrorKind::kProtocol, "method is not GET");
  if (req.target.empty()) return bad("empty request target");
  for (char c : req.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("bad request target");
  }
  if (!http_version_ok(line.substr(sp2 + 1))) return bad("not HTTP/1.1");

  bool upgrade = false, connection = false, version = false, have_key = false, have_origin = false;
  bool version_13 = false;
  while (lines.next(line)) {
    if (line[0] == ' ' || line[0] == '\t') return bad("obsolete header line folding");
    std::string_view name, value;
    if (!split_field(line, name, value)) return bad("malformed header line");
    if (iequals(name, "Host")) {
      req.host = value;
    } else if (iequals(name, "Upgrade")) {
      upgrade = upgrade || list_contains(value, "websocket");
    } else if (iequals(name, "Connection")) {
      connection = connection || list_contains(value, "Upgrade");
    } else if (iequals(name, "Sec-WebSocket-Key")) {
      if (have_key) return bad("Sec-WebSocket-Key given twice");  // 4.1: "MUST NOT appear more
      have_key = true;                                            // than once"
      req.key = value;
    } else if (iequals(name, "Sec-WebSocket-Version")) {
      if (version) return bad("Sec-WebSocket-Version given twice");
      version = true;
      version_13 = value == "13";
    } else if (iequals(name, "Sec-WebSocket-Protocol")) {
      if (req.subprotocol.empty()) {
        for_each_token(value, [&](std::string_view t) {
          if (t == "mqtt" || t == "mqttv3.1") req.subprotocol = t;
          return !req.subprotocol.empty();
        });
      }
    } else if (iequals(name, "Origin")) {
      if (have_origin) return bad("Origin given twice");
      have_origin = true;
      req.origin = value;
    } else if (iequals(name, "X-Forwarded-For")) {
      if (req.forwarded_for.empty()) req.forwarded_for = value;
    }
  }
  if (!upgrade) return bad("no Upgrade: websocket");
  if (!connection) return bad("no Connection: Upgrade");
  if (!version) return bad("no Sec-WebSocket-Version");
  if (!version_13) return Error(ErrorKind::kUnsupported, "Sec-WebSocket-Version is not 13");
  // 4.1: the key is "a randomly selected 16-byte value that has been base64-encoded": 22
  // alphabet characters and "==".
  bool key_ok = req.key.size() == 24 && req.key.substr(22) == "==";
  for (size_t i = 0; key_ok && i < 22; ++i) key_ok = is_base64_char(req.key[i]);
  if (!key_ok) return bad(have_key ? "bad Sec-WebSocket-Key" : "no Sec-WebSocket-Key");
  return req;
}

int http_status_for(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kUnsupported:
      return 426;
    case ErrorKind::kTooLarge:
      return 431;
    case ErrorKind::kAuth:
      return 403;
    default:
      return 400;
  }
}

bool origin_allowed(std::string_view origin, std::span<const std::string> allowed) {
  if (allowed.empty()) return true;
  if (origin.empty()) return false;
  for (const std::string& a : allowed) {
    if (iequals(origin, a)) return true;
  }
  return false;
}

std::string build_upgrade_response(std::string_view key, std::string_view subprotocol) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  r += accept_key(key);
  r += "\r\n";
  if (!subprotocol.empty()) {
    r += "Sec-WebSocket-Protocol: ";
    r += subprotocol;
    r += "\r\n";
  }
  r += "\r\n";
  return r;
}

const char* http_reason_phrase(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string build_error_response(int status) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + http_reason_phrase(status) + "\r\n";
  if (status == 426) r += "Sec-WebSocket-Version: 13\r\n";  // 4.4
  r += "Connection: close\r\nContent-Length: 0\r\n\r\n";
  return r;
}

std::string build_client_request(std::string_view host, uint16_t port, std::string_view path,
                                 std::string_view key, std::string_view subprotocol) {
  std::string r = "GET ";
  r += path.empty() ? std::string_view("/") : path;
  r += " HTTP/1.1\r\nHost: ";
  bool v6 = host.find(':') != std::string_view::npos && host.front() != '[';
  if (v6) r += '[';
  r += host;
  if (v6) r += ']';
  r += ':';
  r += std::to_string(port);
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  r += key;
  r += "\r\nSec-WebSocket-Version: 13\r\n";
  if (!subprotocol.empty()) {
    r += "Sec-WebSocket-Protocol: ";
    r += subprotocol;
    r += "\r\n";
  }
  r += "\r\n";
  return r;
}

std::string make_client_key() {
  unsigned char raw[16];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n > 0) {
      got += size_t(n);
    } else if (n < 0 && errno != EINTR) {
      break;
    }
  }
  if (got < sizeof raw) {  // no getrandom: the key is a nonce, not a secret (section 10.3)
    auto t = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = got; i < sizeof raw; ++i) raw[i] = uint8_t(t >> (8 * (i % 8))) ^ uint8_t(i);
  }
  unsigned char out[32];
  size_t olen = 0;
  (void)mbedtls_base64_encode(out, sizeof out, &olen, raw, sizeof raw);
  return std::string(reinterpret_cast<const char*>(out), olen);
}

Result<std::string> validate_upgrade_response(std::string_view head, std::string_view key,
                                              std::string_view subprotocol) {
  Lines lines{head};
  std::string_view line;
  if (!lines.next(line)) return bad("empty HTTP response");
  // Status line: HTTP-version SP status-code SP reason-phrase (RFC 7230 section 3.1.2).
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' ')) {
    return bad("malformed HTTP status line");
  }
  std::string_view code = line.substr(9, 3);
  for (char c : code) {
    if (c < '0' || c > '9') return bad("malformed HTTP status line");
  }
  if (code != "101") {
    std::string_view reason = line.size() > 13 ? trim(line.substr(13)) : std::string_view();
    std::string msg = "server answered HTTP ";
    msg += code;
    if (!reason.empty()) msg.append(" ").append(reason);
    return Error(ErrorKind::kProtocol, std::move(msg));
  }
  bool upgrade = false, connection = false;
  std::string_view accept, chosen;
  while (lines.next(line)) {
    std::string_view name, value;
    if (!split_field(line, name, value)) return bad("malformed header line in HTTP response");
    if (iequals(name, "Upgrade")) {
      upgrade = upgrade || list_contains(value, "websocket");
    } else if (iequals(name, "Connection")) {
      connection = connection || list_contains(value, "Upgrade");
    } else if (iequals(name, "Sec-WebSocket-Accept")) {
      accept = value;
    } else if (iequals(name, "Sec-WebSocket-Protocol")) {
      chosen = value;
    } else if (iequals(name, "Sec-WebSocket-Extensions") && !value.empty()) {
      return Error(ErrorKind::kProtocol, "server chose an extension that was not offered");
    }
  }
  // Section 4.1, the client's checks of the server's handshake, in the RFC's order.
  if (!upgrade) return Error(ErrorKind::kProtocol, "response lacks Upgrade: websocket");
  if (!connection) return Error(ErrorKind::kProtocol, "response lacks Connection: Upgrade");
  if (accept.empty() || accept != accept_key(key)) {
    return Error(ErrorKind::kProtocol, "bad Sec-WebSocket-Accept");
  }
  if (!chosen.empty() && chosen != subprotocol) {
    return Error(ErrorKind::kProtocol,
                 "server chose subprotocol \"" + std::string(chosen) + "\", which was not offered");
  }
  return std::string(chosen);
}

}  // namespace mq::net::ws
