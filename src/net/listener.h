// Listening sockets and the Acceptor that drains them on an EventLoop.
// listen_tcp()/listen_unix() return bound, listening, nonblocking, close-on-exec sockets owned by
// the caller. An Acceptor takes ownership of one socket, registers it on one loop and hands
// every accepted connection (fd ownership and the peer address text) to its callback. On fd or
// memory exhaustion it stops watching the socket for a back-off period instead of spinning.
// Threading: an Acceptor lives on its loop's thread; the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/loop.h"
#include "net/socket_util.h"
#include "net/unique_fd.h"

namespace mq::net {

struct ListenSocket {
  UniqueFd fd;
  SockAddr address;       // as bound; for TCP the real port, also when 0 was asked for
  std::string unix_path;  // non-empty for a Unix socket

  bool is_unix() const { return !unix_path.empty(); }
  uint16_t port() const { return address.port(); }
};

struct TcpListenOptions {
  std::string host;  // IPv4/IPv6 literal, a name ("localhost"), or "" for all addresses
  uint16_t port = 0;  // 0: an ephemeral port, shared by every address bound
  SocketDomain domain = SocketDomain::kAny;
  int backlog = 100;
};

// Addresses a listener on `host` binds: "" gives 0.0.0.0 and ::, "localhost" gives 127.0.0.1
// and ::1 (no name service involved), literals parse numerically, other names use getaddrinfo.
// Filtered by `domain`; an error when nothing is left.
[[nodiscard]] Result<std::vector<SockAddr>> resolve_listen_addresses(const std::string& host,
                                                                     uint16_t port,
                                                                     SocketDomain domain);

// Binds and listens on every address resolve_listen_addresses() yields, SO_REUSEADDR on,
// IPV6_V6ONLY on IPv6 sockets (so 0.0.0.0 and :: coexist). With several addresses, one whose
// family the host lacks (EAFNOSUPPORT, EADDRNOTAVAIL) is skipped as long as another binds.
[[nodiscard]] Result<std::vector<ListenSocket>> listen_tcp(const TcpListenOptions& options);

// Removes a stale socket file at `path` (only if it is a socket), binds and listens.
// Permissions follow the process umask.
[[nodiscard]] Result<ListenSocket> listen_unix(const std::string& path, int backlog = 100);

struct AcceptorOptions {
  int batch = 64;            // connections accepted per wakeup, for fairness with other fds
  int64_t backoff_ms = 100;  // pause after EMFILE/ENFILE/ENOBUFS/ENOMEM
};

class Acceptor final : public IoHandler {
 public:
  // Called once per accepted connection with a nonblocking, close-on-exec socket.
  // REQUIRES: the callback does not destroy this Acceptor.
  using OnAccept = std::function<void(UniqueFd fd, std::string peer_address)>;

  Acceptor(EventLoop& loop, ListenSocket socket, OnAccept on_accept, AcceptorOptions options = {});
  ~Acceptor() override;  // unregisters, cancels the back-off timer, closes the socket
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  [[nodiscard]] Status start();  // registers the socket for EPOLLIN
  void stop();                   // unregisters (the socket stays open and keeps its backlog)

  const ListenSocket& socket() const { return socket_; }
  uint16_t port() const { return socket_.port(); }
  bool backing_off() const { return backoff_timer_ != 0; }
  uint64_t accepted() const { return accepted_; }

  void on_io(uint32_t events) override;

 private:
  void begin_backoff(int err);
  void end_backoff();

  EventLoop& loop_;
  ListenSocket socket_;
  OnAccept on_accept_;
  AcceptorOptions options_;
  TimerId backoff_timer_ = 0;
  bool running_ = false;
  bool logged_exhaustion_ = false;
  uint64_t accepted_ = 0;
};

}  // namespace mq::net
