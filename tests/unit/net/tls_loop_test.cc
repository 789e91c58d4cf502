// TlsTransport over real loopback TCP inside an EventLoop, re-arming epoll with wanted_events()
// after every call as a connection does; and interop with the openssl command-line client
// (the library Mosquitto's own clients use), when it is installed.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "net/connect.h"
#include "net/listener.h"
#include "net_test_util.h"
#include "tls_test_util.h"

extern char** environ;

namespace mq::net {
namespace {

using testing::FnHandler;
using testing::run_until;

// Starts `args` with stdin/stdout on pipes (stderr to /dev/null); -1 when it cannot.
pid_t spawn(const std::vector<std::string>& args, int* to_child, int* from_child) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return -1;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(in_pipe[0]);
  close(out_pipe[1]);
  *to_child = in_pipe[1];
  *from_child = out_pipe[0];
  return pid;
}

void end_child(pid_t pid, int to_child, int from_child) {
  close(to_child);
  close(from_child);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

class TlsLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir();
    testing::TestPki pki(dir_);
    pki.make_ca("ca");
    pki.make_server("server", "broker.local", {"localhost"}, {"127.0.0.1", "::1"});
    pki.make_client("alice", "alice", "mq");
    auto loop = EventLoop::create(SystemClock::instance());
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string f(const std::string& n) { return dir_ + "/" + n; }

  std::string dir_;
  std::unique_ptr<EventLoop> loop_;
};

// One side of an echo exchange: drives handshake, reads everything, writes `out` (server:
// echoes what it read), and re-arms epoll from wanted_events() after every pass.
struct Side {
  std::unique_ptr<Transport> t;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool echo = false;
  bool failed = false;
  std::string error;
  EventLoop* loop = nullptr;

  void pass() {
    if (failed) return;
    if (!t->handshake_done()) {
      IoResult r = t->handshake();
      if (r.status == IoStatus::kWouldBlock) return rearm();
      if (!r.is_ok()) return fail(r);
    }
    char buf[4096];
    for (;;) {
      IoResult r = t->read(buf, sizeof buf);
      if (r.status == IoStatus::kWouldBlock) break;
      if (!r.is_ok()) return fail(r);
      in.append(buf, r.bytes);
      if (echo) out.append(buf, r.bytes);
    }
    while (sent < out.size()) {
      iovec iov{out.data() + sent, out.size() - sent};
      IoResult r = t->writev(&iov, 1);
      if (r.status == IoStatus::kWouldBlock) break;
      if (!r.is_ok()) return fail(r);
      sent += r.bytes;
    }
    if (t->flush().status == IoStatus::kError) failed = true;
    rearm();
  }
  void rearm() { (void)loop->modify(t->fd(), t->wanted_events(true, sent < out.size())); }
  void fail(const IoResult& r) {
    failed = true;
    error = t->error_text(r);
  }
};

TEST_F(TlsLoopTest, EchoOverLoopbackTcp) {
  for (const char* host : {"127.0.0.1", "::1"}) {
    auto socks = listen_tcp({.host = host, .port = 0});
    if (!socks.ok()) {
      EXPECT_STREQ(host, "::1") << socks.error().to_string();  // no IPv6 here: skip that part
      continue;
    }
    ConnectOptions o;
    o.host = host;
    o.port = (*socks)[0].port();
    o.timeout_ms = 2000;
    auto c = connect_blocking(o);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    int s = -1;
    for (int i = 0; i < 200 && s < 0; ++i) {
      s = accept4((*socks)[0].fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (s < 0) usleep(1000);
    }
    ASSERT_GE(s, 0);

    TlsServerOptions so;
    so.certfile = f("server.crt");
    so.keyfile = f("server.key");
    so.cafile = f("ca.crt");
    so.require_certificate = true;
    so.alpn = {"mqtt"};
    TlsClientOptions co;
    co.cafile = f("ca.crt");
    co.certfile = f("alice.crt");
    co.keyfile = f("alice.key");
    co.alpn = {"mqtt"};
    auto sctx = TlsContext::server(so);
    auto cctx = TlsContext::client(co);
    ASSERT_TRUE(sctx.ok() && cctx.ok());

    Side client, server;
    client.loop = server.loop = loop_.get();
    client.t = std::make_unique<TlsTransport>(std::make_unique<TcpTransport>(std::move(*c), "srv"),
                                              *cctx, host);
    server.t =
        std::make_unique<TlsTransport>(std::make_unique<TcpTransport>(UniqueFd(s), "cli"), *sctx);
    server.echo = true;
    client.out.resize(300000);
    for (size_t i = 0; i < client.out.size(); ++i) client.out[i] = char('a' + i % 23);
    FnHandler ch([&](uint32_t) { client.pass(); });
    FnHandler sh([&](uint32_t) { server.pass(); });
    ASSERT_TRUE(loop_->add(client.t->fd(), client.t->wanted_events(true, true), &ch).ok());
    ASSERT_TRUE(loop_->add(server.t->fd(), server.t->wanted_events(true, false), &sh).ok());
    client.pass();
    EXPECT_TRUE(run_until(*loop_, [&] {
      return client.failed || server.failed || client.in.size() >= client.out.size();
    }));
    EXPECT_FALSE(client.failed) << client.error;
    EXPECT_FALSE(server.failed) << server.error;
    EXPECT_TRUE(client.in == client.out) << host;
    auto* tls = static_cast<const TlsTransport*>(server.t->tls());
    ASSERT_NE(tls, nullptr);
    EXPECT_EQ(tls->peer_common_name(), "alice");
    EXPECT_EQ(tls->alpn_protocol(), "mqtt");
    loop_->remove(client.t->fd());
    loop_->remove(server.t->fd());
  }
}

// `openssl s_client` (an ALPN we do not know first, and its own cipher list) against our
// server with TLS 1.3 and with TLS 1.2; the server answers "pong" to "ping".
TEST_F(TlsLoopTest, OpensslClientInterop) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl command";
  for (auto [flag, version] : {std::pair{"-tls1_3", "TLSv1.3"}, std::pair{"-tls1_2", "TLSv1.2"}}) {
    SCOPED_TRACE(flag);
    auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
    ASSERT_TRUE(socks.ok());
    TlsServerOptions so;
    so.certfile = f("server.crt");
    so.keyfile = f("server.key");
    so.cafile = f("ca.crt");
    so.require_certificate = true;
    so.alpn = {"mqtt"};
    auto sctx = TlsContext::server(so);
    ASSERT_TRUE(sctx.ok());

    std::string port = std::to_string((*socks)[0].port());
    int to_child = -1, from_child = -1;
    pid_t pid = spawn({"openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + port, "-CAfile",
                       f("ca.crt"), "-cert", f("alice.crt"), "-key", f("alice.key"), "-alpn",
                       "x-other,mqtt", "-verify_return_error", "-servername", "localhost", flag},
                      &to_child, &from_child);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(write(to_child, "ping\n", 5), 5);

    int s = -1;
    std::unique_ptr<TlsTransport> t;
    std::string got, error;
    bool answered = false;
    FnHandler accept_h([&](uint32_t) {
      s = accept4((*socks)[0].fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    ASSERT_TRUE(loop_->add((*socks)[0].fd.get(), EPOLLIN, &accept_h).ok());
    ASSERT_TRUE(run_until(*loop_, [&] { return s >= 0; }));
    loop_->remove((*socks)[0].fd.get());
    t = std::make_unique<TlsTransport>(std::make_unique<TcpTransport>(UniqueFd(s), "openssl"),
                                       *sctx);
    FnHandler h([&](uint32_t) {
      if (!t->handshake_done()) {
        IoResult r = t->handshake();
        if (r.status == IoStatus::kError) error = t->error_text(r);
        if (!r.is_ok()) return (void)loop_->modify(t->fd(), t->wanted_events(true, false));
      }
      char buf[64];
      IoResult r;
      while ((r = t->read(buf, sizeof buf)).is_ok()) got.append(buf, r.bytes);
      if (got.find("ping\n") != std::string::npos && !answered) {
        iovec iov{const_cast<char*>("pong\n"), 5};
        answered = t->writev(&iov, 1).is_ok();
      }
      (void)loop_->modify(t->fd(), t->wanted_events(true, false));
    });
    ASSERT_TRUE(loop_->add(t->fd(), t->wanted_events(true, false), &h).ok());
    EXPECT_TRUE(run_until(*loop_, [&] { return answered || !error.empty(); }));
    EXPECT_EQ(error, "");
    EXPECT_EQ(t->peer_subject_rfc2253(), "CN=alice,O=mq");
    EXPECT_EQ(t->alpn_protocol(), "mqtt");
    EXPECT_EQ(t->protocol_version(), version);
    // s_client prints what it received; read it (bounded) before ending it.
    std::string printed;
    fcntl(from_child, F_SETFL, O_NONBLOCK);
    run_until(
        *loop_,
        [&] {
          char buf[64];
          ssize_t n = read(from_child, buf, sizeof buf);
          if (n > 0) printed.append(buf, size_t(n));
          return printed.find("pong") != std::string::npos;
        },
        3000);
    EXPECT_THAT(printed, ::testing::HasSubstr("pong"));
    loop_->remove(t->fd());
    t->shutdown();
    end_child(pid, to_child, from_child);
  }
}

// tls_version is the lowest version allowed. mbedTLS 3.6 has no TLS 1.1: a client limited to
// it is refused even with tls_version tlsv1.1 (accepted, as Mosquitto accepts it), and a
// tlsv1.3 listener refuses a TLS 1.2 client.
TEST_F(TlsLoopTest, ProtocolVersionFromOpensslClient) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl command";
  struct Case {
    const char *tls_version, *client_flag, *negotiated;  // "" = refused
  } cases[] = {{"", "-tls1_1", ""},
               {"tlsv1.1", "-tls1_1", ""},
               {"tlsv1.3", "-tls1_2", ""},
               {"tlsv1.3", "-tls1_3", "TLSv1.3"},
               {"tlsv1.1", "-tls1_2", "TLSv1.2"}};
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.tls_version) + " " + k.client_flag);
    auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
    ASSERT_TRUE(socks.ok());
    TlsServerOptions so;
    so.certfile = f("server.crt");
    so.keyfile = f("server.key");
    so.tls_version = k.tls_version;
    auto sctx = TlsContext::server(so);
    ASSERT_TRUE(sctx.ok()) << sctx.error().to_string();
    int to_child = -1, from_child = -1;
    pid_t pid = spawn({"openssl", "s_client", "-quiet", "-connect",
                       "127.0.0.1:" + std::to_string((*socks)[0].port()), k.client_flag, "-cipher",
                       "DEFAULT@SECLEVEL=0", "-CAfile", f("ca.crt")},
                      &to_child, &from_child);
    ASSERT_GT(pid, 0);
    int s = -1;
    FnHandler accept_h([&](uint32_t) {
      s = accept4((*socks)[0].fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    ASSERT_TRUE(loop_->add((*socks)[0].fd.get(), EPOLLIN, &accept_h).ok());
    ASSERT_TRUE(run_until(*loop_, [&] { return s >= 0; }));
    loop_->remove((*socks)[0].fd.get());
    TlsTransport t(std::make_unique<TcpTransport>(UniqueFd(s), "openssl"), *sctx);
    IoResult r = IoResult::would_block();
    FnHandler h([&](uint32_t) {
      r = t.handshake();
      (void)loop_->modify(t.fd(), t.wanted_events(true, false));
    });
    ASSERT_TRUE(loop_->add(t.fd(), t.wanted_events(true, false), &h).ok());
    EXPECT_TRUE(run_until(*loop_, [&] { return r.status != IoStatus::kWouldBlock; }));
    loop_->remove(t.fd());
    if (*k.negotiated) {
      EXPECT_TRUE(r.is_ok()) << t.error_text(r);
      EXPECT_EQ(t.protocol_version(), k.negotiated);
    } else {
      ASSERT_EQ(r.status, IoStatus::kError);
      EXPECT_EQ(t.error_text(r), "unsupported protocol version");
    }
    end_child(pid, to_child, from_child);
  }
}

}  // namespace
}  // namespace mq::net
