// Linger over a socketpair: the last bytes arrive, then the FIN; input is drained and dropped;
// the socket is closed when the peer closes, when the drain budget is spent, or when the
// (fake) clock passes the timeout.
#include "broker/linger.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "base/clock.h"
#include "net/tcp_transport.h"

namespace mq::broker {
namespace {

class LingerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = net::EventLoop::create(clock_);
    ASSERT_TRUE(l.ok());
    loop_ = std::move(*l);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ours_ = sv[0];
    peer_ = sv[1];
  }
  void TearDown() override {
    if (peer_ >= 0) close(peer_);
  }
  std::unique_ptr<net::Transport> transport() {
    return std::make_unique<net::TcpTransport>(net::UniqueFd(ours_), "peer", true);
  }
  // Everything the peer can read now; sets *eof when the stream ended.
  std::string peer_read(bool* eof) {
    std::string got;
    char buf[4096];
    *eof = false;
    for (;;) {
      ssize_t n = recv(peer_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got.append(buf, size_t(n));
        continue;
      }
      *eof = n == 0;
      return got;
    }
  }
  bool ours_open() const { return fcntl(ours_, F_GETFD) != -1; }

  FakeClock clock_;
  std::unique_ptr<net::EventLoop> loop_;
  int ours_ = -1;
  int peer_ = -1;
};

TEST_F(LingerTest, WritesLastBytesThenFinAndClosesWhenPeerCloses) {
  Linger linger(*loop_);
  ASSERT_EQ(send(peer_, "unread input", 12, 0), 12);  // would make close() send a reset
  OutQueue out;
  out.append("DISCONNECT");
  linger.adopt(transport(), std::move(out));
  loop_->run_once(0);
  bool eof = false;
  EXPECT_EQ(peer_read(&eof), "DISCONNECT");
  EXPECT_TRUE(eof) << "the write side is shut down after the last bytes";
  EXPECT_EQ(linger.size(), 1u);
  EXPECT_TRUE(ours_open());
  // The peer keeps sending: drained and dropped, still open.
  ASSERT_EQ(send(peer_, "more", 4, 0), 4);
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 1u);
  close(peer_);
  peer_ = -1;
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 0u);
  EXPECT_FALSE(ours_open());
  EXPECT_EQ(loop_->timer_count(), 0u) << "its timer is cancelled";
}

TEST_F(LingerTest, ClosesAtTheTimeoutWhenThePeerStaysOpen) {
  Linger linger(*loop_, Linger::Limits{500, 1024, 8});
  linger.adopt(transport(), OutQueue());
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 1u);
  clock_.advance_ms(499);
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 1u);
  clock_.advance_ms(1);
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 0u);
  EXPECT_FALSE(ours_open());
}

TEST_F(LingerTest, ClosesOnceTheDrainBudgetIsSpent) {
  Linger linger(*loop_, Linger::Limits{10'000, 100, 8});
  linger.adopt(transport(), OutQueue());
  loop_->run_once(0);
  std::string junk(99, 'x');
  ASSERT_EQ(send(peer_, junk.data(), junk.size(), 0), 99);
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 1u);
  ASSERT_EQ(send(peer_, "xx", 2, 0), 2);
  loop_->run_once(0);
  EXPECT_EQ(linger.size(), 0u);
}

TEST_F(LingerTest, OverTheLimitClosesAtOnceAfterOneWrite) {
  Linger linger(*loop_, Linger::Limits{10'000, 1024, 0});
  OutQueue out;
  out.append("CONNACK");
  linger.adopt(transport(), std::move(out));
  EXPECT_EQ(linger.size(), 0u);
  EXPECT_FALSE(ours_open());
  bool eof = false;
  EXPECT_EQ(peer_read(&eof), "CONNACK");
  EXPECT_TRUE(eof);
}

TEST_F(LingerTest, PeerAlreadyGoneClosesAtOnce) {
  Linger linger(*loop_);
  close(peer_);
  peer_ = -1;
  linger.adopt(transport(), OutQueue());
  EXPECT_EQ(linger.size(), 0u);
  EXPECT_FALSE(ours_open());
}

}  // namespace
}  // namespace mq::broker
