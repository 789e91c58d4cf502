// Helpers for the TLS tests: a throwaway PKI made at test time with the certgen code (written to
// a temp dir that is removed afterwards; no key is ever committed), transport pairs over a
// nonblocking socketpair, and bounded pumps that drive both ends without sleeping.
// Single-threaded.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "crypto/cert.h"
#include "net/tcp_transport.h"
#include "net/tls_transport.h"

namespace mq::net::testing {

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Files of one CA and the leaves issued by it, inside `dir`.
class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  // Makes `<name>.crt` (and .key) for a CA; later leaves are issued by the last CA made.
  void make_ca(const std::string& name) {
    crypto::IssueRequest req;
    req.kind = crypto::CertKind::kCa;
    req.common_name = "mq test " + name;
    auto ca = crypto::create_ca(req, crypto::KeyType::kEcP256, now());
    ASSERT_TRUE(ca.ok()) << ca.error().to_string();
    write_file(path(name + ".crt"), ca->cert_pem);
    write_file(path(name + ".key"), ca->key_pem);
    auto auth = crypto::load_authority(ca->cert_pem, ca->key_pem);
    ASSERT_TRUE(auth.ok()) << auth.error().to_string();
    ca_ = std::move(*auth);
  }

  // A server leaf with the given CN and subjectAltNames (no local names added).
  void make_server(const std::string& name, const std::string& cn,
                   const std::vector<std::string>& dns, const std::vector<std::string>& ip,
                   int64_t not_before_shift = 0, int days = 30,
                   crypto::KeyType key_type = crypto::KeyType::kEcP256) {
    crypto::IssueRequest req;
    req.kind = crypto::CertKind::kServer;
    req.common_name = cn;
    req.dns = dns;
    req.ip = ip;
    req.include_local = false;
    req.days = days;
    auto names = crypto::build_alt_names(dns, ip, false);
    ASSERT_TRUE(names.ok()) << names.error().to_string();
    issue(name, req, *names, nullptr, not_before_shift, key_type);
  }

  // A client leaf with subject O=<org>, CN=<cn> (DER order: O first).
  void make_client(const std::string& name, const std::string& cn, const std::string& org,
                   int64_t shift = 0, int days = 30) {
    crypto::IssueRequest req;
    req.kind = crypto::CertKind::kClient;
    req.days = days;
    crypto::DistinguishedName dn;
    if (!org.empty()) dn.push_back({std::string("\x55\x04\x0a"), 12, org});
    dn.push_back({std::string("\x55\x04\x03"), 12, cn});
    issue(name, req, crypto::AltNames{}, &dn, shift);
  }

  // A client leaf with an arbitrary subject (DER order).
  void make_client_dn(const std::string& name, const crypto::DistinguishedName& dn) {
    crypto::IssueRequest req;
    req.kind = crypto::CertKind::kClient;
    req.days = 30;
    issue(name, req, crypto::AltNames{}, &dn, 0);
  }

  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  static int64_t now() { return int64_t(::time(nullptr)); }

 private:
  void issue(const std::string& name, const crypto::IssueRequest& req,
             const crypto::AltNames& names, const crypto::DistinguishedName* dn, int64_t shift,
             crypto::KeyType key_type = crypto::KeyType::kEcP256) {
    auto key = crypto::generate_key_pem(key_type);
    ASSERT_TRUE(key.ok());
    auto info = crypto::inspect_private_key(*key);
    ASSERT_TRUE(info.ok());
    std::vector<std::string> notes;
    auto pem = crypto::issue_leaf(req, *info, names, dn, ca_, now() + shift, &notes);
    ASSERT_TRUE(pem.ok()) << pem.error().to_string();
    write_file(path(name + ".crt"), *pem);
    write_file(path(name + ".key"), *key);
  }

  std::string dir_;
  crypto::CertAuthority ca_;
};

inline std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "mq-tls-XXXXXX").string();
  char* d = mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

struct TlsPair {
  std::unique_ptr<TlsTransport> client, server;
};

// Client and server over a nonblocking Unix socketpair. `sndbuf` > 0 shrinks the send buffers
// so large writes come back partial.
inline TlsPair make_tls_pair(std::shared_ptr<const TlsContext> server_ctx,
                             std::shared_ptr<const TlsContext> client_ctx,
                             const std::string& server_name, int sndbuf = 0) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  if (sndbuf > 0)
    for (int fd : sv) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  TlsPair p;
  p.client = std::make_unique<TlsTransport>(
      std::make_unique<TcpTransport>(UniqueFd(sv[0]), "client", true), std::move(client_ctx),
      server_name);
  p.server = std::make_unique<TlsTransport>(
      std::make_unique<TcpTransport>(UniqueFd(sv[1]), "server", true), std::move(server_ctx));
  return p;
}

struct HandshakeOutcome {
  IoResult client, server;
  bool both_ok() const { return client.is_ok() && server.is_ok(); }
};

// Waits (bounded) until one of the two transports can progress, per wanted_events().
inline void wait_either(const Transport& a, bool ar, bool aw, const Transport& b, bool br,
                        bool bw) {
  pollfd fds[2] = {{a.fd(), 0, 0}, {b.fd(), 0, 0}};
  uint32_t ea = a.wanted_events(ar, aw), eb = b.wanted_events(br, bw);
  fds[0].events = short(((ea & 0x001) ? POLLIN : 0) | ((ea & 0x004) ? POLLOUT : 0));
  fds[1].events = short(((eb & 0x001) ? POLLIN : 0) | ((eb & 0x004) ? POLLOUT : 0));
  ::poll(fds, 2, 2000);
}

// Runs both handshakes until neither would block. Each side stops at its first non-kWouldBlock.
inline HandshakeOutcome run_handshake(TlsPair& p) {
  HandshakeOutcome o{IoResult::would_block(), IoResult::would_block()};
  for (int i = 0; i < 200; ++i) {
    if (o.client.status == IoStatus::kWouldBlock) o.client = p.client->handshake();
    if (o.server.status == IoStatus::kWouldBlock) o.server = p.server->handshake();
    bool cw = o.client.status == IoStatus::kWouldBlock;
    bool sw = o.server.status == IoStatus::kWouldBlock;
    if (!cw && !sw) break;
    // One side finished or failed: the other may still need a flight or an alert.
    if (!cw || !sw) {
      if (!cw && !o.client.is_ok()) p.client->close();
      if (!sw && !o.server.is_ok()) p.server->close();
    }
    if (cw && sw) wait_either(*p.client, false, false, *p.server, false, false);
  }
  return o;
}

// TLS 1.3: a client's handshake ends before the server has judged the client's certificate, so
// a refusal reaches the client as an alert on its next read. Returns `handshake` when that
// failed already, else the result of reading (bounded) until something other than kWouldBlock.
inline IoResult client_result_after_read(TlsPair& p, IoResult handshake) {
  if (!handshake.is_ok()) return handshake;
  char buf[64];
  for (int i = 0; i < 100; ++i) {
    IoResult r = p.client->read(buf, sizeof buf);
    if (r.status != IoStatus::kWouldBlock) return r;
    pollfd fd{p.client->fd(), POLLIN, 0};
    ::poll(&fd, 1, 2000);
  }
  return IoResult::would_block();
}

// The highest TLS version a test runs with ("tlsv1.2", or "" for 1.3) and what it negotiates.
inline constexpr const char* kTlsVersions[] = {"tlsv1.2", ""};
inline std::string version_name(const std::string& max) {
  return max.empty() ? "TLSv1.3" : "TLSv1.2";
}

}  // namespace mq::net::testing
