// TlsTransport: TLS 1.2 and 1.3 (mbedTLS 3.6) as a Transport layered on an inner Transport
// (TCP today), which it owns and does all its I/O through, so the stack TCP -> TLS -> WebSocket
// composes. Holds a shared_ptr to its TlsContext (a reloaded context does not affect it). After
// the handshake it answers who the peer is (certificate CN / RFC 2253 subject, PSK identity) and
// which ALPN protocol was chosen. Most of a connection's memory is mbedTLS's two record buffers,
// which an idle connection gives back (release_idle_buffers).
// Not thread-safe: used only on its connection's loop.
#pragma once

#include <memory>
#include <string>

#include "net/tls_context.h"
#include "net/transport.h"

namespace mq::net {

class TlsTransport final : public Transport {
 public:
  // Server role. REQUIRES: inner non-null, ctx->is_server().
  TlsTransport(std::unique_ptr<Transport> inner, std::shared_ptr<const TlsContext> ctx);
  // Client role: `server_name` is the host as the user gave it: a DNS name (sent as SNI and
  // checked against the certificate) or an IPv4/IPv6 literal (checked against iPAddress SANs,
  // no SNI). REQUIRES: inner non-null, !ctx->is_server().
  TlsTransport(std::unique_ptr<Transport> inner, std::shared_ptr<const TlsContext> ctx,
               std::string server_name);
  ~TlsTransport() override;

  const char* name() const override { return "tls"; }
  int fd() const override { return inner_->fd(); }
  const std::string& peer_address() const override { return inner_->peer_address(); }

  // Runs the TLS handshake as far as the socket allows. kError with error_text() saying why
  // ("unknown certificate authority", "certificate expired on ...", host name mismatches...).
  IoResult handshake() override;
  bool handshake_done() const override;

  // Application data. kClosed on close_notify or on a TCP end of stream without one.
  IoResult read(void* buf, size_t len) override;
  bool has_buffered_input() const override;
  // Encrypts up to one record per buffer chunk; bytes handed to mbedTLS count as written even
  // while their record is still in flight (flush() or the next writev() pushes it out). Small
  // buffers are gathered on a 16 KB stack area so a header and its payload share a record.
  IoResult writev(const iovec* iov, int iovcnt) override;
  IoResult flush() override;
  uint32_t wanted_events(bool want_read, bool want_write) const override;
  // Shrinks mbedTLS's record buffers (about 25 KB) to a few bytes when the handshake is over and
  // no record is partly read or unsent; mbedTLS grows them back on the next read or write. At
  // most kMaxReleasesPerPeriod releases between two periodic calls. A no-op when mbedTLS lacks
  // mq's patch (Debian's libmbedtls).
  void release_idle_buffers(bool periodic) override;
  // Whether the record buffers are released now (tests).
  bool buffers_released() const;

  // Sends close_notify best effort, then shuts the inner transport down once it is out.
  void shutdown() override;
  void close() override { inner_->close(); }
  const TlsTransport* tls() const override { return this; }
  std::string error_text(const IoResult& r) const override;

  // --- after the handshake ---
  // The peer certificate's subject CN; with a PSK suite, the PSK identity. Empty if neither.
  std::string peer_common_name() const;
  // The subject as OpenSSL's XN_FLAG_RFC2253 prints it (Mosquitto use_subject_as_username):
  // most specific RDN first, e.g. "CN=alice,O=mq". Empty without a certificate.
  std::string peer_subject_rfc2253() const;
  bool has_peer_certificate() const;
  // The PSK identity used (the client's, as the server saw it), empty when not PSK.
  const std::string& psk_identity() const;
  std::string alpn_protocol() const;     // "" when none was negotiated
  std::string cipher_suite() const;      // mbedTLS name, e.g. "TLS-ECDHE-ECDSA-WITH-AES-..."
  std::string protocol_version() const;  // "TLSv1.2" or "TLSv1.3"

  Transport& inner() { return *inner_; }

  struct Conn;  // mbedTLS state (tls_conn.h)

 private:
  IoResult fail(int code);
  IoResult refuse_client_certificate();
  IoResult start_server();
  IoResult drain_shutdown();

  std::unique_ptr<Transport> inner_;
  std::shared_ptr<const TlsContext> ctx_;
  std::unique_ptr<Conn> c_;
};

}  // namespace mq::net
