// Wire primitives of the MQTT codec: variable byte integers, a bounds-checked Reader over a
// byte view, and Sink, which either measures or appends an encoding so that remaining lengths and
// the bytes themselves come from the same code.
// A Reader holds a view: the input must outlive the Reader and every view it hands out.
// Value types and pure functions only; safe on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mq::codec {

inline constexpr uint32_t kMaxVarint = 268'435'455;  // 0xFF 0xFF 0xFF 0x7F
inline constexpr size_t kMaxVarintBytes = 4;

enum class VarintStatus : uint8_t { kOk, kNeedMore, kTooLong, kNonMinimal };

// Decodes a variable byte integer at the start of data[0, size). On kOk sets value and used.
// kNeedMore: the bytes end inside the integer. kTooLong: a fifth byte would be needed.
// kNonMinimal: the value has a shorter encoding [MQTT-1.5.5-1].
VarintStatus decode_varint(const uint8_t* data, size_t size, uint32_t& value, size_t& used);

// REQUIRES: v <= kMaxVarint
constexpr size_t varint_size(uint32_t v) {
  return v < 128u ? 1 : v < 16'384u ? 2 : v < 2'097'152u ? 3 : 4;
}

// Appends the minimal encoding of v. REQUIRES: v <= kMaxVarint
void append_varint(std::string& out, uint32_t v);

// Reads big-endian integers, varints and length-prefixed data from a view. Every read checks
// bounds; a failed read returns false (or a non-kOk status) and consumes nothing.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }
  bool at_end() const { return pos_ == in_.size(); }

  [[nodiscard]] bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = byte(pos_);
    pos_ += 1;
    return true;
  }
  [[nodiscard]] bool u16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>(byte(pos_) << 8 | byte(pos_ + 1));
    pos_ += 2;
    return true;
  }
  [[nodiscard]] bool u32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = static_cast<uint32_t>(byte(pos_)) << 24 | static_cast<uint32_t>(byte(pos_ + 1)) << 16 |
        static_cast<uint32_t>(byte(pos_ + 2)) << 8 | static_cast<uint32_t>(byte(pos_ + 3));
    pos_ += 4;
    return true;
  }
  [[nodiscard]] bool take(size_t n, std::string_view& v) {
    if (remaining() < n) return false;
    v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Two-byte length followed by that many bytes (MQTT "Binary Data" and the string layout).
  [[nodiscard]] bool binary(std::string_view& v) {
    if (remaining() < 2) return false;
    size_t n = static_cast<size_t>(byte(pos_) << 8 | byte(pos_ + 1));
    if (remaining() - 2 < n) return false;
    v = in_.substr(pos_ + 2, n);
    pos_ += 2 + n;
    return true;
  }
  [[nodiscard]] VarintStatus varint(uint32_t& v) {
    size_t used = 0;
    VarintStatus s =
        decode_varint(reinterpret_cast<const uint8_t*>(in_.data()) + pos_, remaining(), v, used);
    if (s == VarintStatus::kOk) pos_ += used;
    return s;
  }
  // Consumes and returns everything left.
  std::string_view rest() {
    std::string_view r = in_.substr(pos_);
    pos_ = in_.size();
    return r;
  }

 private:
  uint8_t byte(size_t i) const { return static_cast<uint8_t>(in_[i]); }

  std::string_view in_;
  size_t pos_ = 0;
};

// Sink<true> counts bytes; Sink<false> appends them to a caller's string. Values that cannot be
// encoded (a string over 65535 bytes, a varint over kMaxVarint) clear ok() and are written as
// empty/zero so the two passes stay the same length.
template <bool kMeasure>
class Sink {
 public:
  explicit Sink(std::string* out = nullptr) : out_(out) {}

  void u8(uint8_t v) {
    if constexpr (kMeasure) {
      size_ += 1;
    } else {
      out_->push_back(static_cast<char>(v));
    }
  }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void varint(uint32_t v) {
    if (v > kMaxVarint) {
      ok_ = false;
      v = 0;
    }
    if constexpr (kMeasure) {
      size_ += varint_size(v);
    } else {
      append_varint(*out_, v);
    }
  }
  void bytes(std::string_view s) {
    if constexpr (kMeasure) {
      size_ += s.size();
    } else {
      out_->append(s);
    }
  }
  // Two-byte length prefix then the bytes (strings and binary data).
  void binary(std::string_view s) {
    if (s.size() > 0xFFFF) {
      ok_ = false;
      s = {};
    }
    u16(static_cast<uint16_t>(s.size()));
    bytes(s);
  }

  size_t size() const { return size_; }  // bytes measured (Sink<true> only)
  bool ok() const { return ok_; }

 private:
  std::string* out_;
  size_t size_ = 0;
  bool ok_ = true;
};

using Measure = Sink<true>;
using Emit = Sink<false>;

}  // namespace mq::codec
