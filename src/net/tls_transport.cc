// TlsTransport's record half over mbedTLS 3.6: reading, writing, flushing, shutdown and the
// idle record buffers, once the handshake (tls_handshake.cc) is done. Design notes:
// - writev: mbedtls_ssl_write encrypts one record into its output buffer before sending; when
//   the send then blocks (WANT_WRITE with bytes left) the bytes are already ours, so they are
//   reported as written and the record is pushed later. mbedtls_ssl_write(.., 0) with bytes left
//   only flushes, which is how flush() and the next writev() push it.
// - Idle buffers: with mq's mbedTLS (idle-buffers.patch) release_idle_buffers shrinks the 16 KiB
//   input and 8 KiB output record buffers to 64 bytes each once nothing is in them; every
//   mbedTLS call that reads or writes records grows them back first. `released` mirrors that
//   (cleared wherever such a call is made), and `releases` caps the shrink/grow cycles of a busy
//   connection per period of the owner's timer.
#include "net/tls_transport.h"

#include <mbedtls/ssl_ciphersuites.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/tls_conn.h"
#include "net/tls_internal.h"

namespace mq::net {

namespace {

// Releases of the record buffers after a read or write between two periodic calls: a
// connection with more traffic than that keeps its buffers until the timer finds it quiet.
constexpr uint8_t kMaxReleasesPerPeriod = 4;

using Want = TlsTransport::Conn::Want;

}  // namespace

TlsTransport::~TlsTransport() = default;

bool TlsTransport::handshake_done() const {
  return c_->done;
}

IoResult TlsTransport::read(void* buf, size_t len) {
  if (!c_->done) {
    IoResult h = handshake();
    if (!h.is_ok()) return h;
  }
  if (c_->failed) return IoResult::error(c_->inner_result.sys_errno);
  if (len == 0) return IoResult::would_block();
  c_->released = false;  // mbedTLS grows the buffers back
  int rc = mbedtls_ssl_read(&c_->ssl, static_cast<unsigned char*>(buf), len);
  // A TLS 1.3 NewSessionTicket (when signalled) is not data: read on.
  while (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    rc = mbedtls_ssl_read(&c_->ssl, static_cast<unsigned char*>(buf), len);
  if (rc > 0) {
    c_->read_want = Want::kNone;
    return IoResult::ok(size_t(rc));
  }
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
    c_->read_want = rc == MBEDTLS_ERR_SSL_WANT_READ ? Want::kRead : Want::kWrite;
    return IoResult::would_block();
  }
  // A TCP end of stream without close_notify is treated as a close, like Mosquitto does.
  if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
    return IoResult::closed();
  return fail(rc);
}

bool TlsTransport::has_buffered_input() const {
  if (c_->peek_pos < c_->peek.size()) return true;
  if (c_->done && !c_->failed &&
      (mbedtls_ssl_get_bytes_avail(&c_->ssl) > 0 || mbedtls_ssl_check_pending(&c_->ssl) != 0))
    return true;
  return inner_->has_buffered_input();
}

IoResult TlsTransport::writev(const iovec* iov, int iovcnt) {
  if (!c_->done) {
    IoResult h = handshake();
    if (!h.is_ok()) return h;
  }
  if (c_->failed) return IoResult::error(c_->inner_result.sys_errno);
  if (c_->shutdown_started) return IoResult::error(EPIPE);
  if (c_->pending_out()) {
    IoResult f = flush();
    if (!f.is_ok()) return f;
  }
  c_->released = false;  // mbedtls_ssl_write grows the buffers back
  // Small buffers are gathered so an MQTT header and its payload share one record.
  unsigned char stage[16384];
  const size_t max = std::min(c_->max_payload, sizeof stage);
  size_t total = 0;
  int i = 0;
  size_t off = 0;
  while (i < iovcnt) {
    if (off >= iov[i].iov_len) {
      ++i;
      off = 0;
      continue;
    }
    const unsigned char* p = static_cast<const unsigned char*>(iov[i].iov_base) + off;
    size_t n = iov[i].iov_len - off;
    if (n < max && i + 1 < iovcnt) {
      size_t got = 0, o = off;
      for (int j = i; j < iovcnt && got < max; ++j, o = 0) {
        size_t take = std::min(iov[j].iov_len - o, max - got);
        memcpy(stage + got, static_cast<const unsigned char*>(iov[j].iov_base) + o, take);
        got += take;
      }
      p = stage;
      n = got;
    }
    n = std::min(n, max);
    int rc = mbedtls_ssl_write(&c_->ssl, p, n);
    size_t accepted = 0;
    if (rc > 0) {
      accepted = size_t(rc);
    } else if (rc == MBEDTLS_ERR_SSL_WANT_WRITE && c_->pending_out()) {
      accepted = n;  // encrypted into mbedTLS's buffer: in flight, counts as written
    } else if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ) {
      c_->write_want = rc == MBEDTLS_ERR_SSL_WANT_READ ? Want::kRead : Want::kWrite;
      break;
    } else {
      if (total > 0) break;  // report what went out; the error shows on the next call
      return fail(rc);
    }
    total += accepted;
    c_->write_want = Want::kNone;
    while (accepted > 0) {  // advance (i, off) past the accepted bytes
      size_t step = std::min(accepted, iov[i].iov_len - off);
      off += step;
      accepted -= step;
      if (off == iov[i].iov_len && i + 1 < iovcnt) {
        ++i;
        off = 0;
      }
    }
    if (c_->pending_out()) {
      c_->write_want = Want::kWrite;
      break;
    }
  }
  return total > 0 ? IoResult::ok(total) : IoResult::would_block();
}

IoResult TlsTransport::flush() {
  if (c_->failed) return IoResult::error(c_->inner_result.sys_errno);
  if (!c_->done) return inner_->flush();
  if (c_->shutdown_started) return drain_shutdown();
  if (c_->pending_out()) {
    static const unsigned char kNothing = 0;
    int rc = mbedtls_ssl_write(&c_->ssl, &kNothing, 0);  // only pushes the pending record
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ)
      return IoResult::would_block();
    if (rc < 0) return fail(rc);
  }
  return inner_->flush();
}

IoResult TlsTransport::drain_shutdown() {
  Conn& c = *c_;
  if (c.done && !c.failed) {
    c.released = false;  // mbedtls_ssl_close_notify grows the buffers back
    while (!c.notify_queued || c.pending_out()) {
      bool had_pending = c.pending_out();
      int rc = mbedtls_ssl_close_notify(&c.ssl);  // only flushes while a record is pending
      if (!had_pending) c.notify_queued = true;   // the alert is in mbedTLS's buffer now
      if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ)
        return IoResult::would_block();
      if (rc < 0) break;  // best effort: give up on close_notify
    }
  }
  if (!c.inner_shut) {
    c.inner_shut = true;
    inner_->shutdown();
  }
  return inner_->flush();
}

void TlsTransport::shutdown() {
  if (c_->shutdown_started) return;
  c_->shutdown_started = true;
  if (!c_->done || c_->failed) c_->notify_queued = true;
  (void)drain_shutdown();
}

void TlsTransport::release_idle_buffers(bool periodic) {
#if defined(MQ_TLS_IDLE_BUFFERS)
  Conn& c = *c_;
  if (periodic) c.releases = 0;
  if (c.released || !c.done || c.failed || c.shutdown_started || c.pending_out() ||
      c.releases >= kMaxReleasesPerPeriod)
    return;
  // mbedTLS keeps the buffers while a record is partly read, unread or unsent.
  if (mbedtls_ssl_set_idle_buffers(&c.ssl, 1) == 1) {
    c.released = true;
    if (!periodic) ++c.releases;  // the timer's own releases do not count
  }
#else
  (void)periodic;  // Debian's mbedTLS: the buffers stay (see meson.build)
#endif
}

bool TlsTransport::buffers_released() const {
  return c_->released;
}

uint32_t TlsTransport::wanted_events(bool want_read, bool want_write) const {
  bool r = false, w = false;
  if (c_->failed) return inner_->wanted_events(want_read, want_write);
  if (!c_->done) {
    (c_->hs_want == Want::kWrite ? w : r) = true;
    if (c_->is_setup && c_->pending_out()) w = true;
  } else {
    if (want_read) (c_->read_want == Want::kWrite ? w : r) = true;
    if (want_write) (c_->write_want == Want::kRead ? r : w) = true;
    if (c_->pending_out() || (c_->shutdown_started && !c_->inner_shut)) w = true;
  }
  return inner_->wanted_events(r, w);
}

std::string TlsTransport::error_text(const IoResult& r) const {
  if (r.status == IoStatus::kClosed) return "TLS connection closed by peer";
  if (r.status != IoStatus::kError) return "";
  if (!c_->error.empty()) return c_->error;
  return inner_->error_text(r);
}

std::string TlsTransport::peer_common_name() const {
  if (!c_->psk_identity.empty()) return c_->psk_identity;
  const mbedtls_x509_crt* crt = c_->done ? mbedtls_ssl_get_peer_cert(&c_->ssl) : nullptr;
  return crt ? x509_common_name(&crt->subject) : "";
}

std::string TlsTransport::peer_subject_rfc2253() const {
  const mbedtls_x509_crt* crt = c_->done ? mbedtls_ssl_get_peer_cert(&c_->ssl) : nullptr;
  return crt ? x509_rfc2253(&crt->subject) : "";
}

bool TlsTransport::has_peer_certificate() const {
  return c_->done && mbedtls_ssl_get_peer_cert(&c_->ssl) != nullptr;
}

const std::string& TlsTransport::psk_identity() const {
  return c_->psk_identity;
}

std::string TlsTransport::alpn_protocol() const {
  const char* p = c_->done ? mbedtls_ssl_get_alpn_protocol(&c_->ssl) : nullptr;
  return p ? p : "";
}

std::string TlsTransport::cipher_suite() const {
  const char* p = c_->done ? mbedtls_ssl_get_ciphersuite(&c_->ssl) : nullptr;
  return p ? p : "";
}

std::string TlsTransport::protocol_version() const {
  return c_->done ? mbedtls_ssl_get_version(&c_->ssl) : "";
}


}  // namespace mq::net
