#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mq::bench {

namespace {
constexpr size_t kScratch = 1 << 20;  // one large read per readable event
constexpr int kMaxEvents = 1024;
}  // namespace

double now_secs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double cpu_secs_self() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

Loop::Loop() : scratch_(kScratch), ev_tags_(kMaxEvents), ev_masks_(kMaxEvents) {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    std::perror("epoll_create1");
    std::exit(2);
  }
  ev_raw_.resize(sizeof(epoll_event) * kMaxEvents);
}

Loop::~Loop() { ::close(ep_); }

bool Loop::open(Conn& c, uint16_t port, uint32_t source_addr, uint64_t tag) {
  c = Conn{};
  c.dead = true;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // we batch writes ourselves
  if (source_addr != 0) {
    // Many connections from several loopback addresses: let connect() pick
    // the port so each source address gets its own ephemeral range.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(source_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd);
      return false;
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return false;
  }
  c.fd = fd;
  c.tag = tag;
  c.dead = false;
  c.in.reserve(256);
  return true;
}

void Loop::close(Conn& c) {
  if (c.fd >= 0) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
  }
  c.fd = -1;
  c.dead = true;
  c.pollout = false;
}

void Loop::set_pollout(Conn& c, bool on) {
  if (c.pollout == on) return;
  epoll_event ev{};
  ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u64 = c.tag;
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  c.pollout = on;
}

bool Loop::flush(Conn& c) {
  if (c.dead) return false;
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_pollout(c, true);
      return true;
    }
    close(c);
    return false;
  }
  c.out.clear();
  c.out_off = 0;
  set_pollout(c, false);
  return true;
}

int Loop::recv_into_scratch(Conn& c, size_t* total) {
  if (c.dead) return -1;
  size_t carry = c.in.size();
  if (carry + 65536 > scratch_.size()) scratch_.resize(carry * 2 + 65536);
  std::memcpy(scratch_.data(), c.in.data(), carry);
  for (;;) {
    ssize_t n = ::recv(c.fd, scratch_.data() + carry, scratch_.size() - carry, 0);
    if (n > 0) {
      *total = carry + static_cast<size_t>(n);
      return 1;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;  // EOF or error; the caller closes
  }
}

int Loop::wait(int timeout_ms) {
  auto* evs = reinterpret_cast<epoll_event*>(ev_raw_.data());
  int n = epoll_wait(ep_, evs, kMaxEvents, timeout_ms);
  if (n < 0) return 0;  // EINTR
  for (int i = 0; i < n; ++i) {
    ev_tags_[i] = evs[i].data.u64;
    ev_masks_[i] = evs[i].events;
  }
  return n;
}

uint64_t raise_nofile_limit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace mq::bench
