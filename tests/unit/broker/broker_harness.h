// Test harness for the broker's session logic: a real Broker on an EventLoop driven by a
// FakeClock, listening on 127.0.0.1 with a kernel-chosen port, and TestClients that speak MQTT
// over plain loopback sockets with the shared codec. Nothing sleeps: the harness pumps
// loop.run_once(0) a bounded number of times until a reply arrives, and time moves only through
// advance_ms(), which steps the fake clock and pumps after every step so timers fire in order.
// Decoded packets (Received) own their bytes; the views inside Received::packet live as long as
// the Received. Single-threaded: a harness and its clients belong to one test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/config/config.h"
#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/framer.h"
#include "codec/packet.h"
#include "net/loop.h"

namespace mq::broker::testing {

// Upper bound on loop iterations while waiting for something that must happen; each is one
// non-blocking epoll_wait, so this bounds work, not time.
inline constexpr int kMaxSpins = 2000;
// Iterations after which "nothing arrived" is taken as "nothing will arrive".
inline constexpr int kQuietSpins = 50;

// A config with one listener on 127.0.0.1, port chosen by the kernel, anonymous clients allowed.
inline Config loopback_config() {
  Config c;
  ListenerConfig l;
  l.port = 0;
  l.host = "127.0.0.1";
  c.listeners.push_back(l);
  c.local_only = false;
  c.security.allow_anonymous = 1;
  c.security.auto_id_prefix = "auto-";
  c.connection_messages = std::getenv("MQ_TEST_LOG") != nullptr;
  // Without TCP_NODELAY on both ends a small write waits (Nagle) for the peer's delayed ACK,
  // about 40 ms of real time, and the bounded pumping would give up first.
  c.set_tcp_nodelay = true;
  return c;
}

class BrokerHarness {
 public:
  explicit BrokerHarness(const std::function<void(Config&)>& tweak = {}) {
    saved_log_mask_ = logger().mask();
    // MQ_TEST_LOG=1 shows the broker's log (debug included) when a test needs explaining.
    logger().set_mask(std::getenv("MQ_TEST_LOG") ? kLogAll : kLogError);
    Config config = loopback_config();
    if (tweak) tweak(config);
    auto loop = net::EventLoop::create(clock_);
    EXPECT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    broker_ = std::make_unique<Broker>(std::move(config), *loop_);
    auto ports = broker_->start();
    EXPECT_TRUE(ports.ok()) << (ports.ok() ? "" : ports.error().context);
    if (ports.ok() && !ports->empty()) port_ = ports->front();
  }
  ~BrokerHarness() {
    broker_.reset();  // before the loop it is registered on
    loop_.reset();
    logger().set_mask(saved_log_mask_);
  }
  BrokerHarness(const BrokerHarness&) = delete;
  BrokerHarness& operator=(const BrokerHarness&) = delete;

  FakeClock& clock() { return clock_; }
  net::EventLoop& loop() { return *loop_; }
  Broker& broker() { return *broker_; }
  uint16_t port() const { return port_; }

  // Runs `n` non-blocking loop iterations (I/O, due timers, flush and reap hooks).
  void pump(int n = 8) {
    for (int i = 0; i < n; i++) loop_->run_once(0);
  }
  // Pumps until pred() holds, at most kMaxSpins iterations; returns pred().
  bool pump_until(const std::function<bool()>& pred) {
    for (int i = 0; i < kMaxSpins && !pred(); i++) loop_->run_once(0);
    return pred();
  }
  // Moves the fake clock forward by `ms` in steps of `step_ms`, pumping after each step.
  void advance_ms(int64_t ms, int64_t step_ms = 100) {
    while (ms > 0) {
      int64_t d = std::min(ms, step_ms);
      clock_.advance_ms(d);
      ms -= d;
      pump(2);
    }
    pump();
  }

 private:
  FakeClock clock_;
  std::unique_ptr<net::EventLoop> loop_;
  std::unique_ptr<Broker> broker_;
  uint16_t port_ = 0;
  uint32_t saved_log_mask_ = kLogDefault;
};

// One packet the broker sent, with the bytes its views point into.
struct Received {
  Received(uint8_t header, std::string_view bytes, codec::ProtocolVersion v)
      : fixed_header(header), body(bytes) {
    auto r = codec::decode(fixed_header, body, v, codec::Direction::kServerToClient);
    decoded = r.ok();
    if (decoded) packet = std::move(*r);
  }
  Received(const Received&) = delete;
  Received& operator=(const Received&) = delete;

  codec::PacketType type() const { return codec::PacketType(fixed_header >> 4); }
  template <class T>
  bool is() const {
    return decoded && std::holds_alternative<T>(packet);
  }
  // REQUIRES: is<T>()
  template <class T>
  const T& as() const {
    return std::get<T>(packet);
  }

  uint8_t fixed_header;
  const std::string body;
  bool decoded = false;
  codec::Packet packet;
};

using ReceivedPtr = std::unique_ptr<Received>;

// An MQTT client on a loopback socket. It never blocks: every wait pumps the broker's loop.
class TestClient {
 public:
  TestClient(BrokerHarness& h, codec::ProtocolVersion v) : h_(h), version_(v) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(h.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Loopback connect completes in the kernel (backlog) before the broker accepts.
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << errno;
    EXPECT_EQ(::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK), 0);
    int one = 1;
    EXPECT_EQ(::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    h_.pump();  // accept
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  codec::ProtocolVersion version() const { return version_; }

  void send_raw(std::string_view bytes) {
    while (!bytes.empty() && fd_ >= 0) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        h_.pump(1);
        continue;
      }
      ASSERT_GT(n, 0) << "send failed, errno " << errno;
      bytes.remove_prefix(size_t(n));
    }
  }
  void send(const codec::Packet& p) {
    std::string out;
    ASSERT_TRUE(codec::encode(p, version_, out).ok());
    send_raw(out);
  }

  // The next packet from the broker, pumping the loop until one arrives; nullptr if none came
  // within kMaxSpins iterations or the connection closed first.
  ReceivedPtr read() {
    for (int i = 0; i < kMaxSpins; i++) {
      if (ReceivedPtr r = take()) return r;
      fill();
      if (ReceivedPtr r = take()) return r;
      if (eof_) return nullptr;
      h_.loop().run_once(0);
    }
    return take();
  }
  // Everything that arrives within kQuietSpins iterations.
  std::vector<ReceivedPtr> drain() {
    std::vector<ReceivedPtr> all;
    for (int i = 0; i < kQuietSpins; i++) {
      h_.loop().run_once(0);
      fill();
    }
    while (ReceivedPtr r = take()) all.push_back(std::move(r));
    return all;
  }
  // Pumps until the broker closes the connection; packets sent before the close stay readable.
  bool wait_closed() {
    for (int i = 0; i < kMaxSpins && !eof_; i++) {
      fill();
      if (!eof_) h_.loop().run_once(0);
    }
    return eof_;
  }
  // Whether the broker has closed the connection, after a few iterations, without waiting.
  bool closed_now() {
    h_.pump(2);
    fill();
    return eof_;
  }

  // Sends CONNECT and returns the broker's reply (CONNACK), or nullptr.
  ReceivedPtr connect(codec::Connect c) {
    c.version = version_;
    send(c);
    return read();
  }
  // Sends CONNECT and requires a successful CONNACK; returns its Session Present flag.
  bool connect_ok(const codec::Connect& c) {
    ReceivedPtr r = connect(c);
    EXPECT_TRUE(r && r->is<codec::Connack>()) << "no CONNACK";
    if (!r || !r->is<codec::Connack>()) return false;
    EXPECT_EQ(r->as<codec::Connack>().reason_code, codec::ReasonCode::kSuccess);
    return r->as<codec::Connack>().session_present;
  }
  // SUBSCRIBE one filter and wait for the SUBACK; returns the granted code (0x80+ = refused).
  uint8_t subscribe(std::string_view filter, uint8_t qos, uint16_t packet_id = 1) {
    codec::Subscribe s;
    s.packet_id = packet_id;
    s.subscriptions.push_back(codec::Subscription{.filter = filter, .qos = qos});
    send(s);
    ReceivedPtr r = read();
    EXPECT_TRUE(r && r->is<codec::Suback>()) << "no SUBACK";
    if (!r || !r->is<codec::Suback>()) return 0xFF;
    const auto& ack = r->as<codec::Suback>();
    EXPECT_EQ(ack.packet_id, packet_id);
    EXPECT_EQ(ack.reason_codes.size(), 1u);
    return ack.reason_codes.empty() ? 0xFF : uint8_t(ack.reason_codes[0]);
  }
  // Normal DISCONNECT, then waits for the broker to close.
  void disconnect(codec::Disconnect d = {}) {
    send(d);
    EXPECT_TRUE(wait_closed());
    close();
  }
  // Drops the TCP connection without DISCONNECT and lets the broker notice.
  void close() {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    h_.pump();
  }

 private:
  void fill() {
    if (fd_ < 0 || eof_) return;
    for (;;) {
      char buf[16384];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        framer_.append(std::string_view(buf, size_t(n)));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      eof_ = true;  // orderly close or reset
      return;
    }
  }
  ReceivedPtr take() {
    auto f = framer_.next();
    EXPECT_TRUE(f.ok()) << "broker sent a malformed stream";
    if (!f.ok() || !f->has_value()) return nullptr;
    return std::make_unique<Received>((*f)->fixed_header, (*f)->body, version_);
  }

  BrokerHarness& h_;
  codec::ProtocolVersion version_;
  int fd_ = -1;
  bool eof_ = false;
  codec::Framer framer_;
};

// Packet builders for the common cases.
inline codec::Connect make_connect(std::string_view client_id, bool clean_start = true,
                                   uint16_t keep_alive = 0) {
  codec::Connect c;
  c.client_id = client_id;
  c.clean_start = clean_start;
  c.keep_alive = keep_alive;
  return c;
}

inline codec::Publish make_publish(std::string_view topic, std::string_view payload,
                                   uint8_t qos = 0, uint16_t packet_id = 0) {
  codec::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.packet_id = packet_id;
  return p;
}

// PUBACK, PUBREC, PUBREL or PUBCOMP for `packet_id`, reason Success.
template <class T>
T ack(uint16_t packet_id) {
  T a;
  a.packet_id = packet_id;
  return a;
}

// Payloads of the PUBLISH packets in `packets`, in order.
inline std::vector<std::string> payloads(const std::vector<ReceivedPtr>& packets) {
  std::vector<std::string> out;
  for (const auto& r : packets)
    if (r->is<codec::Publish>()) out.emplace_back(r->as<codec::Publish>().payload);
  return out;
}

}  // namespace mq::broker::testing
