// Minimal non-blocking TCP client plumbing for the load generator: one epoll
// set, connections with a carry-over input buffer and a batched output buffer
// (written with one send() per flush, EPOLLOUT armed only after a short
// write). Single-threaded: a Loop and its connections belong to one thread.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "wire.h"

namespace mq::bench {

double now_secs();       // CLOCK_MONOTONIC
double cpu_secs_self();  // user + system time of this process

struct Conn {
  int fd = -1;
  uint64_t tag = 0;      // epoll data, given to Loop::open
  bool pollout = false;  // EPOLLOUT currently armed
  bool dead = false;
  std::string in;  // bytes of an incomplete packet carried to the next read
  std::string out;
  size_t out_off = 0;
  bool out_pending() const { return out_off < out.size(); }
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Starts a non-blocking connect to 127.0.0.1:port, optionally from a given
  // 127.x source address (0 = let the kernel choose); registers the socket
  // with tag as epoll data. Returns false (and leaves c.dead) on failure.
  bool open(Conn& c, uint16_t port, uint32_t source_addr, uint64_t tag);
  void close(Conn& c);

  // Sends as much of c.out as the socket takes. Returns false if the
  // connection failed (it is then closed and marked dead).
  bool flush(Conn& c);

  // Reads once into the shared scratch buffer, prefixed with c.in. Calls
  // on_frame(const Frame&) for every complete packet, keeps the tail in
  // c.in. Returns false on EOF, error or a malformed frame.
  template <typename F>
  bool read(Conn& c, F&& on_frame);

  // epoll_wait; returns the number of events, read with event_tag/mask.
  int wait(int timeout_ms);
  uint64_t event_tag(int i) const { return ev_tags_[i]; }
  uint32_t event_mask(int i) const { return ev_masks_[i]; }

 private:
  // -1: EOF or error, 0: nothing new (EAGAIN), 1: *total bytes in scratch_.
  int recv_into_scratch(Conn& c, size_t* total);
  void set_pollout(Conn& c, bool on);

  int ep_ = -1;
  std::vector<uint8_t> scratch_;
  std::vector<uint64_t> ev_tags_;
  std::vector<uint32_t> ev_masks_;
  std::vector<char> ev_raw_;  // struct epoll_event[], kept opaque here
};

template <typename F>
bool Loop::read(Conn& c, F&& on_frame) {
  size_t total = 0;
  int r = recv_into_scratch(c, &total);
  if (r <= 0) return r == 0;
  const uint8_t* p = scratch_.data();
  size_t off = 0;
  Frame f;
  size_t used = 0;
  for (;;) {
    FrameStatus st = next_frame(p + off, total - off, &f, &used);
    if (st == FrameStatus::kNeedMore) break;
    if (st == FrameStatus::kMalformed) return false;
    on_frame(f);
    off += used;
  }
  c.in.assign(reinterpret_cast<const char*>(p + off), total - off);
  return true;
}

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new limit.
uint64_t raise_nofile_limit();

// Binds 127.0.0.1:0, reads the port, closes. 0 on failure.
uint16_t free_port();

}  // namespace mq::bench
