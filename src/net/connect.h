// Outgoing connections for the clients (pub, sub, rr) and bridges: name resolution, an optional
// local bind address (-A), TCP_NODELAY, Unix sockets. connect_blocking() suits a CLI's first
// connect; Connector does the same without blocking the loop (except for name resolution,
// which getaddrinfo does synchronously). Returned sockets are nonblocking and close-on-exec.
// Threading: the free functions are thread-safe; a Connector lives on its loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/loop.h"
#include "net/socket_util.h"
#include "net/transport.h"
#include "net/unique_fd.h"

namespace mq::net {

struct ConnectOptions {
  std::string host = "localhost";
  uint16_t port = 1883;
  std::string unix_path;     // when set, connect to this Unix socket; host and port are ignored
  std::string bind_address;  // local address to bind before connecting (mosquitto_pub -A)
  SocketDomain domain = SocketDomain::kAny;
  bool nodelay = true;
  int timeout_ms = 10'000;   // for all addresses together
};

// getaddrinfo() for a client: numeric addresses, "localhost" and names, filtered by `domain`,
// in resolver order.
[[nodiscard]] Result<std::vector<SockAddr>> resolve_host(const std::string& host, uint16_t port,
                                                         SocketDomain domain);

// Tries each resolved address in turn until one connects or the timeout expires.
[[nodiscard]] Result<UniqueFd> connect_blocking(const ConnectOptions& options);

// Drives transport.handshake() to completion (TLS, WebSocket upgrade), waiting with poll() on
// the events the transport asks for; for a CLI's first connect. The error (kProtocol) says
// what failed, in words a person can act on.
[[nodiscard]] Status handshake_blocking(Transport& transport, int timeout_ms);

// Peer text of a connected client socket, as the broker would print it.
std::string describe_connection(const ConnectOptions& options);

class Connector final : public IoHandler {
 public:
  // Receives the connected socket, or the error of the last address tried. Called from the
  // loop, never from start(). The callback may destroy the Connector.
  using Callback = std::function<void(Result<UniqueFd> fd)>;

  explicit Connector(EventLoop& loop) : loop_(loop) {}
  ~Connector() override { cancel(); }
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Resolves, then starts connecting. An error here means nothing was started.
  [[nodiscard]] Status start(const ConnectOptions& options, Callback callback);
  void cancel();  // drops any attempt in progress; the callback is not called
  bool in_progress() const { return static_cast<bool>(callback_); }

  void on_io(uint32_t events) override;

 private:
  void try_next();
  void finish(Result<UniqueFd> result);

  EventLoop& loop_;
  ConnectOptions options_;
  Callback callback_;
  std::vector<SockAddr> addrs_;
  size_t next_ = 0;
  UniqueFd fd_;
  TimerId timer_ = 0;
  Error last_error_;
};

}  // namespace mq::net
