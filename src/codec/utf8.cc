#include "codec/utf8.h"

#include <cstdint>
#include <cstring>

namespace mq::codec {

namespace {

// True when none of the 8 bytes has its high bit set and none is zero.
bool plain_ascii_word(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  constexpr uint64_t kLow = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  bool has_high = (w & kHigh) != 0;
  bool has_zero = ((w - kLow) & ~w & kHigh) != 0;
  return !has_high && !has_zero;
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
      if (c == 0) return false;  // [MQTT-1.5.4-2]
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
    i += len;
  }
  return true;
}

}  // namespace mq::codec
