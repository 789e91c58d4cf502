// Linger: closes a connection's socket without losing the last packet it was sent. A DISCONNECT
// with a reason code or a refusing CONNACK is usually followed at once by close(); if the client
// is still sending, unread input makes the kernel answer with a reset, and the reset can destroy
// the reason in the client's receive buffer before it reads it. A lingering socket writes what
// is left, shuts down its write side, then reads and discards input until the peer closes, a
// byte budget is spent or a timer fires, and only then closes. Driven by the loop (no sleeps).
// Owned by the Broker; single-threaded on the broker loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "broker/out_queue.h"
#include "net/loop.h"
#include "net/transport.h"

namespace mq::broker {

class Linger {
 public:
  struct Limits {
    int64_t timeout_ms = 2000;         // from adoption to close, whatever the peer does
    size_t drain_bytes = 256 * 1024;   // input discarded before giving up on a clean close
    size_t max_sockets = 1024;         // beyond this, sockets are closed at once
  };

  explicit Linger(net::EventLoop& loop);
  Linger(net::EventLoop& loop, Limits limits);
  ~Linger();
  Linger(const Linger&) = delete;
  Linger& operator=(const Linger&) = delete;

  // Takes over a transport whose fd is not (or no longer) registered in the loop, with the
  // output still owed to the peer. Closes at once when the limit of lingering sockets is hit.
  void adopt(std::unique_ptr<net::Transport> transport, OutQueue pending);
  // Closes every lingering socket now (broker shutdown).
  void close_all();
  size_t size() const { return sockets_.size(); }

 private:
  class Socket;
  void finish(int fd);

  net::EventLoop& loop_;
  Limits limits_;
  std::unordered_map<int, std::unique_ptr<Socket>> sockets_;  // by fd
};

}  // namespace mq::broker
