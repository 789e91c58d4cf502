#include "codec/wire.h"

namespace mq::codec {

VarintStatus decode_varint(const uint8_t* data, size_t size, uint32_t& value, size_t& used) {
  uint32_t v = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (i >= size) return VarintStatus::kNeedMore;
    uint8_t b = data[i];
    v |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      // A final byte of zero after a continuation adds nothing: a shorter form exists.
      if (i > 0 && b == 0) return VarintStatus::kNonMinimal;  // [MQTT-1.5.5-1]
      value = v;
      used = i + 1;
      return VarintStatus::kOk;
    }
  }
  return VarintStatus::kTooLong;
}

void append_varint(std::string& out, uint32_t v) {
  char buf[kMaxVarintBytes];
  size_t n = 0;
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v != 0) b |= 0x80;
    buf[n++] = static_cast<char>(b);
  } while (v != 0 && n < kMaxVarintBytes);
  out.append(buf, n);
}

}  // namespace mq::codec
