// Private to src/net/tls_*.cc: the mbedTLS 3.6 state behind TlsContext and the helpers the
// transport shares with the context. The only header besides those .cc files that names mbedTLS
// types. Threading as in tls_context.h: an Impl is built on one thread, then only read; random
// numbers come from PSA's global generator (locked inside mbedTLS, MBEDTLS_THREADING_C) and the
// session-ticket keys have their own mutex.
#pragma once

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include <string>
#include <string_view>
#include <vector>

#include "net/tls_context.h"

namespace mq::net {

struct TlsContext::Impl {
  Impl();
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  bool server = false;
  mbedtls_ssl_config conf;          // with ALPN when configured
  mbedtls_ssl_config conf_no_alpn;  // server: for clients that offer only unknown protocols
  bool has_conf_no_alpn = false;
  mbedtls_x509_crt ca;
  mbedtls_x509_crt own_cert;
  mbedtls_pk_context own_key;
  mbedtls_x509_crl crl;
  bool has_ca = false, has_own_cert = false, has_crl = false;
  std::vector<int> ciphers;  // TLS 1.3 then 1.2 suites, 0-terminated (mbedTLS keeps the pointer)
  mbedtls_ssl_ticket_context tickets;  // server: session-ticket keys (rotated by mbedTLS)
  bool has_tickets = false;
  std::vector<std::string> alpn;
  std::vector<const char*> alpn_ptrs;  // null-terminated
  PskMap psk;                          // server: identity -> raw key bytes
  std::string psk_identity;            // client
  bool insecure = false;               // client
  bool require_certificate = false;    // server
};

// "SSL - ..." text for an error code (tls_context.cc).
std::string tls_strerror(int code);

// The server's PSK callback body (tls_transport.cc): sets the key for a known identity and
// records the identity on the connection. 0 or an mbedTLS error.
int tls_server_psk_lookup(const TlsContext::Impl& c, mbedtls_ssl_context* ssl,
                          std::string_view identity);

// --- certificate names and messages (tls_names.cc) ---
std::string x509_common_name(const mbedtls_x509_name* name);
// OpenSSL XN_FLAG_RFC2253 form: RDNs last-to-first, ',' between, '+' inside multi-valued ones.
std::string x509_rfc2253(const mbedtls_x509_name* name);
// dNSName and iPAddress SAN entries as text ("localhost", "127.0.0.1", "::1").
std::vector<std::string> x509_san_names(const mbedtls_x509_crt* crt);
std::string x509_time_text(const mbedtls_x509_time& t);  // "2025-01-01 00:00:00"

// What the verify callback learnt about the chain, for the error text.
struct VerifyNotes {
  std::string host;  // client: the name we checked
  std::string leaf_cn;
  std::vector<std::string> leaf_names;
  std::string expired;  // "certificate expired on ..." (the leaf's, else the first seen)
  std::string not_yet_valid;
};
std::string verify_failure_text(uint32_t flags, bool server, const VerifyNotes& notes);
// A TLS alert the peer sent, as a sentence from our side's point of view.
std::string alert_text(int alert, bool server, bool we_sent_no_cert);

}  // namespace mq::net
