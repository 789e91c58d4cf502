// Private to tls_handshake.cc and tls_transport.cc: the mbedTLS state of one TlsTransport
// connection, shared by the handshake (and peer verification) and the record I/O.
#pragma once

#include <mbedtls/ssl.h>

#include <cstdint>
#include <string>

#include "net/tls_internal.h"
#include "net/tls_transport.h"

namespace mq::net {

// What the BIO callbacks return when the inner transport failed (its IoResult is kept in
// Conn::inner_result): the values of MBEDTLS_ERR_NET_RECV_FAILED / _SEND_FAILED, which mbedTLS
// passes through unchanged.
inline constexpr int kTlsInnerRecvFailed = -0x004C;
inline constexpr int kTlsInnerSendFailed = -0x004E;

struct TlsTransport::Conn {
  enum class Want : uint8_t { kNone, kRead, kWrite };

  Transport* inner = nullptr;
  const TlsContext::Impl* ctx = nullptr;
  mbedtls_ssl_context ssl;
  bool server = false;
  bool is_setup = false, done = false, failed = false;
  Want hs_want = Want::kNone, read_want = Want::kNone, write_want = Want::kNone;
  bool shutdown_started = false, notify_queued = false, inner_shut = false;
  bool out_pending = false;    // mbedTLS holds record bytes the socket did not take yet
  bool saw_peer_cert = false;  // the verify callback ran for the peer's leaf certificate
  bool nodelay_set = false;
  bool released = false;  // the record buffers are shrunk (release_idle_buffers)
  uint8_t releases = 0;   // releases since the last periodic call
  size_t max_payload = 16384;
  std::string peek;  // server: the first record, read before mbedTLS sees it
  size_t peek_pos = 0;
  IoResult inner_result;  // the inner transport's failure behind a BIO error
  std::string error;      // why we failed
  std::string psk_identity;
  std::string tried_identity;  // server: the PSK identity a client offered
  VerifyNotes notes;

  Conn() { mbedtls_ssl_init(&ssl); }
  ~Conn() { mbedtls_ssl_free(&ssl); }
  bool pending_out() const { return out_pending; }
};

}  // namespace mq::net
