// TcpTransport: the plain stream-socket Transport, for TCP and Unix domain sockets alike.
// Owns the fd (closed on destruction). Writes use sendmsg(MSG_NOSIGNAL), so a dead peer gives
// EPIPE instead of SIGPIPE. Not thread-safe: used on its connection's loop only.
#pragma once

#include <string>

#include "net/transport.h"
#include "net/unique_fd.h"

namespace mq::net {

class TcpTransport final : public Transport {
 public:
  // REQUIRES: `fd` is a connected, nonblocking stream socket.
  TcpTransport(UniqueFd fd, std::string peer_address, bool is_unix = false)
      : fd_(std::move(fd)), peer_(std::move(peer_address)), unix_(is_unix) {}

  const char* name() const override { return unix_ ? "unix" : "tcp"; }
  int fd() const override { return fd_.get(); }
  const std::string& peer_address() const override { return peer_; }

  IoResult handshake() override { return IoResult::ok(0); }
  bool handshake_done() const override { return true; }

  IoResult read(void* buf, size_t len) override;
  IoResult writev(const iovec* iov, int iovcnt) override;
  uint32_t wanted_events(bool want_read, bool want_write) const override;

  void shutdown() override;
  void close() override { fd_.reset(); }
  std::string error_text(const IoResult& r) const override;

 private:
  UniqueFd fd_;
  std::string peer_;
  bool unix_;
};

}  // namespace mq::net
