#include "net/socks5.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace mq::net {

namespace {

using SteadyClock = std::chrono::steady_clock;

// kProtocol, not kIo: the client prints the whole text, which says the proxy failed.
Error proxy_error(const std::string& what) { return Error(ErrorKind::kProtocol, "proxy: " + what); }

int ms_left(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return left.count() > 0 ? int(left.count()) : 0;
}

Status wait_for(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    int left = ms_left(deadline);
    if (left == 0) return proxy_error("timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left);
    if (n > 0) return Status();
    if (n < 0 && errno != EINTR) return proxy_error(std::string("poll: ") + std::strerror(errno));
  }
}

Status send_all(int fd, const std::vector<uint8_t>& data, SteadyClock::time_point deadline) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Status s = wait_for(fd, POLLOUT, deadline); !s) return s;
      continue;
    }
    return proxy_error(std::string("send: ") + std::strerror(errno));
  }
  return Status();
}

// Reads exactly `len` bytes: the proxy must not send more than each reply, so nothing of the
// tunnelled stream is consumed here.
Status recv_exact(int fd, uint8_t* out, size_t len, SteadyClock::time_point deadline) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::recv(fd, out + done, len - done, 0);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n == 0) return proxy_error("the proxy closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Status s = wait_for(fd, POLLIN, deadline); !s) return s;
      continue;
    }
    return proxy_error(std::string("recv: ") + std::strerror(errno));
  }
  return Status();
}

const char* reply_text(uint8_t code) {
  switch (code) {
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused by the destination host";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    default: return "unknown error";
  }
}

}  // namespace

Status socks5_connect_blocking(int fd, const Socks5Request& req, int timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  const bool auth = !req.username.empty();
  if (req.username.size() > 255 || req.password.size() > 255)
    return proxy_error("user name or password longer than 255 bytes");
  // Greeting: version 5, the methods we offer (0 = none, 2 = user name / password).
  std::vector<uint8_t> greeting = {5, 1, uint8_t(auth ? 2 : 0)};
  if (Status s = send_all(fd, greeting, deadline); !s) return s;
  uint8_t choice[2];
  if (Status s = recv_exact(fd, choice, 2, deadline); !s) return s;
  if (choice[0] != 5) return proxy_error("not a SOCKS5 proxy");
  if (choice[1] == 0xFF) return proxy_error("no acceptable authentication method");
  if (choice[1] == 2) {
    if (!auth) return proxy_error("the proxy requires a user name and password");
    std::vector<uint8_t> m = {1, uint8_t(req.username.size())};
    m.insert(m.end(), req.username.begin(), req.username.end());
    m.push_back(uint8_t(req.password.size()));
    m.insert(m.end(), req.password.begin(), req.password.end());
    if (Status s = send_all(fd, m, deadline); !s) return s;
    uint8_t status[2];
    if (Status s = recv_exact(fd, status, 2, deadline); !s) return s;
    if (status[1] != 0) return proxy_error("authentication failed");
  } else if (choice[1] != 0) {
    return proxy_error("the proxy chose an unsupported authentication method");
  }
  // CONNECT: literals as addresses, names for the proxy to resolve.
  std::vector<uint8_t> r = {5, 1, 0};
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, req.host.c_str(), &a4) == 1) {
    r.push_back(1);
    const auto* b = reinterpret_cast<const uint8_t*>(&a4);
    r.insert(r.end(), b, b + 4);
  } else if (inet_pton(AF_INET6, req.host.c_str(), &a6) == 1) {
    r.push_back(4);
    const auto* b = reinterpret_cast<const uint8_t*>(&a6);
    r.insert(r.end(), b, b + 16);
  } else {
    if (req.host.empty() || req.host.size() > 255) return proxy_error("invalid host name");
    r.push_back(3);
    r.push_back(uint8_t(req.host.size()));
    r.insert(r.end(), req.host.begin(), req.host.end());
  }
  r.push_back(uint8_t(req.port >> 8));
  r.push_back(uint8_t(req.port & 0xFF));
  if (Status s = send_all(fd, r, deadline); !s) return s;
  uint8_t head[5];  // VER REP RSV ATYP and the first address byte (the length for a name)
  if (Status s = recv_exact(fd, head, 5, deadline); !s) return s;
  if (head[0] != 5) return proxy_error("malformed reply");
  if (head[1] != 0) return proxy_error(reply_text(head[1]));
  size_t rest;
  switch (head[3]) {
    case 1: rest = 4 - 1 + 2; break;
    case 4: rest = 16 - 1 + 2; break;
    case 3: rest = size_t(head[4]) + 2; break;
    default: return proxy_error("malformed reply");
  }
  uint8_t skip[260];
  return recv_exact(fd, skip, rest, deadline);
}

}  // namespace mq::net
