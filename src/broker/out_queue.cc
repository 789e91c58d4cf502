#include "broker/out_queue.h"

#include <cassert>

namespace mq::broker {

namespace {
constexpr int kMaxIov = 64;
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

void OutQueue::append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (segs_.size() == head_ || segs_.back().keep ||
      segs_.back().owned.size() + bytes.size() > kChunkSize) {
    segs_.emplace_back();
  }
  segs_.back().owned.append(bytes);
  bytes_ += bytes.size();
}

void OutQueue::append_shared(const MessagePtr& owner, std::string_view bytes) {
  if (bytes.size() < kShareThreshold) {
    append(bytes);
    return;
  }
  Segment s;
  s.keep = owner;
  s.data = bytes.data();
  s.len = bytes.size();
  segs_.push_back(std::move(s));
  bytes_ += bytes.size();
}

int OutQueue::fill_iov(iovec* iov, int max) const {
  int n = 0;
  for (size_t i = head_; i < segs_.size() && n < max; i++) {
    const Segment& s = segs_[i];
    size_t len = s.length() - s.off;
    if (len == 0) continue;
    iov[n].iov_base = const_cast<char*>(s.begin() + s.off);
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
    size_t left = s.length() - s.off;
    if (n < left) {
      s.off += n;
      return;
    }
    n -= left;
    s = Segment();
    head_++;
  }
  if (head_ == segs_.size()) {
    // Drained: give the array back. An idle connection then costs nothing here (80 bytes
    // each across 10,000 idle clients otherwise); a busy one pays one malloc per flush.
    std::vector<Segment>().swap(segs_);
    head_ = 0;
  } else if (head_ > 64 && head_ * 2 > segs_.size()) {
    segs_.erase(segs_.begin(), segs_.begin() + long(head_));
    head_ = 0;
  }
}

void OutQueue::clear() {
  segs_.clear();
  segs_.shrink_to_fit();
  head_ = 0;
  bytes_ = 0;
}

}  // namespace mq::broker
