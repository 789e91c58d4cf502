// TLS configuration for listeners and clients: options as Mosquitto names them, turned into an
// immutable TlsContext (certificates, keys, CA/CRL, cipher list, PSK table, ALPN, a seeded DRBG)
// shared by every TlsTransport made from it through shared_ptr<const TlsContext>. Reloading
// (SIGHUP) builds a new context; connections keep the one they started with. mbedTLS stays in
// the .cc files (tls_internal.h is private to src/net). A built context is safe to share across
// loop threads (the DRBG locks internally); building one reads files and blocks briefly.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace mq::net {

// PSK identity -> key as hex digits (Mosquitto psk_file values).
using PskMap = std::map<std::string, std::string, std::less<>>;

struct TlsServerOptions {
  std::string certfile, keyfile;  // PEM; the certfile may hold the chain after the leaf
  std::string cafile;             // PEM bundle of CAs that sign client certificates
  std::string capath;             // directory of PEM files, each parsed (not OpenSSL hash links)
  std::string crlfile;            // PEM or DER CRL checked against client certificates
  bool require_certificate = false;
  std::string tls_version;        // lowest version: "" or "tlsv1.2" (1.2 and 1.3), "tlsv1.3"
  std::string tls_max_version;    // highest: "" (1.3) or "tlsv1.2"; no Mosquitto option sets it
  std::string ciphers;            // TLS 1.2 suites, OpenSSL or IANA/mbedTLS names; "": ECDHE + AEAD
  std::string ciphers_tls13;      // TLS 1.3 suites ("TLS_AES_256_GCM_SHA384:..."); "": all three
  std::string psk_hint;           // accepted; mbedTLS sends no hint (neither does TLS 1.3)
  PskMap psk;                     // identity -> hex key; non-empty enables PSK suites
  std::vector<std::string> alpn;  // e.g. {"mqtt"}; a client offering others still connects
  bool session_tickets = true;    // resumption tickets for TLS 1.2 and 1.3 (stateless, 24 h)
};

struct TlsClientOptions {
  std::string cafile, capath;
  bool use_os_certs = false;                 // add /etc/ssl/certs/ca-certificates.crt
  std::string certfile, keyfile;             // client certificate, both or neither
  bool insecure = false;                     // skip the host name check only (mosquitto --insecure)
  std::string tls_version, tls_max_version;  // as in TlsServerOptions
  std::string ciphers, ciphers_tls13;
  std::vector<std::string> alpn;
  std::string psk;  // hex key; needs psk_identity
  std::string psk_identity;
};

inline constexpr const char* kOsCaBundle = "/etc/ssl/certs/ca-certificates.crt";

class TlsContext {
 public:
  struct Impl;  // defined in tls_internal.h

  [[nodiscard]] static Result<std::shared_ptr<const TlsContext>> server(const TlsServerOptions& o);
  [[nodiscard]] static Result<std::shared_ptr<const TlsContext>> client(const TlsClientOptions& o);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool is_server() const;
  // The configured cipher suites in preference order, as mbedTLS names them.
  std::vector<std::string> cipher_suites() const;
  const Impl& impl() const { return *impl_; }

 private:
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a Mosquitto psk_file: "identity:hexkey" per line; blank lines and '#' comments skipped.
// Errors name the file and line.
[[nodiscard]] Result<PskMap> load_psk_file(const std::string& path);

// Parses a tls_version value (the lowest version allowed, as Mosquitto 2.0) into the allowed
// range of TLS 1.x minor versions: "" / "tlsv1.2" / "tlsv1.1" -> {2, 3}, "tlsv1.3" -> {3, 3}.
struct TlsVersionRange {
  int min_minor = 2, max_minor = 3;
};
// `max_text` "" or "tlsv1.2" lowers the highest version (tests and benchmarks use it).
[[nodiscard]] Result<TlsVersionRange> parse_tls_version(const std::string& text,
                                                        const std::string& max_text = "");

// Parses an OpenSSL-style cipher list ("ECDHE-RSA-AES128-GCM-SHA256:...", also accepting
// "TLS-ECDHE-..." and "TLS_ECDHE_..." names) into mbedTLS suite ids. "" gives the default
// (ECDHE + AEAD, plus PSK AEAD suites when `with_psk`, only PSK ones when `!with_certs`).
// Exclusions ("!aNULL") and "@STRENGTH" are ignored; DEFAULT/HIGH expand to the default.
[[nodiscard]] Result<std::vector<int>> parse_cipher_list(const std::string& text, bool with_certs,
                                                         bool with_psk);
// Parses a ciphers_tls1.3 list ("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", mbedTLS
// "TLS1-3-..." names too) into suite ids, not 0-terminated; "" gives OpenSSL's default three.
[[nodiscard]] Result<std::vector<int>> parse_tls13_suites(const std::string& text);

}  // namespace mq::net
