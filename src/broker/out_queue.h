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
#include <vector>
#include <memory>
#include <string>
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

  void append(std::string_view bytes);
  // Appends `bytes`, which live inside `owner` (e.g. a Message payload).
  void append_shared(const MessagePtr& owner, std::string_view bytes);

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
  struct Segment {
    std::string owned;     // used when `keep` is null
    MessagePtr keep;       // holds the shared bytes alive
    const char* data = nullptr;  // shared bytes (when keep is set)
    size_t len = 0;        // shared length
    size_t off = 0;        // bytes of this segment already written
    size_t length() const { return keep ? len : owned.size(); }
    const char* begin() const { return keep ? data : owned.data(); }
  };
  std::vector<Segment> segs_;  // segs_[head_..] are pending; an idle queue allocates nothing
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace mq::broker
