#include "codec/framer.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>

#include "codec/wire.h"

namespace mq::codec {

namespace {

constexpr size_t kInitialCapacity = 4096;
// An idle buffer larger than this is released so a connection that once carried a big packet
// does not keep it forever.
constexpr size_t kIdleCapacity = 64 * 1024;

}  // namespace

Framer::Framer(size_t max_packet_size)
    : max_packet_size_(std::min(max_packet_size, kProtocolMaxPacketSize)) {}

void Framer::set_max_packet_size(size_t n) {
  max_packet_size_ = std::min(n, kProtocolMaxPacketSize);
}

std::span<char> Framer::prepare(size_t min_size) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (capacity_ > kIdleCapacity && min_size <= kIdleCapacity) {
      buf_.reset();
      capacity_ = 0;
    }
  }
  if (capacity_ - end_ < min_size) {
    const size_t used = end_ - begin_;
    // Slide the unread bytes to the front only when at least as many bytes were consumed before
    // them: each byte then moves O(1) times on average, however small the packets.
    if (begin_ >= used && capacity_ - used >= min_size) {
      std::memmove(buf_.get(), buf_.get() + begin_, used);
    } else {
      size_t cap = std::max({kInitialCapacity, capacity_ * 2, used + min_size});
      auto fresh = std::make_unique_for_overwrite<char[]>(cap);
      if (used > 0) std::memcpy(fresh.get(), buf_.get() + begin_, used);
      buf_ = std::move(fresh);
      capacity_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }
  return {buf_.get() + end_, capacity_ - end_};
}

void Framer::commit(size_t n) {
  assert(n <= capacity_ - end_);
  end_ += n;
}

void Framer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  std::span<char> dst = prepare(bytes.size());
  std::memcpy(dst.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

Result<std::optional<Frame>> Framer::next() {
  const size_t avail = end_ - begin_;
  if (avail < 2) return std::optional<Frame>();
  const auto* p = reinterpret_cast<const uint8_t*>(buf_.get() + begin_);
  uint32_t remaining = 0;
  size_t used = 0;
  switch (decode_varint(p + 1, avail - 1, remaining, used)) {
    case VarintStatus::kOk:
      break;
    case VarintStatus::kNeedMore:
      return std::optional<Frame>();
    case VarintStatus::kTooLong:
      return make_error(ErrorKind::kMalformed, "remaining length longer than 4 bytes", 0x81);
    case VarintStatus::kNonMinimal:
      return make_error(ErrorKind::kMalformed, "remaining length not minimally encoded", 0x81);
  }
  const size_t total = 1 + used + remaining;
  if (total > max_packet_size_) {
    return make_error(ErrorKind::kTooLarge,
                      "packet of " + std::to_string(total) + " bytes exceeds maximum packet size " +
                          std::to_string(max_packet_size_),
                      0x95);
  }
  if (avail < total) {
    pending_size_ = total;
    return std::optional<Frame>();
  }
  Frame f;
  f.fixed_header = p[0];
  f.body = std::string_view(buf_.get() + begin_ + 1 + used, remaining);
  f.size = total;
  begin_ += total;
  pending_size_ = 0;
  return std::optional<Frame>(f);
}

}  // namespace mq::codec
