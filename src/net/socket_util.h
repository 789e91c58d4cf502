// Small socket helpers shared by listeners, connectors and transports: socket options, a
// sockaddr value type, and address formatting the way Mosquitto prints it ("127.0.0.1:1883",
// "::1:1883" without brackets). Stateless free functions; safe from any thread.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mq::net {

// Which address families a listener or client may use (mosquitto.conf `socket_domain`).
enum class SocketDomain : uint8_t { kAny, kIpv4, kIpv6 };

// A socket address held by value (IPv4, IPv6 or Unix).
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  uint16_t port() const;  // 0 for Unix sockets
  void set_port(uint16_t port);
  std::string host() const;  // "127.0.0.1", "::1", or the Unix path ("" when unnamed)
  std::string to_string() const;  // "127.0.0.1:1883", "::1:1883", or the Unix path
};

// An Error of kind kIo: "<what>: <strerror(err)>".
Error sys_error(std::string_view what, int err);

[[nodiscard]] Status set_nonblocking(int fd);
[[nodiscard]] Status set_cloexec(int fd);
[[nodiscard]] Status set_nodelay(int fd, bool on);

// Parses an IPv4 or IPv6 literal (an IPv6 scope "%eth0" is accepted). No name lookup.
[[nodiscard]] Result<SockAddr> parse_numeric_address(const std::string& host, uint16_t port);
// A Unix socket address; fails when the path does not fit in sun_path.
[[nodiscard]] Result<SockAddr> make_unix_address(const std::string& path);

[[nodiscard]] Result<SockAddr> local_address(int fd);  // getsockname
[[nodiscard]] Result<SockAddr> peer_address(int fd);   // getpeername

bool family_allowed(int family, SocketDomain domain);

}  // namespace mq::net
