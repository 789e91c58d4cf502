// Framer: splits the byte stream of one connection into MQTT packets. The caller reads from the
// socket straight into the framer's buffer (prepare + commit) and takes whole packets with next().
// A remaining length that makes the packet exceed the maximum packet size (which, as in MQTT 5,
// counts the whole packet) is rejected as soon as the length bytes arrive, before the body is
// buffered. Frame::body is a view into the buffer, valid until the next prepare()/append() (next()
// never moves data). One Framer per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mq::codec {

struct Frame {
  uint8_t fixed_header = 0;
  std::string_view body;  // the remaining-length bytes after the fixed header
  size_t size = 0;        // whole packet: 1 + remaining length bytes + body
};

class Framer {
 public:
  // Largest packet MQTT can express: 1 + 4 + 268435455.
  static constexpr size_t kProtocolMaxPacketSize = 268'435'460;

  explicit Framer(size_t max_packet_size = kProtocolMaxPacketSize);
  Framer(const Framer&) = delete;
  Framer& operator=(const Framer&) = delete;

  // Applies to packets whose header next() has not yet accepted. Values above the protocol
  // maximum are clamped.
  void set_max_packet_size(size_t n);
  size_t max_packet_size() const { return max_packet_size_; }

  // Writable space of at least min_size bytes at the end of the buffered data. May move the
  // buffered bytes: invalidates earlier Frames. Amortised O(1) per byte.
  std::span<char> prepare(size_t min_size);
  // Marks n bytes written into the last prepare() span. REQUIRES: n <= that span's size.
  void commit(size_t n);
  // Copies bytes in (prepare + memcpy + commit), for tests and for transports that hand out
  // their own buffers (TLS, WebSocket).
  void append(std::string_view bytes);

  // The next whole packet, nullopt when more bytes are needed, or an error: kMalformed 0x81 for a
  // remaining length longer than 4 bytes or not minimally encoded [MQTT-1.5.5-1], kTooLarge 0x95
  // for a packet above the maximum packet size. After an error the stream cannot be resynchronised:
  // close the connection (next() keeps returning the error).
  [[nodiscard]] Result<std::optional<Frame>> next();

  // Frees the buffer when no bytes are buffered, so an idle connection holds no read buffer.
  void release_if_empty() {
    if (begin_ != end_) return;
    buf_.reset();
    capacity_ = begin_ = end_ = 0;
  }

  size_t buffered() const { return end_ - begin_; }  // bytes received but not yet returned
  // The bytes received but not yet returned, moved out: the framer is empty afterwards.
  std::string take_buffered() {
    std::string out;
    if (buffered() > 0) out.assign(buf_.get() + begin_, buffered());
    buf_.reset();
    capacity_ = begin_ = end_ = 0;
    pending_size_ = 0;
    return out;
  }
  // Gives up the buffer when it holds `bytes` (a view of the last packet next() returned) and
  // nothing else: no unread bytes, at most `max_waste` bytes of it outside `bytes`. The caller
  // then owns the memory the packet's views point into; the framer starts afresh. Null (and
  // nothing changes) otherwise. Lets a large payload be kept where it was read.
  std::unique_ptr<char[]> release_buffer_holding(std::string_view bytes, size_t max_waste) {
    const char* b = buf_.get();
    if (!b || begin_ != end_ || bytes.data() < b || bytes.data() + bytes.size() > b + capacity_ ||
        capacity_ - bytes.size() > max_waste) {
      return nullptr;
    }
    capacity_ = begin_ = end_ = 0;
    return std::move(buf_);
  }
  size_t capacity() const { return capacity_; }
  // Whole size of the packet being received when its header is complete, else 0: lets a
  // caller size its next read.
  size_t pending_packet_size() const { return pending_size_; }

 private:
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last committed byte
  size_t max_packet_size_;
  size_t pending_size_ = 0;
};

}  // namespace mq::codec
