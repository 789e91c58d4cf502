#include "net/listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace mq::net {

namespace {

SockAddr any_address(int family, uint16_t port) {
  SockAddr a;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    a.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_any;
    a.len = sizeof(sockaddr_in6);
  }
  a.set_port(port);
  return a;
}

bool same_address(const SockAddr& a, const SockAddr& b) {
  return a.len == b.len && memcmp(&a.storage, &b.storage, a.len) == 0;
}

// Creates, configures, binds and listens one TCP socket. On failure returns the errno.
int bind_one(const SockAddr& addr, int backlog, UniqueFd* out) {
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  int one = 1;
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6 &&
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
    return errno;
  if (::bind(fd.get(), addr.get(), addr.len) < 0) return errno;
  if (::listen(fd.get(), backlog) < 0) return errno;
  *out = std::move(fd);
  return 0;
}

bool is_missing_family(int err) {
  return err == EAFNOSUPPORT || err == EADDRNOTAVAIL || err == EPROTONOSUPPORT;
}

bool is_exhaustion(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

Result<std::vector<SockAddr>> resolve_listen_addresses(const std::string& host, uint16_t port,
                                                       SocketDomain domain) {
  std::vector<SockAddr> out;
  auto keep = [&](const SockAddr& a) {
    if (!family_allowed(a.family(), domain)) return;
    for (const SockAddr& b : out)
      if (same_address(a, b)) return;
    out.push_back(a);
  };
  if (host.empty()) {
    keep(any_address(AF_INET, port));
    keep(any_address(AF_INET6, port));
  } else if (host == "localhost") {
    keep(*parse_numeric_address("127.0.0.1", port));
    keep(*parse_numeric_address("::1", port));
  } else if (auto numeric = parse_numeric_address(host, port)) {
    keep(*numeric);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0)
      return make_error(ErrorKind::kConfig, "cannot resolve " + host + ": " + gai_strerror(rc));
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
      SockAddr a;
      memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
      a.len = ai->ai_addrlen;
      a.set_port(port);
      keep(a);
    }
    freeaddrinfo(res);
  }
  if (out.empty())
    return make_error(ErrorKind::kConfig,
                      "no usable address for '" + host + "' in this socket_domain");
  return out;
}

Result<std::vector<ListenSocket>> listen_tcp(const TcpListenOptions& options) {
  auto addrs = resolve_listen_addresses(options.host, options.port, options.domain);
  if (!addrs) return addrs.error();

  // With port 0 every address must share the port the first bind picked; that port may be
  // taken on another family, so start over a few times before giving up.
  constexpr int kAttempts = 8;
  int last_err = 0;
  std::string last_addr;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::vector<ListenSocket> out;
    uint16_t port = options.port;
    bool retry = false;
    for (SockAddr addr : *addrs) {
      addr.set_port(port);
      UniqueFd fd;
      int err = bind_one(addr, options.backlog, &fd);
      if (err != 0) {
        last_err = err;
        last_addr = addr.to_string();
        if (addrs->size() > 1 && is_missing_family(err)) continue;
        if (options.port == 0 && err == EADDRINUSE && !out.empty()) {
          retry = true;
          break;
        }
        return sys_error("bind " + last_addr, err);
      }
      auto bound = local_address(fd.get());
      if (!bound) return bound.error();
      port = bound->port();
      out.push_back(ListenSocket{std::move(fd), *bound, {}});
    }
    if (retry) continue;
    if (out.empty()) return sys_error("bind " + last_addr, last_err);
    return out;
  }
  return sys_error("bind " + last_addr, last_err);
}

Result<ListenSocket> listen_unix(const std::string& path, int backlog) {
  auto addr = make_unix_address(path);
  if (!addr) return addr.error();
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) (void)::unlink(path.c_str());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket(AF_UNIX)", errno);
  if (::bind(fd.get(), addr->get(), addr->len) < 0) return sys_error("bind " + path, errno);
  if (::listen(fd.get(), backlog) < 0) return sys_error("listen " + path, errno);
  return ListenSocket{std::move(fd), *addr, path};
}

// ---------------------------------------------------------------------------------------------

Acceptor::Acceptor(EventLoop& loop, ListenSocket socket, OnAccept on_accept,
                   AcceptorOptions options)
    : loop_(loop),
      socket_(std::move(socket)),
      on_accept_(std::move(on_accept)),
      options_(options) {}

Acceptor::~Acceptor() { stop(); }

Status Acceptor::start() {
  if (running_) return {};
  running_ = true;
  if (backing_off()) return {};  // end_backoff() registers
  Status st = loop_.add(socket_.fd.get(), EPOLLIN, this);
  if (!st) running_ = false;
  return st;
}

void Acceptor::stop() {
  running_ = false;
  if (backoff_timer_ != 0) loop_.cancel_timer(backoff_timer_);
  backoff_timer_ = 0;
  loop_.remove(socket_.fd.get());
}

void Acceptor::on_io(uint32_t /*events*/) {
  for (int i = 0; i < options_.batch; ++i) {
    SockAddr peer;
    peer.len = sizeof peer.storage;
    int fd = ::accept4(socket_.fd.get(), peer.get(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      // The connection died in the queue, or a signal: try the next one.
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
      if (is_exhaustion(err)) {
        begin_backoff(err);
        return;
      }
      MQ_LOG(kLogError, "Error: Unable to accept new connection: %s.", strerror(err));
      return;
    }
    logged_exhaustion_ = false;
    ++accepted_;
    std::string text;
    if (socket_.is_unix()) {
      text = peer.host();  // clients rarely bind a name: fall back to the listener's path
      if (text.empty()) text = socket_.unix_path;
    } else {
      text = peer.to_string();
    }
    on_accept_(UniqueFd(fd), std::move(text));
    if (!running_) return;  // the callback stopped us
  }
}

void Acceptor::begin_backoff(int err) {
  if (!logged_exhaustion_) {
    MQ_LOG(kLogError,
           "Error: Unable to accept new connection on port %d: %s; pausing accepts for %lld ms.",
           int(port()), strerror(err), static_cast<long long>(options_.backoff_ms));
    logged_exhaustion_ = true;
  }
  // Level-triggered: leaving the socket registered would wake us on every iteration.
  loop_.remove(socket_.fd.get());
  backoff_timer_ = loop_.add_timer_in(options_.backoff_ms, [this] { end_backoff(); });
}

void Acceptor::end_backoff() {
  backoff_timer_ = 0;
  if (!running_) return;
  Status st = loop_.add(socket_.fd.get(), EPOLLIN, this);
  if (!st) {
    MQ_LOG(kLogError, "Error: Unable to resume accepting on port %d: %s.", int(port()),
           st.error().context.c_str());
    // Try again later rather than lose the listener.
    backoff_timer_ = loop_.add_timer_in(options_.backoff_ms, [this] { end_backoff(); });
  }
}

}  // namespace mq::net
