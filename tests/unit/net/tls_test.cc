// TlsTransport end to end: in-process client and server over a socketpair, driven by
// wanted_events() and poll with bounded loops. Certificates are made at test time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/epoll.h>

#include <cstdlib>

#include "net/tls_transport.h"
#include "tls_test_util.h"

namespace mq::net {
namespace {

using testing::client_result_after_read;
using ::testing::HasSubstr;
using testing::kTlsVersions;
using testing::make_tls_pair;
using testing::run_handshake;
using testing::TestPki;
using testing::TlsPair;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::make_temp_dir());
    TestPki pki(*dir_);
    pki.make_ca("other-ca");
    pki.make_server("other-server", "broker.local", {"localhost"}, {"127.0.0.1", "::1"});
    pki.make_ca("ca");
    pki.make_server("server", "broker.local", {"localhost", "broker.local"}, {"127.0.0.1", "::1"});
    pki.make_server("server2", "broker.local", {"localhost"}, {"127.0.0.2"});
    pki.make_server("rsa-server", "localhost", {"localhost"}, {}, 0, 30, crypto::KeyType::kRsa2048);
    pki.make_server("expired", "localhost", {"localhost"}, {}, -10 * 86400, 2);
    pki.make_client("alice", "alice", "mq");
    pki.make_client("bob", "bob", "mq");
    pki.make_client("carol-expired", "carol", "mq", -10 * 86400, 2);
    TestPki other(*dir_);
    other.make_ca("other-ca2");
    other.make_client("mallory", "mallory", "mq");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string f(const std::string& name) { return *dir_ + "/" + name; }

  static TlsServerOptions server_opts(const std::string& cert = "server") {
    TlsServerOptions o;
    o.certfile = f(cert + ".crt");
    o.keyfile = f(cert + ".key");
    o.cafile = f("ca.crt");
    return o;
  }
  static TlsClientOptions client_opts() {
    TlsClientOptions o;
    o.cafile = f("ca.crt");
    return o;
  }
  static std::shared_ptr<const TlsContext> server_ctx(const TlsServerOptions& o) {
    auto c = TlsContext::server(o);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? *c : nullptr;
  }
  static std::shared_ptr<const TlsContext> client_ctx(const TlsClientOptions& o) {
    auto c = TlsContext::client(o);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? *c : nullptr;
  }

  static std::string* dir_;
};
std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, HandshakeAlpnAndPeerIdentity) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsServerOptions so = server_opts();
    so.require_certificate = true;
    so.alpn = {"mqtt"};
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    co.certfile = f("alice.crt");
    co.keyfile = f("alice.key");
    co.alpn = {"mqtt"};
    TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_EQ(p.client->wanted_events(false, false) & EPOLLOUT, uint32_t(EPOLLOUT));
    EXPECT_EQ(p.server->wanted_events(false, false) & EPOLLIN, uint32_t(EPOLLIN));
    auto o = run_handshake(p);
    ASSERT_TRUE(o.both_ok()) << p.client->error_text(o.client) << " / "
                             << p.server->error_text(o.server);
    EXPECT_TRUE(p.server->handshake_done());
    EXPECT_STREQ(p.server->name(), "tls");
    EXPECT_EQ(p.server->tls(), p.server.get());
    EXPECT_EQ(p.server->alpn_protocol(), "mqtt");
    EXPECT_EQ(p.client->alpn_protocol(), "mqtt");
    EXPECT_EQ(p.server->protocol_version(), testing::version_name(max));
    EXPECT_EQ(p.client->protocol_version(), testing::version_name(max));
    // TLS 1.3 suites name no key exchange.
    EXPECT_THAT(p.server->cipher_suite(), HasSubstr(*max ? "ECDHE-ECDSA" : "TLS1-3-"));
    EXPECT_THAT(p.server->cipher_suite(), ::testing::AnyOf(HasSubstr("GCM"), HasSubstr("CHACHA")));
    EXPECT_TRUE(p.server->has_peer_certificate());
    EXPECT_EQ(p.server->peer_common_name(), "alice");
    EXPECT_EQ(p.server->peer_subject_rfc2253(), "CN=alice,O=mq");
    EXPECT_TRUE(p.client->has_peer_certificate());
    EXPECT_EQ(p.client->peer_common_name(), "broker.local");
    EXPECT_EQ(p.client->peer_subject_rfc2253(), "CN=broker.local");
    EXPECT_EQ(p.server->psk_identity(), "");
  }
}

// The subject string matches what OpenSSL's RFC 2253 printer (Mosquitto's) makes of it.
TEST_F(TlsTest, SubjectMatchesOpensslRfc2253) {
  crypto::DistinguishedName dn = {
      {std::string("\x55\x04\x06"), 19, "DE"},
      {std::string("\x55\x04\x0a"), 12, "Ex, Inc. <a+b>"},
      {std::string("\x55\x04\x0b"), 12, "\xc3\x9cn\xc3\xaf"},
      {std::string("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01"), 22, "a@b.example"},
      {std::string("\x55\x04\x03"), 12, "#dave; \"x\" "},
  };
  TestPki pki(*dir_);
  pki.make_ca("odd-ca");
  pki.make_client_dn("odd", dn);
  TlsServerOptions so = server_opts();
  so.cafile = f("odd-ca.crt");
  so.require_certificate = true;
  TlsClientOptions co = client_opts();
  co.certfile = f("odd.crt");
  co.keyfile = f("odd.key");
  TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
  ASSERT_TRUE(run_handshake(p).both_ok());
  std::string ours = p.server->peer_subject_rfc2253();
  EXPECT_EQ(ours,
            "CN=\\#dave\\; \\\"x\\\"\\ ,emailAddress=a@b.example,OU=\\C3\\9Cn\\C3\\AF,"
            "O=Ex\\, Inc. \\<a\\+b\\>,C=DE");
  EXPECT_EQ(p.server->peer_common_name(), "#dave; \"x\" ");
  if (std::system("openssl version >/dev/null 2>&1") != 0) return;
  std::string out = f("odd.subject");
  ASSERT_EQ(std::system(
                ("openssl x509 -noout -subject -nameopt RFC2253 -in " + f("odd.crt") + " > " + out)
                    .c_str()),
            0);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ("subject=" + ours, line);
}

TEST_F(TlsTest, RsaServerCertificateWithDefaultCiphers) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    TlsPair p = make_tls_pair(server_ctx(server_opts("rsa-server")), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_TRUE(o.both_ok()) << p.client->error_text(o.client);
    EXPECT_EQ(p.client->protocol_version(), testing::version_name(max));
    EXPECT_THAT(p.client->cipher_suite(), HasSubstr(*max ? "ECDHE-RSA" : "TLS1-3-"));
  }
}

TEST_F(TlsTest, EmptyServerNameFailsUnlessInsecure) {
  TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "");
  auto o = run_handshake(p);
  ASSERT_EQ(o.client.status, IoStatus::kError);
  EXPECT_THAT(p.client->error_text(o.client), HasSubstr("host name (none given)"));
  TlsClientOptions co = client_opts();
  co.insecure = true;
  TlsPair q = make_tls_pair(server_ctx(server_opts()), client_ctx(co), "");
  EXPECT_TRUE(run_handshake(q).both_ok());
}

// A CA list bigger than a record (a capath like /etc/ssl/certs): mbedTLS names as many
// CAs in the CertificateRequest as fit and the handshake goes on.
TEST_F(TlsTest, LargeCaListStillRequestsCertificates) {
  if (access(kOsCaBundle, R_OK) != 0) GTEST_SKIP() << "no " << kOsCaBundle;
  std::string bundle = f("big-bundle.crt");
  {
    std::ifstream os(kOsCaBundle), ca(f("ca.crt"));
    std::ofstream out(bundle);
    out << os.rdbuf() << ca.rdbuf();
  }
  TlsServerOptions so = server_opts();
  so.cafile = bundle;
  so.require_certificate = true;
  TlsClientOptions co = client_opts();
  co.certfile = f("alice.crt");
  co.keyfile = f("alice.key");
  TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
  auto o = run_handshake(p);
  EXPECT_TRUE(o.both_ok()) << p.client->error_text(o.client) << " / "
                           << p.server->error_text(o.server);
  EXPECT_EQ(p.server->peer_common_name(), "alice");
}

TEST_F(TlsTest, UnknownAlpnFromClientDoesNotFail) {
  TlsServerOptions so = server_opts();
  so.alpn = {"mqtt"};
  TlsClientOptions co = client_opts();
  co.alpn = {"x-unknown", "h2"};
  TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
  auto o = run_handshake(p);
  ASSERT_TRUE(o.both_ok()) << p.client->error_text(o.client) << " / "
                           << p.server->error_text(o.server);
  EXPECT_EQ(p.server->alpn_protocol(), "");
  EXPECT_EQ(p.client->alpn_protocol(), "");
  // And a client offering nothing gets nothing.
  TlsPair q = make_tls_pair(server_ctx(so), client_ctx(client_opts()), "localhost");
  ASSERT_TRUE(run_handshake(q).both_ok());
  EXPECT_EQ(q.server->alpn_protocol(), "");
  EXPECT_FALSE(q.server->has_peer_certificate());  // require_certificate off: none asked for
  EXPECT_EQ(q.server->peer_common_name(), "");
}

// Sends `out` from `a` to `b` and `back` from `b` to `a` at once, through partial writes, until
// both arrive; returns what each side read.
void exchange(Transport& a, Transport& b, const std::string& out, const std::string& back,
              std::string& got_b, std::string& got_a, int* partial_writes) {
  size_t sent_a = 0, sent_b = 0;
  std::vector<char> buf(7000);
  auto pump_write = [&](Transport& t, const std::string& data, size_t& sent) {
    while (sent < data.size()) {
      // Three iovecs of odd sizes so records straddle buffer boundaries.
      size_t left = data.size() - sent;
      size_t n1 = std::min<size_t>(left, 5), n2 = std::min<size_t>(left - n1, 3000);
      iovec iov[3] = {{const_cast<char*>(data.data() + sent), n1},
                      {const_cast<char*>(data.data() + sent + n1), n2},
                      {const_cast<char*>(data.data() + sent + n1 + n2), left - n1 - n2}};
      IoResult r = t.writev(iov, 3);
      if (!r.is_ok()) {
        ASSERT_EQ(r.status, IoStatus::kWouldBlock) << t.error_text(r);
        ++*partial_writes;
        break;
      }
      if (r.bytes < left) ++*partial_writes;
      sent += r.bytes;
    }
    (void)t.flush();
  };
  auto pump_read = [&](Transport& t, std::string& got) {
    for (;;) {
      IoResult r = t.read(buf.data(), buf.size());
      if (!r.is_ok()) {
        ASSERT_EQ(r.status, IoStatus::kWouldBlock) << t.error_text(r);
        ASSERT_FALSE(t.has_buffered_input());
        return;
      }
      got.append(buf.data(), r.bytes);
    }
  };
  for (int i = 0; i < 20000; ++i) {
    pump_write(a, out, sent_a);
    pump_write(b, back, sent_b);
    pump_read(b, got_b);
    pump_read(a, got_a);
    if (got_b.size() == out.size() && got_a.size() == back.size()) return;
    bool aw = sent_a < out.size(), bw = sent_b < back.size();
    testing::wait_either(a, true, aw, b, true, bw);
  }
}

TEST_F(TlsTest, OneMegabyteEachWayWithPartialWrites) {
  TlsPair p =
      make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "localhost", 16384);
  ASSERT_TRUE(run_handshake(p).both_ok());
  std::string up(1 << 20, '\0'), down(1 << 20, '\0');
  for (size_t i = 0; i < up.size(); ++i) {
    up[i] = char(i * 7 + (i >> 13));
    down[i] = char(i * 13 + (i >> 11));
  }
  std::string got_server, got_client;
  int partial = 0;
  exchange(*p.client, *p.server, up, down, got_server, got_client, &partial);
  EXPECT_EQ(got_server.size(), up.size());
  EXPECT_EQ(got_client.size(), down.size());
  EXPECT_TRUE(got_server == up);
  EXPECT_TRUE(got_client == down);
  EXPECT_GT(partial, 0);
}

TEST_F(TlsTest, BufferedInputAndCloseNotify) {
  TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "localhost");
  ASSERT_TRUE(run_handshake(p).both_ok());
  std::string a(100, 'a'), b(100, 'b');
  iovec iov{a.data(), a.size()};
  ASSERT_TRUE(p.client->writev(&iov, 1).is_ok());
  iov = {b.data(), b.size()};
  ASSERT_TRUE(p.client->writev(&iov, 1).is_ok());
  char buf[10];
  ASSERT_TRUE(p.server->read(buf, sizeof buf).is_ok());
  EXPECT_TRUE(p.server->has_buffered_input());  // the rest of the record sits decrypted
  std::string got(buf, 10);
  for (int i = 0; i < 100; ++i) {
    IoResult r = p.server->read(buf, sizeof buf);
    if (!r.is_ok()) break;
    got.append(buf, r.bytes);
  }
  EXPECT_EQ(got, a + b);
  p.client->shutdown();
  EXPECT_TRUE(p.client->flush().is_ok());
  IoResult r = p.server->read(buf, sizeof buf);
  EXPECT_EQ(r.status, IoStatus::kClosed);
  iov = {a.data(), a.size()};
  EXPECT_EQ(p.client->writev(&iov, 1).status, IoStatus::kError);
}

// An idle connection gives its record buffers back (mq's mbedTLS patch), keeps them while a
// record is partly read or unsent, and works as before afterwards: data both ways (several
// records, partial writes), then close_notify. The heap shrinks by at least the two buffers.
TEST_F(TlsTest, IdleConnectionReleasesRecordBuffers) {
#if !defined(MQ_TLS_IDLE_BUFFERS)
  GTEST_SKIP() << "built against an mbedTLS without mbedtls_ssl_set_idle_buffers";
#endif
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(co), "localhost", 16384);
    ASSERT_TRUE(run_handshake(p).both_ok());
    EXPECT_FALSE(p.server->buffers_released());
    // A first exchange, as CONNECT and CONNACK (a TLS 1.3 server's tickets go out with it).
    std::string connect, connack;
    int partial = 0;
    exchange(*p.client, *p.server, "connect", "connack", connect, connack, &partial);
    ASSERT_EQ(connect, "connect");
    ASSERT_EQ(connack, "connack");

    size_t before = mallinfo2().uordblks;
    p.server->release_idle_buffers(true);
    size_t after = mallinfo2().uordblks;
    ASSERT_TRUE(p.server->buffers_released());
    // 16 KiB in + 8 KiB out (mq_config.h) and their record overhead.
    if (before > 0) {  // 0: no malloc accounting (sanitizer build)
      EXPECT_GE(before - after, size_t(16384 + 8192));
    }
    p.server->release_idle_buffers(false);  // already released: nothing changes
    EXPECT_EQ(mallinfo2().uordblks, after);

    // A record read in part keeps the buffers; the rest reads fine.
    std::string msg(100, 'm');
    iovec iov{msg.data(), msg.size()};
    ASSERT_TRUE(p.client->writev(&iov, 1).is_ok());
    char buf[10];
    IoResult r = IoResult::would_block();
    for (int i = 0; i < 100 && r.status == IoStatus::kWouldBlock; ++i) {
      r = p.server->read(buf, sizeof buf);
      if (r.status == IoStatus::kWouldBlock) testing::wait_either(*p.server, true, false,
                                                                  *p.client, false, false);
    }
    ASSERT_TRUE(r.is_ok()) << p.server->error_text(r);
    EXPECT_FALSE(p.server->buffers_released());
    ASSERT_TRUE(p.server->has_buffered_input());
    p.server->release_idle_buffers(true);
    EXPECT_FALSE(p.server->buffers_released());
    std::string got(buf, r.bytes);
    while ((r = p.server->read(buf, sizeof buf)).is_ok()) got.append(buf, r.bytes);
    EXPECT_EQ(got, msg);
    p.server->release_idle_buffers(false);
    EXPECT_TRUE(p.server->buffers_released());

    // Unsent record bytes keep them too: fill the socket, then release: kept.
    std::string bulk(300000, 'b');
    size_t sent = 0;
    for (;;) {
      iovec biov{bulk.data() + sent, bulk.size() - sent};
      IoResult w = p.server->writev(&biov, 1);
      if (!w.is_ok()) break;
      sent += w.bytes;
    }
    ASSERT_LT(sent, bulk.size());
    EXPECT_FALSE(p.server->buffers_released());
    p.server->release_idle_buffers(true);
    EXPECT_FALSE(p.server->buffers_released());

    // The client reads what was accepted (the client's buffers were released meanwhile).
    p.client->release_idle_buffers(true);
    EXPECT_TRUE(p.client->buffers_released());
    std::string got_bulk;
    std::vector<char> big(16384);
    for (int i = 0; i < 10000 && got_bulk.size() < sent; ++i) {
      (void)p.server->flush();
      while ((r = p.client->read(big.data(), big.size())).is_ok()) got_bulk.append(big.data(), r.bytes);
      ASSERT_EQ(r.status, IoStatus::kWouldBlock) << p.client->error_text(r);
      if (got_bulk.size() < sent)
        testing::wait_either(*p.client, true, false, *p.server, false, true);
    }
    EXPECT_TRUE(got_bulk == bulk.substr(0, sent));
    p.server->release_idle_buffers(true);
    EXPECT_TRUE(p.server->buffers_released());

    // Traffic after releases: 100 KB each way at once, with partial writes; then close_notify.
    std::string up(100000, '\0'), down(100000, '\0');
    for (size_t i = 0; i < up.size(); ++i) {
      up[i] = char(i * 7 + (i >> 9));
      down[i] = char(i * 13 + (i >> 11));
    }
    std::string got_server, got_client;
    exchange(*p.client, *p.server, up, down, got_server, got_client, &partial);
    EXPECT_TRUE(got_server == up);
    EXPECT_TRUE(got_client == down);
    p.client->release_idle_buffers(true);
    p.server->release_idle_buffers(true);
    EXPECT_TRUE(p.client->buffers_released());
    EXPECT_TRUE(p.server->buffers_released());
    std::string got_server2, got_client2;
    exchange(*p.client, *p.server, "ping", "pong", got_server2, got_client2, &partial);
    EXPECT_EQ(got_server2, "ping");
    EXPECT_EQ(got_client2, "pong");

    // A busy connection: at most 4 releases between two periodic calls, then the timer's.
    for (int i = 0; i < 6; ++i) {
      std::string a, b;
      exchange(*p.client, *p.server, "x", "y", a, b, &partial);
      ASSERT_EQ(a, "x");
      p.server->release_idle_buffers(false);
      EXPECT_EQ(p.server->buffers_released(), i < 4) << i;
    }
    p.server->release_idle_buffers(true);
    EXPECT_TRUE(p.server->buffers_released());

    p.server->shutdown();
    EXPECT_TRUE(p.server->flush().is_ok());
    r = IoResult::would_block();
    for (int i = 0; i < 100 && r.status == IoStatus::kWouldBlock; ++i) {
      r = p.client->read(buf, sizeof buf);
      if (r.status == IoStatus::kWouldBlock) testing::wait_either(*p.client, true, false,
                                                                  *p.server, false, false);
    }
    EXPECT_EQ(r.status, IoStatus::kClosed);
  }
}

// shutdown() with records still in flight: everything written arrives, then close_notify.
TEST_F(TlsTest, ShutdownAfterPendingWrites) {
  TlsPair p =
      make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "localhost", 8192);
  ASSERT_TRUE(run_handshake(p).both_ok());
  std::string data(200000, 'x');
  size_t sent = 0;
  for (;;) {
    iovec iov{data.data() + sent, data.size() - sent};
    IoResult r = p.client->writev(&iov, 1);
    if (!r.is_ok()) break;
    sent += r.bytes;
  }
  ASSERT_GT(sent, 0u);
  ASSERT_LT(sent, data.size());
  p.client->shutdown();
  EXPECT_EQ(p.client->wanted_events(false, false) & EPOLLOUT, uint32_t(EPOLLOUT));
  std::string got;
  IoResult r = IoResult::would_block();
  char buf[16384];
  for (int i = 0; i < 10000 && r.status != IoStatus::kClosed; ++i) {
    (void)p.client->flush();
    while ((r = p.server->read(buf, sizeof buf)).is_ok()) got.append(buf, r.bytes);
    ASSERT_NE(r.status, IoStatus::kError) << p.server->error_text(r);
  }
  EXPECT_EQ(r.status, IoStatus::kClosed);
  EXPECT_EQ(got.size(), sent);
  EXPECT_TRUE(p.client->flush().is_ok());
  EXPECT_EQ(p.client->wanted_events(false, false), 0u);
}

TEST_F(TlsTest, OsCertificateBundle) {
  if (access(kOsCaBundle, R_OK) != 0) GTEST_SKIP() << "no " << kOsCaBundle;
  TlsClientOptions co;
  co.use_os_certs = true;
  auto c = TlsContext::client(co);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  // Our test CA is not in it.
  TlsPair p = make_tls_pair(server_ctx(server_opts()), *c, "localhost");
  auto o = run_handshake(p);
  EXPECT_EQ(p.client->error_text(o.client), "unknown certificate authority");
}

// Client certificate refusals: in TLS 1.2 the client's handshake fails; in TLS 1.3 it has
// finished before the server decides, and the alert arrives on the client's first read.
TEST_F(TlsTest, ClientCertificateRequiredAndMissing) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsServerOptions so = server_opts();
    so.require_certificate = true;
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_EQ(o.server.status, IoStatus::kError);
    EXPECT_EQ(p.server->error_text(o.server), "client did not present a certificate");
    if (*max) {
      ASSERT_EQ(o.client.status, IoStatus::kError);
    }
    IoResult c = client_result_after_read(p, o.client);
    ASSERT_EQ(c.status, IoStatus::kError);
    EXPECT_EQ(p.client->error_text(c), "server requires a client certificate");
  }
}

TEST_F(TlsTest, ClientCertificateFromUnknownCa) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsServerOptions so = server_opts();
    so.require_certificate = true;
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    co.certfile = f("mallory.crt");
    co.keyfile = f("mallory.key");
    TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_EQ(o.server.status, IoStatus::kError);
    EXPECT_EQ(p.server->error_text(o.server),
              "client certificate from an unknown certificate authority");
    if (*max) {
      ASSERT_EQ(o.client.status, IoStatus::kError);
    }
    IoResult c = client_result_after_read(p, o.client);
    ASSERT_EQ(c.status, IoStatus::kError);
    EXPECT_EQ(p.client->error_text(c),
              "the server does not trust our certificate (unknown certificate authority)");
  }
}

TEST_F(TlsTest, ExpiredClientCertificate) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsServerOptions so = server_opts();
    so.require_certificate = true;
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    co.certfile = f("carol-expired.crt");
    co.keyfile = f("carol-expired.key");
    TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_EQ(o.server.status, IoStatus::kError);
    EXPECT_THAT(p.server->error_text(o.server), HasSubstr("client certificate expired on 20"));
    IoResult c = client_result_after_read(p, o.client);
    EXPECT_EQ(p.client->error_text(c), "the server says our certificate has expired");
  }
}

// In TLS 1.3 the client's alert comes unencrypted while the server expects handshake keys.
TEST_F(TlsTest, WrongCa) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    co.cafile = f("other-ca2.crt");
    TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_EQ(o.client.status, IoStatus::kError);
    EXPECT_EQ(p.client->error_text(o.client), "unknown certificate authority");
    ASSERT_EQ(o.server.status, IoStatus::kError);
    EXPECT_THAT(p.server->error_text(o.server),
                HasSubstr("does not trust our certificate (unknown certificate authority)"));
  }
}

TEST_F(TlsTest, ExpiredServerCertificate) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    TlsPair p = make_tls_pair(server_ctx(server_opts("expired")), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_EQ(o.client.status, IoStatus::kError);
    std::string text = p.client->error_text(o.client);
    EXPECT_EQ(p.server->error_text(o.server), "the client says our certificate has expired");
    EXPECT_THAT(text, ::testing::MatchesRegex(
                          "certificate expired on 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:]{8}"));
  }
}

TEST_F(TlsTest, HostNameMismatchListsNames) {
  struct Case {
    const char* host;
    const char* want;
  } cases[] = {
      {"127.0.0.1",
       "certificate for 'broker.local' does not match the host name 127.0.0.1 "
       "(it names: localhost, 127.0.0.2)"},
      {"other.example",
       "certificate for 'broker.local' does not match the host name "
       "other.example (it names: localhost, 127.0.0.2)"},
      {"::1", "does not match the host name ::1"},
  };
  for (const Case& c : cases) {
    TlsPair p =
        make_tls_pair(server_ctx(server_opts("server2")), client_ctx(client_opts()), c.host);
    auto o = run_handshake(p);
    ASSERT_EQ(o.client.status, IoStatus::kError) << c.host;
    EXPECT_THAT(p.client->error_text(o.client), HasSubstr(c.want));
  }
}

TEST_F(TlsTest, IpAndDnsSubjectAltNamesMatch) {
  for (const char* host : {"127.0.0.1", "::1", "[::1]", "localhost", "broker.local"}) {
    TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), host);
    auto o = run_handshake(p);
    EXPECT_TRUE(o.both_ok()) << host << ": " << p.client->error_text(o.client);
  }
  TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "127.0.0.2");
  auto o = run_handshake(p);
  ASSERT_EQ(o.client.status, IoStatus::kError);
  EXPECT_THAT(p.client->error_text(o.client),
              HasSubstr("(it names: localhost, broker.local, 127.0.0.1, ::1)"));
}

TEST_F(TlsTest, InsecureSkipsOnlyTheHostNameCheck) {
  TlsClientOptions co = client_opts();
  co.insecure = true;
  for (const char* host : {"127.0.0.9", "wrong.example"}) {
    TlsPair p = make_tls_pair(server_ctx(server_opts("server2")), client_ctx(co), host);
    auto o = run_handshake(p);
    EXPECT_TRUE(o.both_ok()) << host << ": " << p.client->error_text(o.client);
  }
  co.cafile = f("other-ca2.crt");
  TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(co), "localhost");
  auto o = run_handshake(p);
  ASSERT_EQ(o.client.status, IoStatus::kError);
  EXPECT_EQ(p.client->error_text(o.client), "unknown certificate authority");
}

// TLS 1.2 PSK suites and TLS 1.3 external PSKs; the 1.3 failures come as other alerts.
TEST_F(TlsTest, PskHandshakeWithIdentity) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    const bool v13 = !*max;
    TlsServerOptions so;
    so.psk_hint = "mq";
    so.psk = {{"dev1", "00112233445566778899aabbccddeeff"}, {"dev2", "0102"}};
    TlsClientOptions co;
    co.tls_max_version = max;
    co.psk = "00112233445566778899AABBCCDDEEFF";
    co.psk_identity = "dev1";
    TlsPair p = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_TRUE(o.both_ok()) << p.client->error_text(o.client) << " / "
                             << p.server->error_text(o.server);
    EXPECT_EQ(p.server->protocol_version(), testing::version_name(max));
    EXPECT_THAT(p.server->cipher_suite(), HasSubstr(v13 ? "TLS1-3-" : "PSK"));
    EXPECT_EQ(p.server->peer_common_name(), "dev1");
    EXPECT_EQ(p.server->psk_identity(), "dev1");
    EXPECT_FALSE(p.server->has_peer_certificate());
    EXPECT_EQ(p.client->psk_identity(), "dev1");

    co.psk_identity = "nobody";
    TlsPair q = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    o = run_handshake(q);
    ASSERT_EQ(o.server.status, IoStatus::kError);
    EXPECT_EQ(q.server->error_text(o.server), "unknown PSK identity 'nobody'");
    EXPECT_EQ(q.client->error_text(o.client),
              v13 ? "the server refused the handshake (unknown PSK identity?)"
                  : "the server does not know our PSK identity");

    co.psk_identity = "dev2";  // right identity, wrong key
    TlsPair r = make_tls_pair(server_ctx(so), client_ctx(co), "localhost");
    o = run_handshake(r);
    EXPECT_EQ(r.server->error_text(o.server),
              v13 ? "the PSK binder did not verify (wrong PSK key?)"
                  : "the handshake did not decrypt (wrong PSK key?)");
    EXPECT_EQ(r.client->error_text(o.client),
              v13 ? "the server could not verify our PSK (wrong PSK key?)"
                  : "the server could not decrypt our handshake (wrong PSK key?)");
  }
}

TEST_F(TlsTest, RevokedClientCertificate) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl command";
  std::string cnf = f("ca.cnf");
  testing::write_file(cnf,
                      "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\n"
                      "database = " +
                          f("index.txt") + "\ncrlnumber = " + f("crlnumber") +
                          "\ndefault_md = sha256\ndefault_crl_days = 30\n");
  testing::write_file(f("index.txt"), "");
  testing::write_file(f("crlnumber"), "01\n");
  std::string common = " -config " + cnf + " -keyfile " + f("ca.key") + " -cert " + f("ca.crt");
  ASSERT_EQ(
      std::system(
          ("openssl ca -batch" + common + " -revoke " + f("bob.crt") + " >/dev/null 2>&1").c_str()),
      0);
  ASSERT_EQ(std::system(("openssl ca -batch" + common + " -gencrl -out " + f("crl.pem") +
                         " >/dev/null 2>&1")
                            .c_str()),
            0);
  TlsServerOptions so = server_opts();
  so.require_certificate = true;
  so.crlfile = f("crl.pem");
  auto ctx = server_ctx(so);
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    co.certfile = f("bob.crt");
    co.keyfile = f("bob.key");
    TlsPair p = make_tls_pair(ctx, client_ctx(co), "localhost");
    auto o = run_handshake(p);
    ASSERT_EQ(o.server.status, IoStatus::kError);
    EXPECT_EQ(p.server->error_text(o.server), "client certificate revoked");
    IoResult c = client_result_after_read(p, o.client);
    EXPECT_EQ(p.client->error_text(c), "the server says our certificate is revoked");
    // alice, not on the list, still gets in.
    co.certfile = f("alice.crt");
    co.keyfile = f("alice.key");
    TlsPair q = make_tls_pair(ctx, client_ctx(co), "localhost");
    EXPECT_TRUE(run_handshake(q).both_ok());
  }
}

TEST_F(TlsTest, ClosedDuringHandshakeAndPlainTextPeer) {
  TlsPair p = make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "localhost");
  const char mqtt[] = "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00";
  iovec iov{const_cast<char*>(mqtt), sizeof mqtt - 1};
  ASSERT_TRUE(p.client->inner().writev(&iov, 1).is_ok());
  IoResult r = p.server->handshake();
  ASSERT_EQ(r.status, IoStatus::kError);
  EXPECT_THAT(p.server->error_text(r), HasSubstr("does not speak TLS"));

  TlsPair q = make_tls_pair(server_ctx(server_opts()), client_ctx(client_opts()), "localhost");
  q.client->close();
  r = q.server->handshake();
  ASSERT_EQ(r.status, IoStatus::kError);
  EXPECT_EQ(q.server->error_text(r), "connection closed during the TLS handshake");
}

// Heap bytes one established server connection holds (ssl context, record buffers, session,
// peer certificate), measured with mallinfo2 around making and handshaking a pair, for TLS 1.3
// (with the session ticket it sends) and TLS 1.2.
TEST_F(TlsTest, MemoryPerConnection) {
  for (const char* max : kTlsVersions) {
    SCOPED_TRACE(max);
    auto sctx = server_ctx(server_opts());
    TlsClientOptions co = client_opts();
    co.tls_max_version = max;
    auto cctx = client_ctx(co);
    TlsPair warm = make_tls_pair(sctx, cctx, "localhost");  // first-use allocations
    ASSERT_TRUE(run_handshake(warm).both_ok());
    size_t before = mallinfo2().uordblks;
    TlsPair p = make_tls_pair(sctx, cctx, "localhost");
    ASSERT_TRUE(run_handshake(p).both_ok());
    size_t both = mallinfo2().uordblks - before;
    p.client.reset();
    size_t server_only = mallinfo2().uordblks - before;
    if (both == 0) GTEST_SKIP() << "no malloc accounting (sanitizer build)";
    std::cout << "[ memory   ] one " << testing::version_name(max)
              << " server connection: " << server_only << " bytes; client: " << (both - server_only)
              << " bytes\n";
    RecordProperty(*max ? "server_connection_bytes_tls12" : "server_connection_bytes_tls13",
                   int(server_only));
    EXPECT_LT(server_only, size_t(64 * 1024));
  }
}

}  // namespace
}  // namespace mq::net
