// OutQueue: a connection's pending output. Small writes (acks, headers, small payloads) are
// copied into contiguous chunks so many packets leave in one writev; large payloads are
// referenced, not copied, and kept alive by their MessagePtr until written. Flushed once per
// loop iteration. A chunk is never grown (that would copy what it holds): a full one is followed
// by a new one, sized by how much the queue already holds (256 B for a lone packet, up to
// kChunkSize on a busy connection); full-size chunks are recycled through a small per-thread
// pool. Single-threaded: owned by one Connection.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>
#include <memory>
#include <string_view>

#include "broker/message.h"
#include "net/transport.h"

namespace mq::broker {

class OutQueue {
 public:
  // Payloads at least this large are referenced instead of copied.
  static constexpr size_t kShareThreshold = 1024;
  static constexpr size_t kChunkSize = 16 * 1024;
  static constexpr size_t kFirstChunk = 256;

  OutQueue() = default;
  // A moved-from queue is empty and usable (head_ and bytes_ go back to 0 with segs_).
  OutQueue(OutQueue&& o) noexcept
      : segs_(std::move(o.segs_)), head_(std::exchange(o.head_, 0)), bytes_(std::exchange(o.bytes_, 0)) {
    o.segs_.clear();
  }
  OutQueue& operator=(OutQueue&& o) noexcept {
    segs_ = std::move(o.segs_);
    o.segs_.clear();
    head_ = std::exchange(o.head_, 0);
    bytes_ = std::exchange(o.bytes_, 0);
    return *this;
  }

  // Inline for its common case, a packet that fits in the last chunk (one memcpy): a fan-out
  // appends a header and a payload per subscriber.
  void append(std::string_view bytes) {
    size_t n = bytes.size();
    // `n - 1 < room` is false for n == 0 too (the slow path then does nothing), and room is 0
    // for a shared segment, so the copy only ever goes into an owned chunk. A non-empty segs_
    // has its last segment pending (consume() empties it once all are written); testing that
    // rather than head_ < size() spares a division by sizeof(Segment).
    if (!segs_.empty() && n - 1 < segs_.back().room()) {
      Segment& last = segs_.back();
      std::memcpy(last.chunk.get() + last.len, bytes.data(), n);
      last.len += n;
      bytes_ += n;
      return;
    }
    append_slow(bytes);
  }
  // A packet's header (copied) and payload (as append_shared), with one test for room when
  // both fit in the last chunk: the fan-out's per-subscriber append.
  void append_packet(std::string_view header, const MessagePtr& owner, std::string_view payload) {
    size_t n = header.size() + payload.size();
    if (payload.size() < kShareThreshold && !segs_.empty() && n - 1 < segs_.back().room()) {
      Segment& last = segs_.back();
      char* p = last.chunk.get() + last.len;
      std::memcpy(p, header.data(), header.size());
      std::memcpy(p + header.size(), payload.data(), payload.size());
      last.len += n;
      bytes_ += n;
      return;
    }
    append(header);
    append_shared(owner, payload);
  }
  // Appends `bytes`, which live inside `owner` (e.g. a Message payload).
  void append_shared(const MessagePtr& owner, std::string_view bytes) {
    if (bytes.size() < kShareThreshold) {
      append(bytes);
    } else {
      append_reference(owner, bytes);
    }
  }

  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

  // Fills up to `max` iovecs from the head; returns how many.
  int fill_iov(iovec* iov, int max) const;
  // Drops `n` written bytes from the head. REQUIRES: n <= size().
  void consume(size_t n);
  void clear();

  // Writes as much as `t` takes (writev, many segments at once) and, once the queue is empty,
  // the bytes the layer produced itself (TLS record tails, WebSocket control frames). Returns
  // kOk (everything went) or kWouldBlock (bytes remain; wait for EPOLLOUT), else the failure.
  net::IoResult write_to(net::Transport& t);

 private:
  // A chunk of copied bytes (`chunk` set, `cap` bytes long, `len` used), or bytes shared with
  // `keep` (cap == len: no room). A raw buffer rather than a std::string: the append above is
  // then a bounds check and a memcpy, with no out-of-line string growth logic.
  struct Segment {
    std::unique_ptr<char[]> chunk;
    MessagePtr keep;             // holds the shared bytes alive
    const char* data = nullptr;  // chunk.get() or the shared bytes
    size_t len = 0;              // bytes held
    size_t cap = 0;              // the chunk's size; len for shared bytes
    size_t off = 0;              // bytes of this segment already written
    size_t room() const { return cap - len; }
  };

  void append_slow(std::string_view bytes);
  void append_reference(const MessagePtr& owner, std::string_view bytes);
  // Gives a drained segment's chunk back to the pool.
  static void recycle(Segment& s);

  std::vector<Segment> segs_;  // segs_[head_..] are pending; an idle queue allocates nothing
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace mq::broker
