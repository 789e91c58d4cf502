#include "net/connect.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace mq::net {

namespace {

// Opens a socket for `addr`, binds the local address if any and starts a nonblocking connect.
// *in_progress tells whether completion must be awaited (EPOLLOUT / POLLOUT).
Result<UniqueFd> start_connect(const SockAddr& addr, const ConnectOptions& o, bool* in_progress) {
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket", errno);
  if (addr.family() != AF_UNIX) {
    if (!o.bind_address.empty()) {
      SocketDomain same = addr.family() == AF_INET ? SocketDomain::kIpv4 : SocketDomain::kIpv6;
      auto local = resolve_host(o.bind_address, 0, same);
      if (!local) return local.error();
      const SockAddr& l = local->front();
      if (::bind(fd.get(), l.get(), l.len) < 0) return sys_error("bind " + o.bind_address, errno);
    }
    if (o.nodelay) {
      Status st = set_nodelay(fd.get(), true);
      if (!st) return st.error();
    }
  }
  *in_progress = false;
  int rc;
  do {
    rc = ::connect(fd.get(), addr.get(), addr.len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno != EINPROGRESS) return sys_error("connect " + addr.to_string(), errno);
    *in_progress = true;
  }
  return fd;
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

Result<std::vector<SockAddr>> target_addresses(const ConnectOptions& o) {
  if (!o.unix_path.empty()) {
    auto a = make_unix_address(o.unix_path);
    if (!a) return a.error();
    return std::vector<SockAddr>{*a};
  }
  return resolve_host(o.host, o.port, o.domain);
}

}  // namespace

Result<std::vector<SockAddr>> resolve_host(const std::string& host, uint16_t port,
                                           SocketDomain domain) {
  addrinfo hints{};
  hints.ai_family = domain == SocketDomain::kIpv4   ? AF_INET
                    : domain == SocketDomain::kIpv6 ? AF_INET6
                                                    : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0)
    return make_error(ErrorKind::kIo, "cannot resolve " + host + ": " + gai_strerror(rc));
  std::vector<SockAddr> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage) || !family_allowed(ai->ai_family, domain))
      continue;
    SockAddr a;
    memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    a.set_port(port);
    bool dup = false;
    for (const SockAddr& b : out)
      dup = dup || (b.len == a.len && memcmp(&a.storage, &b.storage, a.len) == 0);
    if (!dup) out.push_back(a);
  }
  freeaddrinfo(res);
  if (out.empty()) return make_error(ErrorKind::kIo, "no usable address for " + host);
  return out;
}

Result<UniqueFd> connect_blocking(const ConnectOptions& options) {
  auto addrs = target_addresses(options);
  if (!addrs) return addrs.error();
  const Clock& clock = SystemClock::instance();
  int64_t deadline = clock.now_ms() + options.timeout_ms;
  Error last;
  for (const SockAddr& addr : *addrs) {
    bool pending = false;
    auto fd = start_connect(addr, options, &pending);
    if (!fd) {
      last = fd.error();
      continue;
    }
    if (!pending) return fd;
    for (;;) {
      int64_t left = deadline - clock.now_ms();
      if (left <= 0)
        return make_error(ErrorKind::kIo, "connect " + addr.to_string() + ": timed out");
      pollfd p{fd->get(), POLLOUT, 0};
      int rc = ::poll(&p, 1, int(left));
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) return sys_error("poll", errno);
      if (rc == 0) continue;  // the deadline check above reports the timeout
      int err = socket_error(fd->get());
      if (err == 0) return fd;
      last = sys_error("connect " + addr.to_string(), err);
      break;
    }
  }
  return last;
}

std::string describe_connection(const ConnectOptions& options) {
  if (!options.unix_path.empty()) return options.unix_path;
  return options.host + ":" + std::to_string(options.port);
}

// ---------------------------------------------------------------------------------------------

Status Connector::start(const ConnectOptions& options, Callback callback) {
  cancel();
  auto addrs = target_addresses(options);
  if (!addrs) return addrs.error();
  options_ = options;
  addrs_ = std::move(*addrs);
  next_ = 0;
  callback_ = std::move(callback);
  last_error_ = make_error(ErrorKind::kIo, "no address to connect to");
  timer_ = loop_.add_timer_in(options_.timeout_ms, [this] {
    timer_ = 0;
    loop_.remove(fd_.get());
    fd_.reset();
    finish(make_error(ErrorKind::kIo,
                      "connect to " + describe_connection(options_) + ": timed out"));
  });
  try_next();
  return {};
}

void Connector::cancel() {
  if (timer_ != 0) loop_.cancel_timer(timer_);
  timer_ = 0;
  if (fd_) loop_.remove(fd_.get());
  fd_.reset();
  callback_ = nullptr;
}

void Connector::try_next() {
  while (next_ < addrs_.size()) {
    const SockAddr& addr = addrs_[next_++];
    bool pending = false;
    auto fd = start_connect(addr, options_, &pending);
    if (!fd) {
      last_error_ = fd.error();
      continue;
    }
    fd_ = std::move(*fd);
    // Even an immediate success goes through EPOLLOUT so the callback always runs from the loop.
    Status st = loop_.add(fd_.get(), EPOLLOUT, this);
    if (!st) {
      last_error_ = st.error();
      fd_.reset();
      continue;
    }
    return;
  }
  // Every address failed at once: report from the loop, not from inside start(). A timer
  // (unlike post()) is cancelled with the Connector.
  if (timer_ != 0) loop_.cancel_timer(timer_);
  timer_ = loop_.add_timer_in(0, [this] {
    timer_ = 0;
    finish(last_error_);
  });
}

void Connector::on_io(uint32_t /*events*/) {
  loop_.remove(fd_.get());
  int err = socket_error(fd_.get());
  if (err == 0) {
    finish(std::move(fd_));
    return;
  }
  last_error_ = sys_error("connect " + addrs_[next_ - 1].to_string(), err);
  fd_.reset();
  try_next();
}

void Connector::finish(Result<UniqueFd> result) {
  if (timer_ != 0) loop_.cancel_timer(timer_);
  timer_ = 0;
  Callback cb = std::move(callback_);
  callback_ = nullptr;
  if (cb) cb(std::move(result));  // may destroy *this
}

Status handshake_blocking(Transport& transport, int timeout_ms) {
  using SteadyClock = std::chrono::steady_clock;
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    IoResult r = transport.handshake();
    if (r.status == IoStatus::kOk && transport.handshake_done()) {
      // A layer may still hold bytes of its last flight (a TLS Finished record).
      IoResult f = transport.flush();
      if (f.status == IoStatus::kOk) return Status();
      if (f.status != IoStatus::kWouldBlock) r = f;
      else r = IoResult::would_block();
    }
    if (r.status == IoStatus::kClosed) {
      return make_error(ErrorKind::kProtocol, std::string(transport.name()) +
                                            " handshake: the connection was closed by the peer");
    }
    if (r.status == IoStatus::kError) {
      return make_error(ErrorKind::kProtocol, transport.error_text(r));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      SteadyClock::now());
    if (left.count() <= 0) {
      return make_error(ErrorKind::kProtocol, std::string(transport.name()) + " handshake: timed out");
    }
    pollfd p{transport.fd(), 0, 0};
    uint32_t want = transport.wanted_events(false, false);
    if (want & EPOLLIN) p.events |= POLLIN;
    if (want & EPOLLOUT) p.events |= POLLOUT;
    if (p.events == 0) p.events = POLLIN;
    int n = ::poll(&p, 1, int(left.count()));
    if (n < 0 && errno != EINTR) {
      return make_error(ErrorKind::kIo, std::string("poll: ") + std::strerror(errno));
    }
  }
}

}  // namespace mq::net
