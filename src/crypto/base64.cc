#include "crypto/base64.h"

namespace mq::crypto {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0..63 for an alphabet character, -1 otherwise.
int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::span<const uint8_t> bytes, Base64Padding pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t v = uint32_t(bytes[i]) << 16;
  if (rest == 2) v |= uint32_t(bytes[i + 1]) << 8;
  out += kAlphabet[v >> 18];
  out += kAlphabet[(v >> 12) & 63];
  if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  if (pad == Base64Padding::kPad) out.append(rest == 1 ? "==" : "=");
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text, bool require_padding) {
  size_t pads = 0;
  while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') pads++;
  if (pads > 0 && text.size() % 4 != 0) return std::nullopt;
  if (require_padding && text.size() % 4 != 0) return std::nullopt;
  std::string_view body = text.substr(0, text.size() - pads);
  if (body.size() % 4 == 1) return std::nullopt;  // 6 bits cannot make a byte
  if (pads > 0 && (body.size() + pads) % 4 != 0) return std::nullopt;

  std::vector<uint8_t> out;
  out.reserve(body.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int v = value_of(c);
    if (v < 0) return std::nullopt;  // includes a '=' in the middle
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;  // non-canonical: leftover bits must be zero
  return out;
}

}  // namespace mq::crypto
