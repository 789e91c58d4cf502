#include "net/tcp_transport.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace mq::net {

namespace {

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

IoResult TcpTransport::read(void* buf, size_t len) {
  if (!fd_) return IoResult::error(EBADF);
  if (len == 0) return IoResult::would_block();
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, len, 0);
    if (n > 0) return IoResult::ok(size_t(n));
    if (n == 0) return IoResult::closed();
    if (errno == EINTR) continue;
    if (would_block(errno)) return IoResult::would_block();
    return IoResult::error(errno);
  }
}

IoResult TcpTransport::writev(const iovec* iov, int iovcnt) {
  if (!fd_) return IoResult::error(EBADF);
  if (iovcnt <= 0) return IoResult::ok(0);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = size_t(iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
  for (;;) {
    ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n >= 0) return IoResult::ok(size_t(n));
    if (errno == EINTR) continue;
    if (would_block(errno)) return IoResult::would_block();
    return IoResult::error(errno);
  }
}

uint32_t TcpTransport::wanted_events(bool want_read, bool want_write) const {
  return (want_read ? uint32_t(EPOLLIN) : 0u) | (want_write ? uint32_t(EPOLLOUT) : 0u);
}

void TcpTransport::shutdown() {
  if (fd_) (void)::shutdown(fd_.get(), SHUT_WR);
}

std::string TcpTransport::error_text(const IoResult& r) const {
  if (r.status == IoStatus::kClosed) return "Connection closed by peer";
  if (r.status != IoStatus::kError) return "";
  return r.sys_errno ? strerror(r.sys_errno) : "unknown error";
}

}  // namespace mq::net
