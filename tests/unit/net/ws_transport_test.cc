// WebSocketTransport over Unix socketpairs, driven by bounded nonblocking loops (no sleeps, no
// event loop): both roles against each other, and each role against a raw peer that writes
// hand-made bytes. A Throttle inner transport forces partial writes and kWouldBlock, and checks
// the retry rule of transport.h.
#include "net/ws_transport.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "net/tcp_transport.h"
#include "net/tls_transport.h"
#include "net/ws_frame.h"
#include "tls_test_util.h"

namespace mq::net {
namespace {

// Passes at most max_write bytes per writev and refuses every other writev with kWouldBlock;
// reads at most max_read bytes. Counts retries that break "after kWouldBlock the caller retries
// with the same unwritten data".
class Throttle final : public Transport {
 public:
  Throttle(std::unique_ptr<Transport> t, size_t max_write, size_t max_read,
           const char* name = "tcp")
      : t_(std::move(t)), max_write_(max_write), max_read_(max_read), name_(name) {}
  const char* name() const override { return name_; }
  int fd() const override { return t_->fd(); }
  const std::string& peer_address() const override { return t_->peer_address(); }
  IoResult handshake() override { return IoResult::ok(0); }
  bool handshake_done() const override { return true; }
  IoResult read(void* buf, size_t len) override { return t_->read(buf, std::min(len, max_read_)); }
  IoResult writev(const iovec* iov, int iovcnt) override {
    std::string offer;
    for (int i = 0; i < iovcnt && offer.size() < max_write_; ++i) {
      offer.append(static_cast<const char*>(iov[i].iov_base),
                   std::min(iov[i].iov_len, max_write_ - offer.size()));
    }
    if (!blocked_.empty() && offer.compare(0, blocked_.size(), blocked_) != 0) ++violations;
    if ((refuse_ = !refuse_)) {
      blocked_ = offer;
      return IoResult::would_block();
    }
    iovec one{offer.data(), offer.size()};
    IoResult r = t_->writev(&one, 1);
    blocked_ = r.status == IoStatus::kWouldBlock ? offer : std::string();
    return r;
  }
  uint32_t wanted_events(bool r, bool w) const override { return t_->wanted_events(r, w); }
  void shutdown() override { t_->shutdown(); }
  void close() override { t_->close(); }
  std::string error_text(const IoResult& r) const override { return t_->error_text(r); }

  int violations = 0;

 private:
  std::unique_ptr<Transport> t_;
  size_t max_write_, max_read_;
  const char* name_;
  std::string blocked_;
  bool refuse_ = false;
};

struct Ends {
  std::unique_ptr<Transport> a, b;
};

Ends socket_pair(int sndbuf = 0) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  for (int fd : sv) {
    if (sndbuf) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  return {std::make_unique<TcpTransport>(UniqueFd(sv[0]), "a", true),
          std::make_unique<TcpTransport>(UniqueFd(sv[1]), "b", true)};
}

std::shared_ptr<WebSocketServerOptions> server_opts() {
  return std::make_shared<WebSocketServerOptions>();
}

WebSocketClientOptions client_opts(std::string subprotocol = "mqtt") {
  WebSocketClientOptions o;
  o.host = "localhost";
  o.port = 1883;
  o.subprotocol = std::move(subprotocol);
  return o;
}

// Runs both handshakes until both are done; false on any failure or after `rounds`.
bool handshake_both(Transport& s, Transport& c, int rounds = 1000) {
  for (int i = 0; i < rounds; ++i) {
    IoResult rs = s.handshake(), rc = c.handshake();
    for (IoResult* r : {&rs, &rc}) {
      if (r->status == IoStatus::kError || r->status == IoStatus::kClosed) return false;
    }
    if (rs.is_ok() && rc.is_ok()) return true;
  }
  return false;
}

void raw_write(Transport& t, const std::string& bytes) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  IoResult r = t.writev(&iov, 1);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r.bytes, bytes.size());
}

std::string raw_read(Transport& t) {
  std::string got;
  char buf[4096];
  for (;;) {
    IoResult r = t.read(buf, sizeof buf);
    if (!r.is_ok()) return got;
    got.append(buf, r.bytes);
  }
}

// A client-to-server frame: masked with `key` unless `masked` is false.
std::string frame(uint8_t b0, const std::string& payload, bool masked = true,
                  std::array<uint8_t, 4> key = {0x11, 0x22, 0x33, 0x44}) {
  ws::FrameHeader h;
  h.fin = (b0 & 0x80) != 0;
  h.rsv = (b0 >> 4) & 7;
  h.opcode = b0 & 0x0f;
  h.masked = masked;
  h.mask_key = key;
  h.payload_length = payload.size();
  std::array<uint8_t, ws::kMaxFrameHeaderSize> hdr{};
  size_t n = ws::encode_frame_header(h, hdr);
  std::string out(reinterpret_cast<const char*>(hdr.data()), n);
  std::string body = payload;
  if (masked) ws::apply_mask(reinterpret_cast<uint8_t*>(body.data()), body.size(), key, 0);
  return out + body;
}

constexpr const char* kRequest =
    "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: mqtt\r\n";

// A server transport on end a, upgraded by raw bytes from end b.
struct RawClient {
  std::unique_ptr<WebSocketTransport> server;
  std::unique_ptr<Transport> peer;
};

RawClient raw_client(std::shared_ptr<WebSocketServerOptions> opts = server_opts(),
                     const std::string& extra_headers = "") {
  Ends e = socket_pair();
  RawClient rc{std::make_unique<WebSocketTransport>(std::move(e.a), std::move(opts)),
               std::move(e.b)};
  raw_write(*rc.peer, kRequest + extra_headers + "\r\n");
  return rc;
}

TEST(WebSocketTransport, HandshakeBetweenOurTwoRoles) {
  Ends e = socket_pair();
  WebSocketTransport server(std::move(e.a), server_opts());
  WebSocketTransport client(std::move(e.b), client_opts());
  EXPECT_STREQ(server.name(), "ws");
  EXPECT_FALSE(server.handshake_done());
  EXPECT_EQ(server.wanted_events(true, false), uint32_t(EPOLLIN));
  ASSERT_TRUE(handshake_both(server, client));
  EXPECT_TRUE(server.handshake_done() && client.handshake_done());
  EXPECT_EQ(server.request_path(), "/mqtt");
  EXPECT_EQ(server.subprotocol(), "mqtt");
  EXPECT_EQ(client.subprotocol(), "mqtt");
  EXPECT_EQ(server.forwarded_for(), "");
  EXPECT_FALSE(server.has_buffered_input());
  EXPECT_EQ(server.wanted_events(true, false), uint32_t(EPOLLIN));
  EXPECT_EQ(server.wanted_events(false, true), uint32_t(EPOLLOUT));
  char c;
  EXPECT_EQ(server.read(&c, 1).status, IoStatus::kWouldBlock);
  EXPECT_TRUE(server.flush().is_ok());
}

TEST(WebSocketTransport, NoSubprotocolAndOtherPath) {
  Ends e = socket_pair();
  WebSocketTransport server(std::move(e.a), server_opts());
  WebSocketClientOptions o = client_opts("");
  o.path = "/ws?x=1";
  WebSocketTransport client(std::move(e.b), o);
  ASSERT_TRUE(handshake_both(server, client));
  EXPECT_EQ(server.request_path(), "/ws?x=1");
  EXPECT_EQ(server.subprotocol(), "");
  EXPECT_EQ(client.subprotocol(), "");
}

TEST(WebSocketTransport, WssNameFromTlsInner) {
  Ends e = socket_pair();
  WebSocketTransport t(std::make_unique<Throttle>(std::move(e.a), 100, 100, "tls"), server_opts());
  EXPECT_STREQ(t.name(), "wss");
}

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& ch : s) {
    seed = seed * 1103515245 + 12345;
    ch = char(seed >> 24);
  }
  return s;
}

// Writes what is left of `data` (as three iovs) and returns the bytes accepted; 0 if blocked.
size_t write_some(Transport& t, const std::string& data, size_t& sent) {
  if (sent == data.size()) return 0;
  size_t left = data.size() - sent;
  size_t a = left / 3, b = left / 4;
  iovec iov[3] = {{const_cast<char*>(data.data() + sent), a},
                  {const_cast<char*>(data.data() + sent + a), b},
                  {const_cast<char*>(data.data() + sent + a + b), left - a - b}};
  IoResult r = t.writev(iov, 3);
  EXPECT_TRUE(r.is_ok() || r.status == IoStatus::kWouldBlock) << t.error_text(r);
  if (!r.is_ok()) return 0;
  sent += r.bytes;
  return r.bytes;
}

void read_some(Transport& t, std::string& into) {
  char buf[3001];
  for (int i = 0; i < 4; ++i) {
    IoResult r = t.read(buf, sizeof buf);
    EXPECT_TRUE(r.is_ok() || r.status == IoStatus::kWouldBlock) << t.error_text(r);
    if (!r.is_ok()) return;
    into.append(buf, r.bytes);
  }
}

TEST(WebSocketTransport, MegabyteEachWayInManyFramesWithPartialWrites) {
  Ends e = socket_pair(16384);
  auto* ts = new Throttle(std::move(e.a), 1000, 777);
  auto* tc = new Throttle(std::move(e.b), 1337, 555);
  auto sopts = server_opts();
  sopts->max_send_frame = 5000;
  WebSocketTransport server(std::unique_ptr<Transport>(ts), sopts);
  WebSocketClientOptions co = client_opts();
  co.max_send_frame = 7000;
  WebSocketTransport client(std::unique_ptr<Transport>(tc), co);
  ASSERT_TRUE(handshake_both(server, client));

  const std::string up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
  std::string got_up, got_down;
  size_t sent_up = 0, sent_down = 0;
  for (int i = 0; i < 200000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++i) {
    write_some(client, up, sent_up);
    write_some(server, down, sent_down);
    read_some(server, got_up);
    read_some(client, got_down);
  }
  ASSERT_EQ(got_up.size(), up.size());
  ASSERT_EQ(got_down.size(), down.size());
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
  EXPECT_EQ(ts->violations, 0);
  EXPECT_EQ(tc->violations, 0);
}

TEST(WebSocketTransport, OneByteWritesSplitHeadersToo) {
  Ends e = socket_pair();
  auto* ts = new Throttle(std::move(e.a), 1, 1);
  auto* tc = new Throttle(std::move(e.b), 1, 1);
  auto sopts = server_opts();
  sopts->max_send_frame = 200;  // 16-bit lengths: 4-byte headers sent one byte at a time
  WebSocketTransport server(std::unique_ptr<Transport>(ts), sopts);
  WebSocketClientOptions co = client_opts();
  co.max_send_frame = 100;  // 2 + 4 bytes of header, masked
  WebSocketTransport client(std::unique_ptr<Transport>(tc), co);
  ASSERT_TRUE(handshake_both(server, client, 100000));
  const std::string up = pattern(3000, 3), down = pattern(3000, 4);
  std::string got_up, got_down;
  size_t sent_up = 0, sent_down = 0;
  for (int i = 0; i < 100000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++i) {
    write_some(client, up, sent_up);
    write_some(server, down, sent_down);
    read_some(server, got_up);
    read_some(client, got_down);
  }
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
  EXPECT_EQ(ts->violations + tc->violations, 0);
}

// Reads server-to-client frames from `wire`: appends binary payloads to `data`, counts pongs;
// false on anything else.
bool parse_server_frames(const std::string& wire, std::string& data, int& pongs) {
  std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  while (!rest.empty()) {
    ws::FrameHeader h;
    Result<size_t> n = ws::parse_frame_header(rest, h);
    if (!n.ok() || *n == 0 || h.masked || rest.size() - *n < h.payload_length) return false;
    const char* p = reinterpret_cast<const char*>(rest.data()) + *n;
    if (h.opcode == uint8_t(ws::Opcode::kBinary)) {
      data.append(p, h.payload_length);
    } else if (h.opcode == uint8_t(ws::Opcode::kPong)) {
      ++pongs;
    } else {
      return false;
    }
    rest = rest.subspan(*n + h.payload_length);
  }
  return true;
}

TEST(WebSocketTransport, PongsWaitForTheEndOfAPartlyWrittenFrame) {
  Ends e = socket_pair(8192);
  auto* th = new Throttle(std::move(e.a), 3000, 1 << 16);
  auto opts = server_opts();
  opts->max_send_frame = 50000;
  WebSocketTransport server(std::unique_ptr<Transport>(th), opts);
  raw_write(*e.b, std::string(kRequest) + "\r\n");
  for (int i = 0; i < 10 && !server.handshake().is_ok(); ++i) {
  }
  ASSERT_TRUE(server.handshake_done());
  ASSERT_EQ(raw_read(*e.b).rfind("HTTP/1.1 101", 0), 0u);

  const std::string down = pattern(300000, 5);
  std::string wire, got;
  size_t sent = 0;
  int pings = 0;
  char buf[64];
  for (int i = 0; i < 100000 && (sent < down.size() || server.wanted_events(false, false)); ++i) {
    write_some(server, down, sent);
    if (i % 7 == 0 && pings < 40) {  // a ping in the middle of whatever the server is sending
      raw_write(*e.b, frame(0x89, "p"));
      ++pings;
      EXPECT_EQ(server.read(buf, sizeof buf).status, IoStatus::kWouldBlock);
    }
    (void)server.flush();
    wire += raw_read(*e.b);
  }
  wire += raw_read(*e.b);
  int pongs = 0;
  ASSERT_TRUE(parse_server_frames(wire, got, pongs));
  EXPECT_TRUE(got == down);
  EXPECT_GT(pongs, 0);  // 5.5.3 lets a pong answer several pings, so not necessarily 40
  EXPECT_LE(pongs, pings);
  EXPECT_EQ(th->violations, 0);
}

TEST(WebSocketTransport, SplitFramesByteByByteWithPingInside) {
  RawClient rc = raw_client();
  ASSERT_TRUE(rc.server->handshake().is_ok());
  std::string resp = raw_read(*rc.peer);
  ASSERT_EQ(resp.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << resp;
  // "hel" + "lo" + "world" as a fragmented message with a ping between the fragments, then two
  // "packets" in one frame with a 16-bit length, then an empty binary frame.
  const std::string big(300, 'x');
  const std::string wire = frame(0x02, "hel") + frame(0x89, "p!") + frame(0x00, "lo") +
                           frame(0x80, "world", true, {0, 0, 0, 0}) + frame(0x82, "AB" + big) +
                           frame(0x82, "");
  std::string got;
  char buf[64];
  for (char ch : wire) {
    raw_write(*rc.peer, std::string(1, ch));
    for (;;) {
      IoResult r = rc.server->read(buf, sizeof buf);
      if (!r.is_ok()) {
        ASSERT_EQ(r.status, IoStatus::kWouldBlock) << rc.server->error_text(r);
        break;
      }
      got.append(buf, r.bytes);
    }
  }
  EXPECT_EQ(got, "helloworldAB" + big);
  // The pong: unmasked (server to client), same application data (5.5.2).
  EXPECT_EQ(raw_read(*rc.peer), std::string("\x8a\x02p!", 4));
}

TEST(WebSocketTransport, PongWaitsForBlockedInnerAndGoesOutOnFlush) {
  Ends e = socket_pair();
  auto* th = new Throttle(std::move(e.a), 1 << 20, 1 << 20);
  WebSocketTransport server(std::unique_ptr<Transport>(th), server_opts());
  raw_write(*e.b, std::string(kRequest) + "\r\n");
  IoResult r;
  for (int i = 0; i < 4 && !(r = server.handshake()).is_ok(); ++i) {
  }
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(raw_read(*e.b).rfind("HTTP/1.1 101", 0), 0u);
  raw_write(*e.b, frame(0x89, "hi"));  // the throttle refuses the next write (the pong)
  char buf[16];
  EXPECT_EQ(server.read(buf, sizeof buf).status, IoStatus::kWouldBlock);
  EXPECT_EQ(raw_read(*e.b), "");
  EXPECT_EQ(server.wanted_events(true, false), uint32_t(EPOLLIN | EPOLLOUT));
  EXPECT_TRUE(server.flush().is_ok());
  EXPECT_EQ(raw_read(*e.b), std::string("\x8a\x02hi", 4));
  EXPECT_EQ(server.wanted_events(true, false), uint32_t(EPOLLIN));
  EXPECT_EQ(th->violations, 0);
}

TEST(WebSocketTransport, CloseHandshake) {
  Ends e = socket_pair();
  WebSocketTransport server(std::move(e.a), server_opts());
  WebSocketTransport client(std::move(e.b), client_opts());
  ASSERT_TRUE(handshake_both(server, client));
  iovec iov{const_cast<char*>("last"), 4};
  ASSERT_EQ(client.writev(&iov, 1).bytes, 4u);
  client.shutdown();  // close frame 1000, then SHUT_WR
  char buf[64];
  IoResult r = server.read(buf, sizeof buf);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::string(buf, r.bytes), "last");
  r = server.read(buf, sizeof buf);
  EXPECT_EQ(r.status, IoStatus::kClosed);
  EXPECT_EQ(server.peer_close_code(), ws::CloseCode::kNormal);
  EXPECT_NE(server.error_text(r).find("1000"), std::string::npos) << server.error_text(r);
  EXPECT_EQ(server.writev(&iov, 1).status, IoStatus::kError);  // no data after close (5.5.1)
  // The echo reached the client.
  r = client.read(buf, sizeof buf);
  EXPECT_EQ(r.status, IoStatus::kClosed);
  EXPECT_EQ(client.peer_close_code(), ws::CloseCode::kNormal);
}

TEST(WebSocketTransport, ServerEchoesClientCloseCode) {
  RawClient rc = raw_client();
  ASSERT_TRUE(rc.server->handshake().is_ok());
  raw_read(*rc.peer);
  raw_write(*rc.peer, frame(0x82, "x") + frame(0x88, std::string("\x0f\xa0", 2) + "bye"));  // 4000
  char buf[16];
  IoResult r = rc.server->read(buf, sizeof buf);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(rc.server->read(buf, sizeof buf).status, IoStatus::kClosed);
  EXPECT_EQ(uint16_t(rc.server->peer_close_code()), 4000);
  EXPECT_EQ(raw_read(*rc.peer), std::string("\x88\x02\x0f\xa0", 4));
}

// One request refused: the status line the raw peer gets and the server's error_text.
void expect_refused(RawClient& rc, const std::string& status_line) {
  IoResult r;
  for (int i = 0; i < 10; ++i) {
    r = rc.server->handshake();
    if (r.status != IoStatus::kWouldBlock) break;
  }
  EXPECT_EQ(r.status, IoStatus::kError);
  EXPECT_NE(rc.server->error_text(r).find(status_line.substr(9)), std::string::npos)
      << rc.server->error_text(r);
  std::string resp = raw_read(*rc.peer);
  EXPECT_EQ(resp.rfind(status_line + "\r\n", 0), 0u) << resp;
  EXPECT_FALSE(rc.server->handshake_done());
}

TEST(WebSocketTransport, OriginList) {
  auto opts = server_opts();
  opts->allowed_origins = {"https://app.example"};
  RawClient evil = raw_client(opts, "Origin: https://evil.example\r\n");
  expect_refused(evil, "HTTP/1.1 403 Forbidden");
  RawClient none = raw_client(opts);
  expect_refused(none, "HTTP/1.1 403 Forbidden");
  RawClient good = raw_client(opts, "Origin: https://app.example\r\n");
  EXPECT_TRUE(good.server->handshake().is_ok());
}

TEST(WebSocketTransport, OversizeHeaderGets431) {
  Ends e = socket_pair();
  auto opts = server_opts();  // 4096 bytes by default
  RawClient rc{std::make_unique<WebSocketTransport>(std::move(e.a), opts), std::move(e.b)};
  raw_write(*rc.peer, std::string(kRequest) + "X-Filler: " + std::string(5000, 'f') + "\r\n\r\n");
  expect_refused(rc, "HTTP/1.1 431 Request Header Fields Too Large");

  opts = server_opts();
  opts->max_headers_size = 8192;  // the same request fits a larger limit
  Ends e2 = socket_pair();
  WebSocketTransport ok(std::move(e2.a), opts);
  raw_write(*e2.b, std::string(kRequest) + "X-Filler: " + std::string(5000, 'f') + "\r\n\r\n");
  EXPECT_TRUE(ok.handshake().is_ok());
}

TEST(WebSocketTransport, MalformedRequestsGet400Or426) {
  Ends e = socket_pair();
  RawClient rc{std::make_unique<WebSocketTransport>(std::move(e.a), server_opts()), std::move(e.b)};
  raw_write(*rc.peer, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // a plain HTTP request
  expect_refused(rc, "HTTP/1.1 400 Bad Request");
  Ends e2 = socket_pair();
  RawClient v8{std::make_unique<WebSocketTransport>(std::move(e2.a), server_opts()),
               std::move(e2.b)};
  std::string req = kRequest;
  req.replace(req.find("Version: 13"), 11, "Version: 8");
  raw_write(*v8.peer, req + "\r\n");
  expect_refused(v8, "HTTP/1.1 426 Upgrade Required");
}

TEST(WebSocketTransport, PeerGoneDuringHandshake) {
  Ends e = socket_pair();
  WebSocketTransport server(std::move(e.a), server_opts());
  raw_write(*e.b, "GET / HT");
  EXPECT_EQ(server.handshake().status, IoStatus::kWouldBlock);
  e.b->close();
  EXPECT_EQ(server.handshake().status, IoStatus::kClosed);
}

TEST(WebSocketTransport, FrameBytesSentWithTheRequestAreKept) {
  Ends e = socket_pair();
  WebSocketTransport server(std::move(e.a), server_opts());
  raw_write(*e.b,
            std::string(kRequest) + "X-Forwarded-For: 192.0.2.7\r\n\r\n" + frame(0x82, "early"));
  ASSERT_TRUE(server.handshake().is_ok());
  EXPECT_EQ(server.forwarded_for(), "192.0.2.7");
  EXPECT_TRUE(server.has_buffered_input());
  char buf[16];
  IoResult r = server.read(buf, 3);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::string(buf, r.bytes), "ear");
  r = server.read(buf, sizeof buf);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::string(buf, r.bytes), "ly");
  EXPECT_FALSE(server.has_buffered_input());
}

TEST(WebSocketTransport, ViolationsCloseWithTheirCode) {
  struct Case {
    const char* what;
    std::string wire;
    std::string close_frame;  // what the server sends back
  } cases[] = {
      {"unmasked client frame", frame(0x82, "abc", false), std::string("\x88\x02\x03\xea", 4)},
      {"text frame", frame(0x81, "abc"), std::string("\x88\x02\x03\xeb", 4)},
      {"RSV1 without extension", frame(0xc2, "abc"), std::string("\x88\x02\x03\xea", 4)},
      {"reserved opcode", frame(0x83, "abc"), std::string("\x88\x02\x03\xea", 4)},
      {"fragmented ping", frame(0x09, "abc"), std::string("\x88\x02\x03\xea", 4)},
      {"ping over 125 bytes", frame(0x89, std::string(126, 'p')),
       std::string("\x88\x02\x03\xea", 4)},
      {"continuation first", frame(0x80, "abc"), std::string("\x88\x02\x03\xea", 4)},
      {"frame over the limit", frame(0x82, std::string(101, 'b')),
       std::string("\x88\x02\x03\xf1", 4)},
      {"close with 1 byte", frame(0x88, "x"), std::string("\x88\x02\x03\xea", 4)},
      {"close reason not UTF-8", frame(0x88, "\x03\xe8\xff"), std::string("\x88\x02\x03\xef", 4)},
  };
  for (const Case& c : cases) {
    auto opts = server_opts();
    opts->max_frame_size = 100;
    RawClient rc = raw_client(opts);
    ASSERT_TRUE(rc.server->handshake().is_ok()) << c.what;
    raw_read(*rc.peer);
    raw_write(*rc.peer, c.wire);
    char buf[256];
    IoResult r = rc.server->read(buf, sizeof buf);
    EXPECT_EQ(r.status, IoStatus::kError) << c.what;
    EXPECT_EQ(r.sys_errno, 0) << c.what;
    EXPECT_NE(rc.server->error_text(r).find("WebSocket"), std::string::npos) << c.what;
    EXPECT_EQ(raw_read(*rc.peer), c.close_frame) << c.what << ": " << rc.server->error_text(r);
    EXPECT_EQ(rc.server->read(buf, sizeof buf).status, IoStatus::kError) << c.what;
    iovec iov{buf, 1};
    EXPECT_EQ(rc.server->writev(&iov, 1).status, IoStatus::kError) << c.what;
  }
}

// The client role against a raw server.
struct RawServer {
  std::unique_ptr<WebSocketTransport> client;
  std::unique_ptr<Transport> peer;
  std::string key;
};

RawServer raw_server() {
  Ends e = socket_pair();
  RawServer rs{std::make_unique<WebSocketTransport>(std::move(e.a), client_opts()), std::move(e.b),
               ""};
  EXPECT_EQ(rs.client->handshake().status, IoStatus::kWouldBlock);
  std::string req = raw_read(*rs.peer);
  Result<ws::UpgradeRequest> parsed = ws::parse_upgrade_request(req);
  EXPECT_TRUE(parsed.ok()) << req;
  if (parsed.ok()) rs.key = std::string(parsed->key);
  return rs;
}

TEST(WebSocketTransport, ClientReportsHttpErrorsAndBadAccept) {
  RawServer a = raw_server();
  raw_write(*a.peer, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  IoResult r = a.client->handshake();
  EXPECT_EQ(r.status, IoStatus::kError);
  EXPECT_EQ(a.client->error_text(r), "server answered HTTP 404 Not Found");

  RawServer b = raw_server();
  raw_write(*b.peer, ws::build_upgrade_response("x3JJHMbDL1EzLkh9GBhXDw==", "mqtt"));
  r = b.client->handshake();
  EXPECT_EQ(r.status, IoStatus::kError);
  EXPECT_EQ(b.client->error_text(r), "bad Sec-WebSocket-Accept");

  RawServer c = raw_server();
  c.peer->close();
  r = c.client->handshake();
  EXPECT_EQ(r.status, IoStatus::kError);
  EXPECT_NE(c.client->error_text(r).find("closed"), std::string::npos);
}

TEST(WebSocketTransport, ClientMasksEveryFrameWithAFreshKey) {
  RawServer rs = raw_server();
  // The 101 answer and a server frame in the same segment.
  raw_write(*rs.peer, ws::build_upgrade_response(rs.key, "mqtt") + "\x82\x02hi");
  ASSERT_TRUE(rs.client->handshake().is_ok());
  char buf[8];
  IoResult r = rs.client->read(buf, sizeof buf);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::string(buf, r.bytes), "hi");
  for (const char* msg : {"one", "two"}) {
    iovec iov{const_cast<char*>(msg), 3};
    ASSERT_EQ(rs.client->writev(&iov, 1).bytes, 3u);
  }
  std::string wire = raw_read(*rs.peer);
  ASSERT_EQ(wire.size(), 2 * (2 + 4 + 3u));
  std::array<uint8_t, 4> keys[2];
  for (int i = 0; i < 2; ++i) {
    auto* f = reinterpret_cast<uint8_t*>(wire.data()) + i * 9;
    EXPECT_EQ(f[0], 0x82);  // FIN, binary
    EXPECT_EQ(f[1], 0x83);  // MASK, length 3
    std::memcpy(keys[i].data(), f + 2, 4);
    ws::apply_mask(f + 6, 3, keys[i], 0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(f + 6), 3), i == 0 ? "one" : "two");
  }
  EXPECT_NE(keys[0], keys[1]);
  // A masked frame from the server is a protocol error for the client (5.1).
  raw_write(*rs.peer, frame(0x82, "m"));
  EXPECT_EQ(rs.client->read(buf, sizeof buf).status, IoStatus::kError);
  std::string close = raw_read(*rs.peer);
  ASSERT_EQ(close.size(), 8u);  // masked close frame: 2 + key + code
  EXPECT_EQ(uint8_t(close[0]), 0x88);
  EXPECT_EQ(uint8_t(close[1]), 0x82);
}

TEST(WebSocketTransport, WssStacksOnTls) {
  const std::string dir = testing::make_temp_dir();
  {
    testing::TestPki pki(dir);
    pki.make_ca("ca");
    pki.make_server("server", "localhost", {"localhost"}, {"127.0.0.1"});
  }
  TlsServerOptions so;
  so.certfile = dir + "/server.crt";
  so.keyfile = dir + "/server.key";
  TlsClientOptions co;
  co.cafile = dir + "/ca.crt";
  auto sctx = TlsContext::server(so);
  auto cctx = TlsContext::client(co);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(sctx.ok() && cctx.ok());
  testing::TlsPair p = testing::make_tls_pair(*sctx, *cctx, "localhost", 16384);
  WebSocketTransport server(std::move(p.server), server_opts());
  WebSocketTransport client(std::move(p.client), client_opts());
  EXPECT_STREQ(server.name(), "wss");
  EXPECT_STREQ(client.name(), "wss");
  EXPECT_NE(server.tls(), nullptr);  // the broker reaches the certificate through the stack

  IoResult rs = IoResult::would_block(), rc = IoResult::would_block();
  for (int i = 0; i < 500 && !(rs.is_ok() && rc.is_ok()); ++i) {
    if (!rs.is_ok()) rs = server.handshake();
    if (!rc.is_ok()) rc = client.handshake();
    ASSERT_TRUE(rs.is_ok() || rs.status == IoStatus::kWouldBlock) << server.error_text(rs);
    ASSERT_TRUE(rc.is_ok() || rc.status == IoStatus::kWouldBlock) << client.error_text(rc);
    if (!(rs.is_ok() && rc.is_ok()))
      testing::wait_either(server, false, false, client, false, false);
  }
  ASSERT_TRUE(rs.is_ok() && rc.is_ok());
  EXPECT_EQ(server.subprotocol(), "mqtt");

  const std::string up = pattern(300000, 6), down = pattern(300000, 7);
  std::string got_up, got_down;
  size_t sent_up = 0, sent_down = 0;
  for (int i = 0; i < 20000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++i) {
    size_t progress = write_some(client, up, sent_up) + write_some(server, down, sent_down);
    size_t before = got_up.size() + got_down.size();
    read_some(server, got_up);
    read_some(client, got_down);
    (void)server.flush();
    (void)client.flush();
    if (progress == 0 && got_up.size() + got_down.size() == before) {
      testing::wait_either(server, true, sent_down < down.size(), client, true,
                           sent_up < up.size());
    }
  }
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
  client.shutdown();  // a WebSocket close frame inside TLS, then close_notify once it is out
  char buf[16];
  IoResult r;
  for (int i = 0; i < 100; ++i) {
    (void)client.flush();
    r = server.read(buf, sizeof buf);
    if (r.status != IoStatus::kWouldBlock) break;
    testing::wait_either(server, true, false, client, false, false);
  }
  EXPECT_EQ(r.status, IoStatus::kClosed) << server.error_text(r);
  EXPECT_EQ(server.peer_close_code(), ws::CloseCode::kNormal);
}

TEST(WebSocketTransport, IdleFootprint) {
  // The object is all an idle connection keeps: the handshake state is freed once open, and
  // control-frame buffers exist only after the first control frame.
  std::printf("sizeof(WebSocketTransport) = %zu bytes\n", sizeof(WebSocketTransport));
  EXPECT_LE(sizeof(WebSocketTransport), 400u);
}

}  // namespace
}  // namespace mq::net
