// Transport: a nonblocking byte stream over one socket, the seam between connections and the
// stack TCP -> TLS -> WebSocket (each layer a Transport, an outer one owning the inner one).
// A transport owns its fd but never registers it: the connection that owns the transport keeps
// the fd in its EventLoop and re-arms epoll with wanted_events() after every operation, because
// a TLS read may need EPOLLOUT (renegotiation, a handshake flight) and a write may need EPOLLIN.
// Calls never allocate on the data path. Not thread-safe: used only on its connection's loop.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace mq::net {

class TlsTransport;

enum class IoStatus : uint8_t {
  kOk,          // `bytes` transferred (a read of 0 bytes never reports kOk)
  kWouldBlock,  // nothing now: wait for wanted_events() and retry
  kClosed,      // orderly end of stream from the peer (read) or after shutdown
  kError,       // failed; `sys_errno` (0 for protocol errors such as TLS alerts), see error_text()
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  size_t bytes = 0;
  int sys_errno = 0;

  static IoResult ok(size_t n) { return {IoStatus::kOk, n, 0}; }
  static IoResult would_block() { return {IoStatus::kWouldBlock, 0, 0}; }
  static IoResult closed() { return {IoStatus::kClosed, 0, 0}; }
  static IoResult error(int err) { return {IoStatus::kError, 0, err}; }
  bool is_ok() const { return status == IoStatus::kOk; }
};

class Transport {
 public:
  virtual ~Transport() = default;

  // "tcp", "unix", "tls", "ws", "wss": for logs.
  virtual const char* name() const = 0;
  // The socket; -1 once closed.
  virtual int fd() const = 0;
  // Peer as Mosquitto prints it ("127.0.0.1:37674", "::1:37674", or a Unix socket path).
  virtual const std::string& peer_address() const = 0;

  // Drives the connection handshake (TLS, WebSocket upgrade). kOk once established (at once for
  // TCP), kWouldBlock to be called again after wanted_events() fire, kClosed/kError to give up.
  virtual IoResult handshake() = 0;
  virtual bool handshake_done() const = 0;

  // Reads up to `len` application bytes. Callers read until kWouldBlock, or, when stopping
  // early for fairness, must check has_buffered_input(): data a layer already decrypted will
  // not make the socket readable again.
  virtual IoResult read(void* buf, size_t len) = 0;
  virtual bool has_buffered_input() const { return false; }

  // Writes from `iovcnt` buffers in order; may be partial. A layer that accepted bytes keeps
  // them (a TLS record in flight counts as written); after kWouldBlock the caller retries with
  // the same unwritten data.
  virtual IoResult writev(const iovec* iov, int iovcnt) = 0;
  // Pushes out bytes a layer produced on its own (a TLS record tail, WebSocket pong or close
  // frame). kOk when nothing is left; kWouldBlock while some remains.
  virtual IoResult flush() { return IoResult::ok(0); }

  // The epoll events needed to progress, given whether the caller wants to read and has
  // output to write. TCP returns exactly those; TLS/WS may add EPOLLIN or EPOLLOUT for their
  // own pending work (handshake, a read that needs to write, unflushed control frames).
  virtual uint32_t wanted_events(bool want_read, bool want_write) const = 0;

  // The owner has nothing queued to write and has read what there was: a layer may give back
  // memory it needs only while bytes move (TLS record buffers), and takes it again by itself
  // when they move again. `periodic` is the owner's timer (about every 500 ms) rather than the
  // end of a read or write: a layer may count its releases between two timer calls to spare a
  // busy connection a release and regrow per message. Best effort; never fails.
  virtual void release_idle_buffers(bool periodic) { (void)periodic; }

  // Starts an orderly close (TLS close_notify, WebSocket close frame, TCP FIN); best effort.
  virtual void shutdown() = 0;
  // Closes the socket now. Idempotent. REQUIRES: the fd is no longer registered in a loop.
  virtual void close() = 0;

  // The TLS layer of this stack, if any, for the peer's certificate identity: TLS returns
  // itself, a layer over another forwards to it, TCP returns null.
  virtual const TlsTransport* tls() const { return nullptr; }

  // Text for the last kError, e.g. "Connection reset by peer".
  virtual std::string error_text(const IoResult& r) const = 0;
};

}  // namespace mq::net
