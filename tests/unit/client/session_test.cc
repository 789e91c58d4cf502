// Session across a lost connection: what stays, what goes again on the next connection and how
// (DUP set, PUBREL again, first-sent order), and libmosquitto's error number for the loss. The
// broker's end is a Unix socket in the test, read and written as raw bytes.
#include "client/session.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "net/loop.h"

namespace mq::client {
namespace {

struct Recorder final : SessionListener {
  int connacks = 0;
  int closed = 0;
  bool closed_requested = false;
  std::string why;
  std::vector<uint16_t> published;
  void on_connack(uint8_t, const codec::Connack&) override { connacks++; }
  void on_message(const ReceivedMessage&) override {}
  void on_published(uint16_t mid) override { published.push_back(mid); }
  void on_closed(bool requested, const std::string& w) override {
    closed++;
    closed_requested = requested;
    why = w;
  }
};

class SessionReconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mq-session-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sock";
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listen_fd_, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    ASSERT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(listen(listen_fd_, 4), 0);
    auto loop = net::EventLoop::create(SystemClock::instance());
    ASSERT_TRUE(loop);
    loop_ = std::move(*loop);
    SessionConfig sc;
    sc.connect.unix_path = path_;
    sc.request.client_id = "t";
    sc.request.clean_start = false;
    session_ = std::make_unique<Session>(*loop_, std::move(sc), rec_);
  }

  void TearDown() override {
    session_.reset();
    if (peer_ >= 0) close(peer_);
    if (listen_fd_ >= 0) close(listen_fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  // connect() and accept the connection; reads CONNECT and answers CONNACK.
  void connect_and_accept(bool session_present) {
    ASSERT_TRUE(session_->connect());
    peer_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    ASSERT_GE(peer_, 0);
    std::string c = read_packet();
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(uint8_t(c[0]), 0x10);  // CONNECT
    int before = rec_.connacks;
    send_bytes(std::string("\x20\x02", 2) + char(session_present ? 1 : 0) + '\0');
    ASSERT_TRUE(run_until([&] { return rec_.connacks == before + 1; }));
  }

  // Runs the loop while reading one whole packet from the peer socket (empty on timeout).
  std::string read_packet() {
    for (int i = 0; i < 500; i++) {
      if (size_t n = whole_packet(); n) {
        std::string p = in_.substr(0, n);
        in_.erase(0, n);
        return p;
      }
      loop_->run_once(5);
      char buf[4096];
      ssize_t r = recv(peer_, buf, sizeof buf, 0);
      if (r > 0) in_.append(buf, size_t(r));
    }
    return {};
  }

  // The length of the first whole packet in in_, 0 if incomplete. Packets here are short.
  size_t whole_packet() const {
    if (in_.size() < 2) return 0;
    size_t len = uint8_t(in_[1]);
    EXPECT_LT(len, 128u);
    return in_.size() >= 2 + len ? 2 + len : 0;
  }

  void send_bytes(const std::string& b) {
    ASSERT_EQ(send(peer_, b.data(), b.size(), MSG_NOSIGNAL), ssize_t(b.size()));
  }

  void drop_peer() {
    close(peer_);
    peer_ = -1;
    in_.clear();
    int before = rec_.closed;
    ASSERT_TRUE(run_until([&] { return rec_.closed == before + 1; }));
  }

  bool run_until(const std::function<bool()>& pred) {
    for (int i = 0; i < 500 && !pred(); i++) loop_->run_once(5);
    return pred();
  }

  static uint16_t packet_id(const std::string& publish) {
    size_t topic_len = size_t(uint8_t(publish[2]) << 8 | uint8_t(publish[3]));
    return uint16_t(uint8_t(publish[4 + topic_len]) << 8 | uint8_t(publish[5 + topic_len]));
  }
  static std::string payload(const std::string& publish) {
    size_t topic_len = size_t(uint8_t(publish[2]) << 8 | uint8_t(publish[3]));
    return publish.substr(6 + topic_len);
  }
  static std::string ack(uint8_t first, uint16_t id) {
    return std::string{char(first), 2, char(id >> 8), char(id & 0xFF)};
  }

  std::string dir_, path_;
  int listen_fd_ = -1;
  int peer_ = -1;
  std::string in_;
  std::unique_ptr<net::EventLoop> loop_;
  Recorder rec_;
  std::unique_ptr<Session> session_;
};

TEST_F(SessionReconnectTest, QoS1InFlightGoesAgainWithDupWaitingOnesWithout) {
  connect_and_accept(false);
  uint16_t a = session_->publish("t", "a", 1, false, {});
  uint16_t b = session_->publish("t", "b", 1, false, {});
  std::string pa = read_packet(), pb = read_packet();
  EXPECT_EQ(uint8_t(pa[0]), 0x32);  // PUBLISH, QoS 1, DUP 0
  EXPECT_EQ(uint8_t(pb[0]), 0x32);
  EXPECT_EQ(packet_id(pa), a);
  EXPECT_EQ(packet_id(pb), b);

  drop_peer();
  EXPECT_FALSE(rec_.closed_requested);
  EXPECT_EQ(rec_.why, "The connection was lost.");
  EXPECT_EQ(session_->loss_code(), 7);  // MOSQ_ERR_CONN_LOST
  EXPECT_EQ(session_->unfinished_publishes(), 2u);
  uint16_t c = session_->publish("t", "c", 1, false, {});  // offline: waits, not sent
  EXPECT_EQ(session_->unfinished_publishes(), 3u);

  connect_and_accept(true);
  std::string ra = read_packet(), rb = read_packet(), rc = read_packet();
  EXPECT_EQ(uint8_t(ra[0]), 0x3A);  // PUBLISH, QoS 1, DUP 1 [MQTT-3.3.1-1]
  EXPECT_EQ(uint8_t(rb[0]), 0x3A);
  EXPECT_EQ(uint8_t(rc[0]), 0x32);  // never sent before: DUP 0
  EXPECT_EQ(packet_id(ra), a);
  EXPECT_EQ(packet_id(rb), b);
  EXPECT_EQ(packet_id(rc), c);
  EXPECT_EQ(payload(ra) + payload(rb) + payload(rc), "abc");
  EXPECT_TRUE(rec_.published.empty());
  send_bytes(ack(0x40, a) + ack(0x40, b) + ack(0x40, c));
  ASSERT_TRUE(run_until([&] { return rec_.published.size() == 3; }));
  EXPECT_EQ(session_->unfinished_publishes(), 0u);
}

TEST_F(SessionReconnectTest, QoS2PubrelOrPublishAgain) {
  connect_and_accept(false);
  uint16_t a = session_->publish("t", "a", 2, false, {});
  uint16_t b = session_->publish("t", "b", 2, false, {});
  EXPECT_EQ(uint8_t(read_packet()[0]), 0x34);  // PUBLISH, QoS 2
  EXPECT_EQ(uint8_t(read_packet()[0]), 0x34);
  send_bytes(ack(0x50, a));  // PUBREC for a only
  EXPECT_EQ(read_packet(), ack(0x62, a));  // PUBREL
  drop_peer();

  connect_and_accept(true);
  EXPECT_EQ(read_packet(), ack(0x62, a));  // PUBREL again [MQTT-4.4.0-1]
  std::string rb = read_packet();
  EXPECT_EQ(uint8_t(rb[0]), 0x3C);  // PUBLISH, QoS 2, DUP 1
  EXPECT_EQ(packet_id(rb), b);
  send_bytes(ack(0x70, a) + ack(0x50, b));  // PUBCOMP a, PUBREC b
  EXPECT_EQ(read_packet(), ack(0x62, b));
  send_bytes(ack(0x70, b));
  ASSERT_TRUE(run_until([&] { return rec_.published.size() == 2; }));
  EXPECT_EQ(session_->unfinished_publishes(), 0u);
}

TEST_F(SessionReconnectTest, ResendKeepsFirstSentOrderAcrossPacketIdWrap) {
  // QoS 0 messages take a packet identifier too; offline they are dropped, so this moves the
  // counter close to the wrap without sending anything.
  for (int i = 0; i < 65533; i++) session_->publish("t", "", 0, false, {});
  connect_and_accept(false);
  std::vector<uint16_t> ids;
  for (const char* p : {"x", "y", "z"}) ids.push_back(session_->publish("t", p, 1, false, {}));
  EXPECT_EQ(ids, (std::vector<uint16_t>{65534, 65535, 1}));
  for (int i = 0; i < 3; i++) ASSERT_FALSE(read_packet().empty());
  drop_peer();

  connect_and_accept(true);
  std::string got;
  for (int i = 0; i < 3; i++) {
    std::string p = read_packet();
    EXPECT_EQ(uint8_t(p[0]), 0x3A);
    EXPECT_EQ(packet_id(p), ids[size_t(i)]);
    got += payload(p);
  }
  EXPECT_EQ(got, "xyz");  // [MQTT-4.6.0-1]
}

}  // namespace
}  // namespace mq::client
