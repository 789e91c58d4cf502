#include "codec/utf8.h"

#include <cstdint>
#include <cstring>

namespace mq::codec {

namespace {

// True when all 8 bytes are printable ASCII (0x20..0x7E).
bool plain_ascii_word(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  constexpr uint64_t kLow = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  if (w & kHigh) return false;                               // a byte >= 0x80
  if ((w - 0x2020202020202020ull) & ~w & kHigh) return false;  // a byte < 0x20
  uint64_t del = w ^ 0x7F7F7F7F7F7F7F7Full;                  // a zero byte where w has 0x7F
  return ((del - kLow) & ~del & kHigh) == 0;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8 && plain_ascii_word(p + i)) {
      i += 8;
      continue;
    }
    uint8_t c = p[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;  // U+0000 [MQTT-1.5.4-2], control characters
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte where a lead byte belongs, or 0xF8..0xFF
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      uint8_t b = p[i + k];
      if ((b & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3F);
    }
    if (cp < min) return false;                      // overlong form
    if (cp > 0x10FFFF) return false;                 // beyond Unicode
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // [MQTT-1.5.4-1] surrogates
    if (cp <= 0x9F) return false;                     // C1 control characters U+0080..U+009F
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;  // non-characters
    i += len;
  }
  return true;
}

}  // namespace mq::codec
