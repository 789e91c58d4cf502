// SOCKS5 (RFC 1928) CONNECT with optional user name / password authentication (RFC 1929), for
// the clients' --proxy socks5h://: the proxy resolves the broker's name ("socks5h"), so names go
// out as domain names and only literals as addresses. Blocking with a deadline, on an already
// connected nonblocking socket, before any TLS or WebSocket layer is stacked on it.
// Threading: a free function; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace mq::net {

struct Socks5Request {
  std::string host;  // the broker, as the proxy should reach it
  uint16_t port = 0;
  std::string username;  // empty: no authentication offered
  std::string password;
};

// On success the socket carries the tunnelled stream. The error names the proxy's refusal
// ("connection refused by the destination host", "authentication failed", ...).
[[nodiscard]] Status socks5_connect_blocking(int fd, const Socks5Request& request, int timeout_ms);

}  // namespace mq::net
