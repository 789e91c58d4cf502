#include "net/listener.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "base/log.h"
#include "net/connect.h"
#include "net_test_util.h"

namespace mq::net {
namespace {

using testing::run_until;

struct Accepted {
  std::vector<UniqueFd> fds;
  std::vector<std::string> peers;
};

Acceptor::OnAccept collect(Accepted* out) {
  return [out](UniqueFd fd, std::string peer) {
    out->fds.push_back(std::move(fd));
    out->peers.push_back(std::move(peer));
  };
}

std::unique_ptr<EventLoop> new_loop() {
  auto loop = EventLoop::create(SystemClock::instance());
  EXPECT_TRUE(loop.ok());
  return std::move(*loop);
}

UniqueFd connect_to(const std::string& host, uint16_t port) {
  ConnectOptions o;
  o.host = host;
  o.port = port;
  o.timeout_ms = 2000;
  auto fd = connect_blocking(o);
  EXPECT_TRUE(fd.ok()) << (fd.ok() ? "" : fd.error().to_string());
  return fd.ok() ? std::move(*fd) : UniqueFd();
}

TEST(Listener, EphemeralPortAcceptsAConnection) {
  auto loop = new_loop();
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(socks.ok()) << socks.error().to_string();
  ASSERT_EQ(socks->size(), 1u);
  uint16_t port = (*socks)[0].port();
  EXPECT_NE(port, 0);
  EXPECT_EQ((*socks)[0].address.to_string(), "127.0.0.1:" + std::to_string(port));
  int flags = fcntl((*socks)[0].fd.get(), F_GETFL);
  EXPECT_TRUE(flags & O_NONBLOCK);
  EXPECT_TRUE(fcntl((*socks)[0].fd.get(), F_GETFD) & FD_CLOEXEC);

  Accepted acc;
  Acceptor acceptor(*loop, std::move((*socks)[0]), collect(&acc));
  ASSERT_TRUE(acceptor.start().ok());
  UniqueFd client = connect_to("127.0.0.1", port);
  ASSERT_TRUE(run_until(*loop, [&] { return acc.fds.size() == 1; }));
  auto local = local_address(client.get());
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(acc.peers[0], local->to_string());  // "127.0.0.1:<client port>"
  EXPECT_EQ(acc.peers[0].rfind("127.0.0.1:", 0), 0u);
  EXPECT_TRUE(fcntl(acc.fds[0].get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(acc.fds[0].get(), F_GETFD) & FD_CLOEXEC);
}

TEST(Listener, BatchAcceptsManyPendingConnections) {
  auto loop = new_loop();
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(socks.ok());
  uint16_t port = (*socks)[0].port();
  Accepted acc;
  Acceptor acceptor(*loop, std::move((*socks)[0]), collect(&acc), {.batch = 4});
  ASSERT_TRUE(acceptor.start().ok());
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(connect_to("127.0.0.1", port));
  ASSERT_TRUE(run_until(*loop, [&] { return acc.fds.size() == 10; }));
  EXPECT_EQ(acceptor.accepted(), 10u);
}

TEST(Listener, Ipv6LoopbackWhenAvailable) {
  auto socks = listen_tcp({.host = "::1", .port = 0});
  if (!socks.ok()) GTEST_SKIP() << "no IPv6 loopback: " << socks.error().to_string();
  auto loop = new_loop();
  uint16_t port = (*socks)[0].port();
  Accepted acc;
  Acceptor acceptor(*loop, std::move((*socks)[0]), collect(&acc));
  ASSERT_TRUE(acceptor.start().ok());
  UniqueFd client = connect_to("::1", port);
  ASSERT_TRUE(run_until(*loop, [&] { return acc.fds.size() == 1; }));
  auto local = local_address(client.get());
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(acc.peers[0], "::1:" + std::to_string(local->port()));  // Mosquitto's format
}

TEST(Listener, AllAddressesShareTheEphemeralPort) {
  auto socks = listen_tcp({.host = "", .port = 0});
  ASSERT_TRUE(socks.ok()) << socks.error().to_string();
  ASSERT_GE(socks->size(), 1u);
  EXPECT_EQ((*socks)[0].address.host(), "0.0.0.0");
  uint16_t port = (*socks)[0].port();
  if (socks->size() == 2) {
    EXPECT_EQ((*socks)[1].address.host(), "::");
    EXPECT_EQ((*socks)[1].port(), port);
  }
  auto loop = new_loop();
  Accepted acc;
  Acceptor acceptor(*loop, std::move((*socks)[0]), collect(&acc));
  ASSERT_TRUE(acceptor.start().ok());
  UniqueFd client = connect_to("127.0.0.1", port);
  EXPECT_TRUE(run_until(*loop, [&] { return acc.fds.size() == 1; }));
}

TEST(Listener, SocketDomainFiltersFamilies) {
  auto v4 = listen_tcp({.host = "", .port = 0, .domain = SocketDomain::kIpv4});
  ASSERT_TRUE(v4.ok());
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].address.family(), AF_INET);
  auto none = listen_tcp({.host = "127.0.0.1", .port = 0, .domain = SocketDomain::kIpv6});
  EXPECT_FALSE(none.ok());
}

TEST(Listener, ResolveLocalhostForLocalOnlyMode) {
  auto addrs = resolve_listen_addresses("localhost", 1883, SocketDomain::kAny);
  ASSERT_TRUE(addrs.ok());
  ASSERT_EQ(addrs->size(), 2u);
  EXPECT_EQ((*addrs)[0].to_string(), "127.0.0.1:1883");
  EXPECT_EQ((*addrs)[1].to_string(), "::1:1883");
  auto v4 = resolve_listen_addresses("localhost", 1883, SocketDomain::kIpv4);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->size(), 1u);
  auto bad = resolve_listen_addresses("300.1.2.3.invalid", 1, SocketDomain::kAny);
  EXPECT_FALSE(bad.ok());
}

TEST(Listener, BindConflictIsAnError) {
  auto first = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(first.ok());
  auto second = listen_tcp({.host = "127.0.0.1", .port = (*first)[0].port()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kIo);
  EXPECT_NE(second.error().context.find("Address already in use"), std::string::npos);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mq-net-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    (void)!system(cmd.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Listener, UnixSocketReplacesStaleFile) {
  TempDir dir;
  std::string path = dir.path() + "/mq.sock";
  {
    auto stale = listen_unix(path);
    ASSERT_TRUE(stale.ok()) << stale.error().to_string();
  }  // closed, the file stays behind
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);

  auto sock = listen_unix(path);
  ASSERT_TRUE(sock.ok()) << sock.error().to_string();
  EXPECT_TRUE(sock->is_unix());
  EXPECT_EQ(sock->port(), 0);
  auto loop = new_loop();
  Accepted acc;
  Acceptor acceptor(*loop, std::move(*sock), collect(&acc));
  ASSERT_TRUE(acceptor.start().ok());

  ConnectOptions o;
  o.unix_path = path;
  auto client = connect_blocking(o);
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  ASSERT_TRUE(run_until(*loop, [&] { return acc.fds.size() == 1; }));
  EXPECT_EQ(acc.peers[0], path);

  // A regular file at the path is not ours to remove.
  std::string file = dir.path() + "/plain";
  UniqueFd f(open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  EXPECT_FALSE(listen_unix(file).ok());
}

// Lowers RLIMIT_NOFILE for the test's duration, restored on scope exit.
class FdLimit {
 public:
  FdLimit() { getrlimit(RLIMIT_NOFILE, &saved_); }
  ~FdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  bool lower_to(rlim_t n) {
    rlimit r = saved_;
    r.rlim_cur = n;
    return setrlimit(RLIMIT_NOFILE, &r) == 0;
  }

 private:
  rlimit saved_{};
};

TEST(Listener, AcceptBacksOffOnFdExhaustionWithoutSpinning) {
  auto loop = new_loop();
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(socks.ok());
  uint16_t port = (*socks)[0].port();
  Accepted acc;
  Acceptor acceptor(*loop, std::move((*socks)[0]), collect(&acc), {.batch = 64, .backoff_ms = 100});
  ASSERT_TRUE(acceptor.start().ok());

  std::vector<std::string> logs;
  logger().set_capture([&](std::string_view line) { logs.emplace_back(line); });
  uint64_t iterations = 0;
  loop->add_before_sleep([&] { ++iterations; });

  // Clients connect first (they complete in the kernel's backlog without an accept).
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connect_to("127.0.0.1", port));

  // Use up every descriptor below a lowered limit.
  std::vector<UniqueFd> fillers;
  {
    FdLimit limit;
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(probe, 0);
    ::close(probe);
    ASSERT_TRUE(limit.lower_to(rlim_t(probe) + 8));
    for (;;) {
      int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fillers.emplace_back(fd);
    }
    ASSERT_EQ(errno, EMFILE);

    // A bounded window of 350 ms: a spinning acceptor would iterate thousands of times; with a
    // 100 ms back-off we expect about one wakeup per back-off period.
    int64_t start = SystemClock::instance().now_ms();
    while (SystemClock::instance().now_ms() - start < 350) loop->run_once(50);
    EXPECT_TRUE(acc.fds.empty());
    EXPECT_LT(iterations, 40u) << "acceptor spins on EMFILE";
    EXPECT_GE(iterations, 3u);
    int exhaustion_logs = 0;
    for (const auto& l : logs)
      if (l.find("Too many open files") != std::string::npos) ++exhaustion_logs;
    EXPECT_EQ(exhaustion_logs, 1) << "logged once per episode";

    fillers.clear();
  }  // limit restored
  EXPECT_TRUE(run_until(*loop, [&] { return acc.fds.size() == 3; }, 3000));
  EXPECT_FALSE(acceptor.backing_off());
  logger().set_capture(nullptr);
}

}  // namespace
}  // namespace mq::net
