#include "broker/linger.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

namespace mq::broker {

// One socket being closed: first its output (and a layer's own close: TLS close_notify,
// WebSocket close frame), then the raw input, read and dropped. Reading the fd directly below
// TLS/WebSocket is deliberate: nothing received now is ever decoded.
class Linger::Socket final : public net::IoHandler {
 public:
  Socket(Linger& owner, std::unique_ptr<net::Transport> t, OutQueue out)
      : owner_(owner), t_(std::move(t)), out_(std::move(out)) {}

  int fd() const { return t_->fd(); }
  net::Transport& transport() { return *t_; }
  net::TimerId timer = 0;

  // Makes progress; returns the epoll events to wait for, or 0 when the socket is done.
  uint32_t step() {
    if (!write_shut_) {
      if (!out_.empty() || !layer_shut_) {
        net::IoResult r = out_.write_to(*t_);
        if (r.status == net::IoStatus::kWouldBlock) return t_->wanted_events(false, true);
        if (r.status != net::IoStatus::kOk) return 0;  // the peer is gone: nothing to protect
      }
      if (!layer_shut_) {
        layer_shut_ = true;
        t_->shutdown();
      }
      net::IoResult r = t_->flush();
      if (r.status == net::IoStatus::kWouldBlock) return t_->wanted_events(false, true);
      if (r.status != net::IoStatus::kOk) return 0;
      // A TLS or WebSocket layer may leave the TCP write side open; the FIN is what tells
      // the client no more is coming.
      (void)::shutdown(t_->fd(), SHUT_WR);
      write_shut_ = true;
    }
    char buf[16 * 1024];
    for (;;) {
      ssize_t n = ::recv(t_->fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        drained_ += size_t(n);
        if (drained_ >= owner_.limits_.drain_bytes) return 0;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return EPOLLIN;
      return 0;  // end of stream (the client closed after reading) or an error
    }
  }

  void on_io(uint32_t) override {
    uint32_t want = step();
    if (want == 0) {
      owner_.finish(fd());  // destroys this: nothing may follow
      return;
    }
    (void)owner_.loop_.modify(fd(), want);
  }

 private:
  Linger& owner_;
  std::unique_ptr<net::Transport> t_;
  OutQueue out_;
  size_t drained_ = 0;
  bool layer_shut_ = false;
  bool write_shut_ = false;
};

Linger::Linger(net::EventLoop& loop) : loop_(loop) {}
Linger::Linger(net::EventLoop& loop, Limits limits) : loop_(loop), limits_(limits) {}
Linger::~Linger() { close_all(); }

void Linger::adopt(std::unique_ptr<net::Transport> transport, OutQueue pending) {
  if (!transport || transport->fd() < 0) return;
  if (sockets_.size() >= limits_.max_sockets) {
    // Over the limit: one attempt at the last bytes, then close as before lingering existed.
    (void)pending.write_to(*transport);
    transport->shutdown();
    transport->close();
    return;
  }
  int fd = transport->fd();
  auto sock = std::make_unique<Socket>(*this, std::move(transport), std::move(pending));
  uint32_t want = sock->step();
  if (want == 0) {
    sock->transport().close();
    return;
  }
  if (!loop_.add(fd, want, sock.get()).ok()) {
    sock->transport().close();
    return;
  }
  sock->timer = loop_.add_timer_in(limits_.timeout_ms, [this, fd] {
    auto it = sockets_.find(fd);
    if (it != sockets_.end()) it->second->timer = 0;
    finish(fd);
  });
  sockets_.emplace(fd, std::move(sock));
}

void Linger::finish(int fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return;
  std::unique_ptr<Socket> sock = std::move(it->second);
  sockets_.erase(it);
  if (sock->timer) loop_.cancel_timer(sock->timer);
  loop_.remove(fd);
  sock->transport().close();
}

void Linger::close_all() {
  while (!sockets_.empty()) finish(sockets_.begin()->first);
}

}  // namespace mq::broker
