#include "broker/out_queue.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <memory>
#include <vector>

namespace mq::broker {

namespace {
constexpr int kMaxIov = 64;
constexpr size_t kPoolMax = 64;  // 1 MiB of idle chunks per thread at most

// Full-size chunks given back by drained segments, for the next busy connection: a fan-out
// then reuses the same few chunks instead of a malloc and free per connection per turn.
thread_local std::vector<std::unique_ptr<char[]>> chunk_pool;

std::unique_ptr<char[]> take_chunk(size_t cap) {
  if (cap == OutQueue::kChunkSize && !chunk_pool.empty()) {
    std::unique_ptr<char[]> c = std::move(chunk_pool.back());
    chunk_pool.pop_back();
    return c;
  }
  return std::unique_ptr<char[]>(new char[cap]);  // uninitialised: only written bytes are read
}
}  // namespace

net::IoResult OutQueue::write_to(net::Transport& t) {
  while (!empty()) {
    iovec iov[kMaxIov];
    int n = fill_iov(iov, kMaxIov);
    net::IoResult r = t.writev(iov, n);
    if (r.status != net::IoStatus::kOk) return r;
    consume(r.bytes);
  }
  return t.flush();
}

void OutQueue::recycle(Segment& s) {
  if (!s.chunk || s.cap != kChunkSize || chunk_pool.size() >= kPoolMax) return;
  chunk_pool.push_back(std::move(s.chunk));
}

void OutQueue::append_slow(std::string_view bytes) {
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    if (segs_.size() > head_) {
      Segment& last = segs_.back();
      if (size_t room = last.room()) {
        size_t n = std::min(room, bytes.size());
        std::memcpy(last.chunk.get() + last.len, bytes.data(), n);
        last.len += n;
        bytes.remove_prefix(n);
        continue;
      }
    }
    // A new chunk, as large as what is already queued (a busy queue gets big chunks) and at
    // least what is left to append, within [kFirstChunk, kChunkSize].
    size_t cap = std::bit_ceil(std::max(bytes_, kFirstChunk));
    cap = std::min(cap, kChunkSize);
    Segment& s = segs_.emplace_back();
    s.chunk = take_chunk(cap);
    s.data = s.chunk.get();
    s.cap = cap;
  }
}

void OutQueue::append_reference(const MessagePtr& owner, std::string_view bytes) {
  Segment& s = segs_.emplace_back();
  s.keep = owner;
  s.data = bytes.data();
  s.len = bytes.size();
  s.cap = bytes.size();
  bytes_ += bytes.size();
}

int OutQueue::fill_iov(iovec* iov, int max) const {
  int n = 0;
  for (size_t i = head_; i < segs_.size() && n < max; i++) {
    const Segment& s = segs_[i];
    size_t len = s.len - s.off;
    if (len == 0) continue;
    iov[n].iov_base = const_cast<char*>(s.data + s.off);
    iov[n].iov_len = len;
    n++;
  }
  return n;
}

void OutQueue::consume(size_t n) {
  assert(n <= bytes_);
  bytes_ -= n;
  while (n > 0) {
    Segment& s = segs_[head_];
    size_t left = s.len - s.off;
    if (n < left) {
      s.off += n;
      return;
    }
    n -= left;
    recycle(s);
    s = Segment();
    head_++;
  }
  if (head_ == segs_.size()) {
    // Drained: give the array back. An idle connection then costs nothing here (otherwise
    // its segment array stays allocated, across 10,000 idle clients); a busy one pays one
    // malloc per flush.
    std::vector<Segment>().swap(segs_);
    head_ = 0;
  } else if (head_ > 64 && head_ * 2 > segs_.size()) {
    segs_.erase(segs_.begin(), segs_.begin() + long(head_));
    head_ = 0;
  }
}

void OutQueue::clear() {
  for (size_t i = head_; i < segs_.size(); i++) {
    recycle(segs_[i]);
  }
  segs_.clear();
  segs_.shrink_to_fit();
  head_ = 0;
  bytes_ = 0;
}

}  // namespace mq::broker
