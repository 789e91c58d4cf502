#include "net/connect.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "net/listener.h"
#include "net_test_util.h"

namespace mq::net {
namespace {

using testing::run_until;

TEST(Connect, ResolveHostNumericAndLocalhost) {
  auto v4 = resolve_host("127.0.0.1", 1883, SocketDomain::kAny);
  ASSERT_TRUE(v4.ok());
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].to_string(), "127.0.0.1:1883");
  auto local = resolve_host("localhost", 8883, SocketDomain::kIpv4);
  ASSERT_TRUE(local.ok()) << local.error().to_string();
  EXPECT_EQ((*local)[0].to_string(), "127.0.0.1:8883");
  EXPECT_FALSE(resolve_host("not a host name", 1, SocketDomain::kAny).ok());
}

TEST(Connect, BlockingWithBindAddressAndNodelay) {
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(socks.ok());
  ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = (*socks)[0].port();
  o.bind_address = "127.0.0.1";
  o.timeout_ms = 2000;
  auto fd = connect_blocking(o);
  ASSERT_TRUE(fd.ok()) << fd.error().to_string();
  int v = 0;
  socklen_t len = sizeof v;
  ASSERT_EQ(getsockopt(fd->get(), IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
  EXPECT_NE(v, 0);
  EXPECT_TRUE(fcntl(fd->get(), F_GETFL) & O_NONBLOCK);
  auto local = local_address(fd->get());
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->host(), "127.0.0.1");
}

uint16_t unused_port() {
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  EXPECT_TRUE(socks.ok());
  return socks.ok() ? (*socks)[0].port() : 1;  // closed again on return
}

TEST(Connect, BlockingRefused) {
  ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = unused_port();
  o.timeout_ms = 2000;
  auto fd = connect_blocking(o);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().context.find("refused"), std::string::npos) << fd.error().context;
}

TEST(Connect, AsyncConnectorSucceedsThroughTheLoop) {
  auto loop_r = EventLoop::create(SystemClock::instance());
  ASSERT_TRUE(loop_r.ok());
  EventLoop& loop = **loop_r;
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(socks.ok());
  Connector c(loop);
  bool done = false;
  UniqueFd got;
  ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = (*socks)[0].port();
  ASSERT_TRUE(c.start(o, [&](Result<UniqueFd> r) {
                 done = true;
                 ASSERT_TRUE(r.ok()) << r.error().to_string();
                 got = std::move(*r);
               }).ok());
  EXPECT_FALSE(done);  // never synchronously
  EXPECT_TRUE(c.in_progress());
  ASSERT_TRUE(run_until(loop, [&] { return done; }));
  EXPECT_TRUE(got.valid());
  EXPECT_FALSE(c.in_progress());
  EXPECT_FALSE(loop.registered(got.get()));
  EXPECT_EQ(loop.timer_count(), 0u);
}

TEST(Connect, AsyncConnectorReportsRefusalAndCancel) {
  auto loop_r = EventLoop::create(SystemClock::instance());
  ASSERT_TRUE(loop_r.ok());
  EventLoop& loop = **loop_r;
  ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = unused_port();
  auto c = std::make_unique<Connector>(loop);
  bool done = false;
  ASSERT_TRUE(c->start(o, [&](Result<UniqueFd> r) {
                 done = true;
                 EXPECT_FALSE(r.ok());
                 c.reset();  // destroying the connector from its callback is allowed
               }).ok());
  ASSERT_TRUE(run_until(loop, [&] { return done; }));
  EXPECT_EQ(c, nullptr);

  // Cancel: the callback never runs.
  auto socks = listen_tcp({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(socks.ok());
  o.port = (*socks)[0].port();
  Connector c2(loop);
  bool called = false;
  ASSERT_TRUE(c2.start(o, [&](Result<UniqueFd>) { called = true; }).ok());
  c2.cancel();
  for (int i = 0; i < 5; ++i) loop.run_once(10);
  EXPECT_FALSE(called);
  EXPECT_EQ(loop.timer_count(), 0u);
}

TEST(Connect, UnixSocketMissingPathFails) {
  ConnectOptions o;
  o.unix_path = "/nonexistent-dir-for-mq-test/sock";
  auto fd = connect_blocking(o);
  EXPECT_FALSE(fd.ok());
}

}  // namespace
}  // namespace mq::net
