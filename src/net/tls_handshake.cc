// TlsTransport's handshake half over mbedTLS 3.6: setting a connection up, the BIO callbacks,
// peer verification and the error text of a failed handshake. Design notes:
// - All socket I/O goes through the inner Transport via the BIO callbacks; EAGAIN becomes
//   WANT_READ / WANT_WRITE and the last one is remembered for wanted_events(). The send callback
//   also records whether mbedTLS still holds unsent record bytes (its flush loop hands the whole
//   remainder to every call, so "the last call did not take everything" is exactly that).
// - Server ALPN: mbedTLS aborts the handshake when a client offers only protocols we do not
//   know, so the server reads the first record, looks at the ClientHello's ALPN list and picks
//   the context's config without ALPN in that case, then hands the bytes to mbedTLS.
// - Host names: mbedTLS checks DNS names and IP addresses against the subjectAltName (and CN);
//   the verify callback only collects what the error text needs.
// Record I/O, shutdown and idle buffers: tls_transport.cc.
#include "net/tls_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "net/tls_conn.h"
#include "net/tls_internal.h"

namespace mq::net {

namespace {

using Conn = TlsTransport::Conn;
using Want = Conn::Want;

constexpr size_t kMaxClientHelloRecord = 5 + 16384 + 2048;

int bio_send(void* p, const unsigned char* buf, size_t len) {
  auto* c = static_cast<Conn*>(p);
  iovec iov{const_cast<unsigned char*>(buf), len};
  IoResult r = c->inner->writev(&iov, 1);
  c->out_pending = !r.is_ok() || r.bytes < len;
  if (r.is_ok()) return r.bytes > 0 ? int(r.bytes) : MBEDTLS_ERR_SSL_WANT_WRITE;
  if (r.status == IoStatus::kWouldBlock) return MBEDTLS_ERR_SSL_WANT_WRITE;
  c->inner_result = r;
  return kTlsInnerSendFailed;
}

int bio_recv(void* p, unsigned char* buf, size_t len) {
  auto* c = static_cast<Conn*>(p);
  if (c->peek_pos < c->peek.size()) {
    size_t n = std::min(len, c->peek.size() - c->peek_pos);
    memcpy(buf, c->peek.data() + c->peek_pos, n);
    c->peek_pos += n;
    if (c->peek_pos == c->peek.size()) {
      std::string().swap(c->peek);
      c->peek_pos = 0;
    }
    return int(n);
  }
  IoResult r = c->inner->read(buf, len);
  if (r.is_ok()) return int(r.bytes);
  if (r.status == IoStatus::kWouldBlock) return MBEDTLS_ERR_SSL_WANT_READ;
  c->inner_result = r;
  return r.status == IoStatus::kClosed ? 0 : kTlsInnerRecvFailed;
}

int verify_cb(void* p, mbedtls_x509_crt* crt, int depth, uint32_t* flags) {
  auto* c = static_cast<Conn*>(p);
  VerifyNotes& n = c->notes;
  std::string cn = x509_common_name(&crt->subject);
  if (*flags & MBEDTLS_X509_BADCERT_EXPIRED && (depth == 0 || n.expired.empty()))
    n.expired = std::string(depth ? "CA certificate '" + cn + "' " : "certificate ") +
                "expired on " + x509_time_text(crt->valid_to);
  if (*flags & MBEDTLS_X509_BADCERT_FUTURE && (depth == 0 || n.not_yet_valid.empty()))
    n.not_yet_valid = std::string(depth ? "CA certificate '" + cn + "' " : "certificate ") +
                      "is not valid before " + x509_time_text(crt->valid_from);
  if (depth != 0) return 0;
  n.leaf_cn = cn;
  n.leaf_names = x509_san_names(crt);
  c->saw_peer_cert = true;
  // --insecure skips only the name check, which mbedTLS made against the name we set.
  if (!c->server && c->ctx->insecure) *flags &= ~uint32_t(MBEDTLS_X509_BADCERT_CN_MISMATCH);
  return 0;
}

// Whether the ClientHello in `rec` (one TLS record) lets us keep our ALPN list: true unless it
// has an ALPN extension naming none of `ours`. Anything unparsable: true (mbedTLS decides).
bool alpn_compatible(const std::string& rec, const std::vector<std::string>& ours) {
  const auto* p = reinterpret_cast<const unsigned char*>(rec.data());
  size_t n = rec.size();
  if (n < 5 + 4 || p[0] != 0x16 || p[5] != 0x01) return true;
  size_t i = 5 + 4 + 2 + 32;  // record header, handshake header, version, random
  auto u16 = [&](size_t at) { return size_t(p[at]) << 8 | p[at + 1]; };
  if (i + 1 > n) return true;
  i += 1 + p[i];  // session id
  if (i + 2 > n) return true;
  i += 2 + u16(i);  // cipher suites
  if (i + 1 > n) return true;
  i += 1 + p[i];  // compression methods
  if (i + 2 > n) return true;
  size_t end = std::min(n, i + 2 + u16(i));
  i += 2;
  while (i + 4 <= end) {
    size_t type = u16(i), len = u16(i + 2);
    i += 4;
    if (i + len > end) return true;
    if (type == 16 && len >= 2) {
      size_t j = i + 2, list_end = std::min(i + len, i + 2 + u16(i));
      while (j < list_end) {
        size_t l = p[j++];
        if (j + l > list_end) return true;
        std::string_view name(reinterpret_cast<const char*>(p + j), l);
        for (const std::string& o : ours)
          if (o == name) return true;
        j += l;
      }
      return false;
    }
    i += len;
  }
  return true;
}

// mbedTLS sends each handshake message as its own record, straight to the socket. With Nagle,
// the second record of a flight waits for the ACK of the first, which the peer delays (~40 ms)
// while it waits for the rest of the flight. Corking the socket while mbedTLS writes a flight
// sends it in full segments at once. Best effort: not a TCP socket (tests' socketpairs) is fine.
class CorkWhileWriting {
 public:
  explicit CorkWhileWriting(int fd) : fd_(fd) { set(1); }
  ~CorkWhileWriting() { set(0); }  // uncorking pushes what is queued
  CorkWhileWriting(const CorkWhileWriting&) = delete;
  CorkWhileWriting& operator=(const CorkWhileWriting&) = delete;

 private:
  void set(int on) {
    if (fd_ >= 0) (void)setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  }
  int fd_;
};

// The description of a plaintext alert record that failed to decrypt, or -1. A TLS 1.3 peer
// that rejects our certificate before it has switched keys sends its alert unencrypted, while
// mbedTLS already expects handshake-protected records. The record header is private state.
int plaintext_alert(const mbedtls_ssl_context& ssl) {
  const unsigned char* hdr = ssl.MBEDTLS_PRIVATE(in_hdr);
  if (hdr == nullptr || hdr[0] != MBEDTLS_SSL_MSG_ALERT || hdr[3] != 0 || hdr[4] != 2) return -1;
  return hdr[6];
}

}  // namespace

int tls_server_psk_lookup(const TlsContext::Impl& c, mbedtls_ssl_context* ssl,
                          std::string_view identity) {
  auto* conn = static_cast<Conn*>(mbedtls_ssl_get_user_data_p(ssl));
  conn->tried_identity.assign(identity);
  auto it = c.psk.find(identity);
  if (it == c.psk.end()) return MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY;
  conn->psk_identity.assign(identity);
  return mbedtls_ssl_set_hs_psk(ssl, reinterpret_cast<const unsigned char*>(it->second.data()),
                                it->second.size());
}

TlsTransport::TlsTransport(std::unique_ptr<Transport> inner, std::shared_ptr<const TlsContext> ctx)
    : inner_(std::move(inner)), ctx_(std::move(ctx)), c_(std::make_unique<Conn>()) {
  assert(inner_ && ctx_ && ctx_->is_server());
  c_->inner = inner_.get();
  c_->ctx = &ctx_->impl();
  c_->server = true;
  c_->hs_want = Want::kRead;
}

TlsTransport::TlsTransport(std::unique_ptr<Transport> inner, std::shared_ptr<const TlsContext> ctx,
                           std::string server_name)
    : inner_(std::move(inner)), ctx_(std::move(ctx)), c_(std::make_unique<Conn>()) {
  assert(inner_ && ctx_ && !ctx_->is_server());
  c_->inner = inner_.get();
  c_->ctx = &ctx_->impl();
  c_->hs_want = Want::kWrite;
  c_->notes.host = server_name;
  int rc = mbedtls_ssl_setup(&c_->ssl, &c_->ctx->conf);
  // The name (DNS or an IP literal, brackets stripped) is checked by mbedTLS and sent as SNI.
  // Without one, mbedTLS refuses to verify unless told that no name check is wanted.
  std::string host = server_name;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (rc == 0 && !host.empty())
    rc = mbedtls_ssl_set_hostname(&c_->ssl, host.c_str());
  else if (rc == 0 && c_->ctx->insecure)
    rc = mbedtls_ssl_set_hostname(&c_->ssl, nullptr);
  if (rc != 0) {
    c_->failed = true;
    c_->error = "TLS setup failed: " + tls_strerror(rc);
    return;
  }
  mbedtls_ssl_set_bio(&c_->ssl, c_.get(), bio_send, bio_recv, nullptr);
  mbedtls_ssl_set_verify(&c_->ssl, verify_cb, c_.get());
  mbedtls_ssl_set_user_data_p(&c_->ssl, c_.get());
  c_->is_setup = true;
}

IoResult TlsTransport::start_server() {
  const TlsContext::Impl& ic = *c_->ctx;
  const mbedtls_ssl_config* conf = &ic.conf;
  if (ic.has_conf_no_alpn) {
    std::string& pk = c_->peek;
    for (;;) {
      size_t need = 5;
      if (pk.size() >= 5) need = 5 + (size_t(uint8_t(pk[3])) << 8 | uint8_t(pk[4]));
      if (pk.size() >= need || need > kMaxClientHelloRecord || (!pk.empty() && pk[0] != 0x16))
        break;
      char buf[2048];
      IoResult r = inner_->read(buf, std::min(sizeof buf, need - pk.size()));
      if (r.status == IoStatus::kWouldBlock) {
        c_->hs_want = Want::kRead;
        return r;
      }
      if (!r.is_ok()) {
        c_->failed = true;
        c_->inner_result = r;
        c_->error = r.status == IoStatus::kClosed ? "connection closed during the TLS handshake"
                                                  : inner_->error_text(r);
        return r.status == IoStatus::kClosed ? IoResult::error(0) : r;
      }
      pk.append(buf, r.bytes);
    }
    if (!alpn_compatible(pk, ic.alpn)) conf = &ic.conf_no_alpn;
  }
  int rc = mbedtls_ssl_setup(&c_->ssl, conf);
  if (rc != 0) return fail(rc);
  mbedtls_ssl_set_bio(&c_->ssl, c_.get(), bio_send, bio_recv, nullptr);
  mbedtls_ssl_set_verify(&c_->ssl, verify_cb, c_.get());
  mbedtls_ssl_set_user_data_p(&c_->ssl, c_.get());
  c_->is_setup = true;
  return IoResult::ok(0);
}

IoResult TlsTransport::handshake() {
  if (c_->done) return IoResult::ok(0);
  if (c_->failed) return IoResult::error(c_->inner_result.sys_errno);
  if (!c_->is_setup) {
    IoResult r = start_server();
    if (!r.is_ok()) return r;
  }
  if (!c_->nodelay_set) {
    // Records leave whole (mq gathers a loop iteration's replies), so Nagle only adds
    // delayed-ACK stalls: a TLS 1.3 CONNACK waited ~40 ms behind the NewSessionTicket.
    c_->nodelay_set = true;
    int on = 1;
    (void)setsockopt(inner_->fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  CorkWhileWriting cork(inner_->fd());
  int rc = mbedtls_ssl_handshake(&c_->ssl);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
    c_->hs_want = rc == MBEDTLS_ERR_SSL_WANT_READ ? Want::kRead : Want::kWrite;
    return IoResult::would_block();
  }
  if (rc != 0) return fail(rc);
  c_->done = true;
  c_->hs_want = Want::kNone;
  int max = mbedtls_ssl_get_max_out_record_payload(&c_->ssl);
  if (max > 0) c_->max_payload = size_t(max);
  // PSK was used when the peer showed no certificate: a client that has a PSK, or a server
  // whose PSK callback accepted the identity (TLS 1.3 names no key exchange in the suite).
  const bool peer_cert = mbedtls_ssl_get_peer_cert(&c_->ssl) != nullptr;
  if (!c_->server && !peer_cert) c_->psk_identity = c_->ctx->psk_identity;
  if (peer_cert) c_->psk_identity.clear();
  if (c_->server && c_->ctx->require_certificate && c_->psk_identity.empty())
    if (IoResult r = refuse_client_certificate(); !r.is_ok()) return r;
  c_->notes = VerifyNotes{};
  return IoResult::ok(0);
}

// The require_certificate check TLS 1.3 leaves until after the handshake (see server_cert_cb in
// tls_context.cc); a no-op for TLS 1.2, where mbedTLS has refused such a client already. Also
// covers a resumed session, whose stored verification result comes back with it.
IoResult TlsTransport::refuse_client_certificate() {
  Conn& c = *c_;
  const uint32_t flags = mbedtls_ssl_get_verify_result(&c.ssl);
  unsigned char alert = 0;
  if (mbedtls_ssl_get_peer_cert(&c.ssl) == nullptr) {
    c.error = "client did not present a certificate";
    alert = MBEDTLS_SSL_ALERT_MSG_CERT_REQUIRED;
  } else if (flags != 0) {
    c.error = verify_failure_text(flags, true, c.notes);
    alert = flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED ? MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA
            : flags & MBEDTLS_X509_BADCERT_REVOKED   ? MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED
            : flags & MBEDTLS_X509_BADCERT_EXPIRED   ? MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED
                                                     : MBEDTLS_SSL_ALERT_MSG_BAD_CERT;
  } else {
    return IoResult::ok(0);
  }
  c.failed = true;
  c.done = false;
  c.released = false;
  (void)mbedtls_ssl_send_alert_message(&c.ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, alert);
  return IoResult::error(0);
}

IoResult TlsTransport::fail(int code) {
  Conn& c = *c_;
  c.failed = true;
  // A client without a certificate that is refused after accepting the server's certificate:
  // the server asked for one (mbedTLS keeps whether it did in private handshake state).
  const bool sent_no_cert = !c.server && !c.ctx->has_own_cert && c.saw_peer_cert;
  uint32_t flags = c.is_setup ? mbedtls_ssl_get_verify_result(&c.ssl) : 0;
  if (code == kTlsInnerSendFailed || code == kTlsInnerRecvFailed) {
    // A server refusing our missing certificate may reset the connection instead of alerting.
    c.error = sent_no_cert && !c.done ? "server requires a client certificate"
                                      : inner_->error_text(c.inner_result);
    return IoResult::error(c.inner_result.sys_errno);
  }
  if (code == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != 0 && flags != uint32_t(-1)) {
    c.error = verify_failure_text(flags, c.server, c.notes);
  } else if (code == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
    c.error = "client did not present a certificate";
    // TLS 1.3 sends certificate_required itself; for 1.2 mbedTLS sends no alert, so tell the
    // client, as OpenSSL does. Best effort.
    if (mbedtls_ssl_get_version_number(&c.ssl) == MBEDTLS_SSL_VERSION_TLS1_2)
      (void)mbedtls_ssl_send_alert_message(&c.ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                           MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
  } else if (code == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    // The alert's description byte; mbedTLS offers no getter for it.
    const unsigned char* msg = c.ssl.MBEDTLS_PRIVATE(in_msg);
    c.error = alert_text(msg != nullptr ? msg[1] : 0, c.server, sent_no_cert);
    // TLS 1.3 servers answer an unknown PSK identity or a wrong key with these two alerts.
    if (!c.server && !c.ctx->psk_identity.empty() && msg != nullptr && !c.saw_peer_cert) {
      if (msg[1] == MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE)
        c.error = "the server refused the handshake (unknown PSK identity?)";
      else if (msg[1] == MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR)
        c.error = "the server could not verify our PSK (wrong PSK key?)";
    }
  } else if (code == MBEDTLS_ERR_SSL_CONN_EOF || code == 0) {
    c.error = sent_no_cert ? "server requires a client certificate"
                           : "connection closed during the TLS handshake";
  } else if (code == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION) {
    c.error = "unsupported protocol version";
  } else if (code == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE && c.server && !c.tried_identity.empty()) {
    // TLS 1.3: an unknown identity is skipped and a wrong key fails the PSK binder.
    c.error = c.psk_identity.empty() ? "unknown PSK identity '" + c.tried_identity + "'"
                                     : "the PSK binder did not verify (wrong PSK key?)";
  } else if (code == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE) {
    c.error = "no cipher suite, group or signature algorithm in common";
  } else if (code == MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME) {
    c.error = "cannot check the server certificate's host name (none given)";
  } else if (code == MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY) {
    c.error = "unknown PSK identity '" + c.tried_identity + "'";
  } else if (code == MBEDTLS_ERR_SSL_INVALID_MAC && !c.done && plaintext_alert(c.ssl) >= 0) {
    c.error = alert_text(plaintext_alert(c.ssl), c.server, sent_no_cert);
  } else if (code == MBEDTLS_ERR_SSL_INVALID_MAC && !c.done) {
    c.error = "the handshake did not decrypt (wrong PSK key?)";
  } else if (code == MBEDTLS_ERR_SSL_INVALID_RECORD || code == MBEDTLS_ERR_SSL_DECODE_ERROR ||
             code == MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER ||
             code == MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE || code == MBEDTLS_ERR_SSL_INVALID_MAC) {
    c.error =
        c.done ? "corrupt TLS record (" + tls_strerror(code) + ")"
               : "the peer does not speak TLS or sent a bad handshake (" + tls_strerror(code) + ")";
  } else {
    c.error = tls_strerror(code);
  }
  return IoResult::error(0);
}

}  // namespace mq::net
