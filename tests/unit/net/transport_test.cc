#include "net/tcp_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <numeric>

#include "net/connect.h"
#include "net/listener.h"
#include "net_test_util.h"

namespace mq::net {
namespace {

using testing::FnHandler;
using testing::run_until;

// A connected loopback TCP pair: client side and accepted server side, both nonblocking.
struct TcpPair {
  std::unique_ptr<TcpTransport> client, server;
};

TcpPair make_tcp_pair() {
  TcpPair p;
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  EXPECT_TRUE(socks.ok());
  if (!socks.ok()) return p;
  ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = (*socks)[0].port();
  o.timeout_ms = 2000;
  auto c = connect_blocking(o);
  EXPECT_TRUE(c.ok());
  if (!c.ok()) return p;
  int s = -1;
  for (int i = 0; i < 200 && s < 0; ++i) {  // the connection is already queued; bounded anyway
    s = accept4((*socks)[0].fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0) usleep(1000);
  }
  EXPECT_GE(s, 0);
  auto peer = peer_address(s);
  p.client = std::make_unique<TcpTransport>(std::move(*c), describe_connection(o));
  p.server = std::make_unique<TcpTransport>(UniqueFd(s), peer.ok() ? peer->to_string() : "");
  return p;
}

TEST(TcpTransport, ReadWriteAndWouldBlock) {
  TcpPair p = make_tcp_pair();
  ASSERT_TRUE(p.client && p.server);
  EXPECT_STREQ(p.client->name(), "tcp");
  EXPECT_TRUE(p.client->handshake().is_ok());
  EXPECT_TRUE(p.client->handshake_done());
  EXPECT_EQ(p.server->peer_address().rfind("127.0.0.1:", 0), 0u);

  char buf[64];
  IoResult r = p.server->read(buf, sizeof buf);
  EXPECT_EQ(r.status, IoStatus::kWouldBlock);

  const char hello[] = "hello, ";
  const char world[] = "world";
  iovec iov[2] = {{const_cast<char*>(hello), strlen(hello)},
                  {const_cast<char*>(world), strlen(world)}};
  r = p.client->writev(iov, 2);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.bytes, 12u);

  std::string got;
  auto loop = EventLoop::create(SystemClock::instance());
  ASSERT_TRUE(loop.ok());
  FnHandler h([&](uint32_t) {
    for (;;) {
      IoResult rr = p.server->read(buf, sizeof buf);
      if (!rr.is_ok()) break;
      got.append(buf, rr.bytes);
    }
  });
  ASSERT_TRUE((*loop)->add(p.server->fd(), p.server->wanted_events(true, false), &h).ok());
  EXPECT_TRUE(run_until(**loop, [&] { return got.size() == 12; }, 2000));
  EXPECT_EQ(got, "hello, world");
  (*loop)->remove(p.server->fd());
}

TEST(TcpTransport, WantedEventsFollowTheCaller) {
  TcpTransport t(UniqueFd(), "x");
  EXPECT_EQ(t.wanted_events(false, false), 0u);
  EXPECT_EQ(t.wanted_events(true, false), uint32_t(EPOLLIN));
  EXPECT_EQ(t.wanted_events(true, true), uint32_t(EPOLLIN | EPOLLOUT));
  char c;
  EXPECT_EQ(t.read(&c, 1).status, IoStatus::kError);  // closed transport
  EXPECT_TRUE(t.flush().is_ok());
}

TEST(TcpTransport, PeerCloseIsDetected) {
  TcpPair p = make_tcp_pair();
  ASSERT_TRUE(p.client && p.server);
  iovec iov{const_cast<char*>("bye"), 3};
  ASSERT_TRUE(p.client->writev(&iov, 1).is_ok());
  p.client->close();
  EXPECT_EQ(p.client->fd(), -1);

  auto loop = EventLoop::create(SystemClock::instance());
  ASSERT_TRUE(loop.ok());
  std::string got;
  bool closed = false;
  FnHandler h([&](uint32_t) {
    char buf[16];
    for (;;) {
      IoResult r = p.server->read(buf, sizeof buf);
      if (r.is_ok()) {
        got.append(buf, r.bytes);
        continue;
      }
      if (r.status == IoStatus::kClosed) closed = true;
      break;
    }
  });
  ASSERT_TRUE((*loop)->add(p.server->fd(), EPOLLIN, &h).ok());
  EXPECT_TRUE(run_until(**loop, [&] { return closed; }, 2000));
  EXPECT_EQ(got, "bye");
  (*loop)->remove(p.server->fd());

  // Writing to the closed peer fails with EPIPE or ECONNRESET, never SIGPIPE.
  IoResult w;
  for (int i = 0; i < 100; ++i) {
    w = p.server->writev(&iov, 1);
    if (w.status == IoStatus::kError) break;
  }
  EXPECT_EQ(w.status, IoStatus::kError);
  EXPECT_TRUE(w.sys_errno == EPIPE || w.sys_errno == ECONNRESET) << w.sys_errno;
  EXPECT_FALSE(p.server->error_text(w).empty());
}

TEST(TcpTransport, PartialWritesWithSmallSendBuffer) {
  TcpPair p = make_tcp_pair();
  ASSERT_TRUE(p.client && p.server);
  int small = 65536;
  ASSERT_EQ(setsockopt(p.client->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);

  // Three buffers, 1.5 MB in all, with a recognisable pattern.
  std::vector<std::string> parts = {std::string(500'000, '\0'), std::string(700'000, '\0'),
                                    std::string(300'000, '\0')};
  std::string expected;
  uint32_t x = 1;
  for (auto& part : parts) {
    for (char& c : part) {
      x = x * 1103515245 + 12345;
      c = char(x >> 24);
    }
    expected += part;
  }
  size_t sent = 0;
  IoResult first;
  {
    iovec iov[3];
    for (size_t i = 0; i < 3; ++i) iov[i] = {parts[i].data(), parts[i].size()};
    first = p.client->writev(iov, 3);
  }
  ASSERT_TRUE(first.is_ok());
  EXPECT_GT(first.bytes, 0u);
  EXPECT_LT(first.bytes, expected.size()) << "expected a partial write";
  sent = first.bytes;

  // Pump both sides through the loop: the writer arms EPOLLOUT only while it has data left.
  auto loop_r = EventLoop::create(SystemClock::instance());
  ASSERT_TRUE(loop_r.ok());
  EventLoop& loop = **loop_r;
  std::string received;
  int would_blocks = 0;
  FnHandler writer([&](uint32_t) {
    while (sent < expected.size()) {
      iovec iov{expected.data() + sent, expected.size() - sent};
      IoResult r = p.client->writev(&iov, 1);
      if (r.status == IoStatus::kWouldBlock) {
        ++would_blocks;
        break;
      }
      ASSERT_TRUE(r.is_ok());
      sent += r.bytes;
    }
    bool more = sent < expected.size();
    ASSERT_TRUE(loop.modify(p.client->fd(), p.client->wanted_events(false, more)).ok());
  });
  FnHandler reader([&](uint32_t) {
    char buf[8192];
    for (;;) {
      IoResult r = p.server->read(buf, sizeof buf);
      if (!r.is_ok()) break;
      received.append(buf, r.bytes);
    }
  });
  ASSERT_TRUE(loop.add(p.client->fd(), p.client->wanted_events(false, true), &writer).ok());
  ASSERT_TRUE(loop.add(p.server->fd(), p.server->wanted_events(true, false), &reader).ok());
  EXPECT_TRUE(run_until(loop, [&] { return received.size() == expected.size(); }, 10'000));
  EXPECT_EQ(sent, expected.size());
  EXPECT_GT(would_blocks, 0);
  EXPECT_TRUE(received == expected);
  EXPECT_EQ(loop.events_of(p.client->fd()), 0u);  // EPOLLOUT disarmed once drained
  loop.remove(p.client->fd());
  loop.remove(p.server->fd());
}

TEST(TcpTransport, WorksOverUnixSocketPair) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  TcpTransport a(UniqueFd(sv[0]), "a", true), b(UniqueFd(sv[1]), "b", true);
  EXPECT_STREQ(a.name(), "unix");
  iovec iov{const_cast<char*>("ping"), 4};
  ASSERT_EQ(a.writev(&iov, 1).bytes, 4u);
  char buf[8];
  IoResult r = b.read(buf, sizeof buf);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::string(buf, r.bytes), "ping");
  a.shutdown();
  EXPECT_EQ(b.read(buf, sizeof buf).status, IoStatus::kClosed);
}

}  // namespace
}  // namespace mq::net
