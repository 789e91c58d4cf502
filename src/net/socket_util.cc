#include "net/socket_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace mq::net {

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SockAddr::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
}

std::string SockAddr::host() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof buf);
    return buf;
  }
  if (family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
    size_t max = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (max == 0 || un->sun_path[0] == '\0') return "";  // unnamed or abstract
    return std::string(un->sun_path, strnlen(un->sun_path, max));
  }
  return "";
}

std::string SockAddr::to_string() const {
  if (family() == AF_UNIX) return host();
  // Mosquitto prints "%s:%d" with the bare inet_ntop text, also for IPv6.
  return host() + ":" + std::to_string(port());
}

Error sys_error(std::string_view what, int err) {
  std::string ctx(what);
  ctx += ": ";
  ctx += strerror(err);
  return make_error(ErrorKind::kIo, std::move(ctx));
}

Status set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return sys_error("fcntl", errno);
  return {};
}

Status set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return sys_error("fcntl", errno);
  return {};
}

Status set_nodelay(int fd, bool on) {
  int v = on ? 1 : 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0)
    return sys_error("setsockopt(TCP_NODELAY)", errno);
  return {};
}

Result<SockAddr> parse_numeric_address(const std::string& host, uint16_t port) {
  SockAddr a;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  // IPv6, possibly with a scope id: getaddrinfo with AI_NUMERICHOST never touches the network.
  addrinfo hints{};
  hints.ai_family = AF_INET6;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr)
    return make_error(ErrorKind::kConfig, "not a numeric address: " + host);
  memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  freeaddrinfo(res);
  a.set_port(port);
  return a;
}

Result<SockAddr> make_unix_address(const std::string& path) {
  SockAddr a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
  if (path.empty() || path.size() >= sizeof(un->sun_path))
    return make_error(ErrorKind::kConfig, "unix socket path empty or too long: " + path);
  un->sun_family = AF_UNIX;
  memcpy(un->sun_path, path.data(), path.size());
  a.len = socklen_t(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

Result<SockAddr> local_address(int fd) {
  SockAddr a;
  a.len = sizeof a.storage;
  if (getsockname(fd, a.get(), &a.len) < 0) return sys_error("getsockname", errno);
  return a;
}

Result<SockAddr> peer_address(int fd) {
  SockAddr a;
  a.len = sizeof a.storage;
  if (getpeername(fd, a.get(), &a.len) < 0) return sys_error("getpeername", errno);
  return a;
}

bool family_allowed(int family, SocketDomain domain) {
  switch (domain) {
    case SocketDomain::kAny: return family == AF_INET || family == AF_INET6;
    case SocketDomain::kIpv4: return family == AF_INET;
    case SocketDomain::kIpv6: return family == AF_INET6;
  }
  return false;
}

}  // namespace mq::net
