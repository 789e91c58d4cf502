// Payload: the application bytes of a Message. Owns one heap buffer and views a range of it, so
// a large PUBLISH read from a socket keeps the buffer it was read into (the framer's, adopted
// with its header bytes in front) instead of copying the payload out: the bytes are read once
// and written to every subscriber from there. Copies are deep. Single owner; immutable once the
// Message is published, like the rest of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace mq::broker {

class Payload {
 public:
  Payload() = default;
  Payload(std::string_view s) { assign(s); }  // NOLINT: a payload is made from bytes
  Payload(const std::string& s) { assign(s); }  // NOLINT
  Payload(const char* s) { assign(std::string_view(s)); }  // NOLINT
  Payload(const Payload& o) { assign(o.view()); }
  Payload(Payload&& o) noexcept = default;
  Payload& operator=(const Payload& o) {
    if (this != &o) assign(o.view());
    return *this;
  }
  Payload& operator=(Payload&& o) noexcept = default;
  Payload& operator=(std::string_view s) {
    assign(s);
    return *this;
  }
  Payload& operator=(const std::string& s) { return *this = std::string_view(s); }
  Payload& operator=(const char* s) { return *this = std::string_view(s); }

  void assign(std::string_view s) {
    if (s.empty()) {
      buf_.reset();
    } else {
      auto b = std::make_unique_for_overwrite<char[]>(s.size());
      std::memcpy(b.get(), s.data(), s.size());
      buf_ = std::move(b);
    }
    off_ = 0;
    len_ = uint32_t(s.size());
  }
  void assign(size_t n, char c) { assign(std::string(n, c)); }
  // Takes `buf`, of which the payload is the `len` bytes at `off` (the rest, a packet header
  // in front, is kept but not seen). REQUIRES: off + len fit in buf; len < 4 GiB.
  void adopt(std::unique_ptr<char[]> buf, size_t off, size_t len) {
    buf_ = std::move(buf);
    off_ = uint32_t(off);
    len_ = uint32_t(len);
  }

  const char* data() const { return buf_ ? buf_.get() + off_ : ""; }
  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  std::string_view view() const { return {data(), len_}; }
  operator std::string_view() const { return view(); }  // NOLINT
  std::string str() const { return std::string(view()); }
  explicit operator std::string() const { return str(); }
  const char* begin() const { return data(); }
  const char* end() const { return data() + len_; }

  friend bool operator==(const Payload& a, const Payload& b) { return a.view() == b.view(); }
  friend bool operator==(const Payload& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const Payload& a, const std::string& b) { return a.view() == b; }
  friend bool operator==(const Payload& a, const char* b) { return a.view() == b; }

 private:
  std::unique_ptr<char[]> buf_;
  uint32_t off_ = 0;
  uint32_t len_ = 0;
};

}  // namespace mq::broker
