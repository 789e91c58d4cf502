// Building TlsContexts. Every file error names the option, the path and the reason; the mbedTLS
// objects live in one heap Impl so the pointers the ssl_config keeps into it stay valid.
#include "net/tls_context.h"

#include <mbedtls/error.h>
#include <mbedtls/ssl_ciphersuites.h>
extern "C" {  // psa_util.h has no C++ guards of its own
#include <mbedtls/psa_util.h>
}
#include <psa/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "net/tls_internal.h"

namespace mq::net {

namespace {

constexpr uint32_t kTicketLifetimeSeconds = 86400;

Error config_error(std::string text) {
  return make_error(ErrorKind::kConfig, std::move(text));
}

// OpenSSL names of the suites people put in mosquitto.conf -> mbedTLS names.
struct CipherAlias {
  const char* openssl;
  const char* mbedtls;
};
constexpr CipherAlias kCipherAliases[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"},
    {"ECDHE-RSA-AES128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"},
    {"ECDHE-RSA-AES256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"},
    {"ECDHE-RSA-CHACHA20-POLY1305", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256"},
    {"ECDHE-ECDSA-AES128-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256"},
    {"ECDHE-ECDSA-AES256-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA384"},
    {"ECDHE-RSA-AES128-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256"},
    {"ECDHE-RSA-AES256-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA384"},
    {"ECDHE-ECDSA-AES128-CCM", "TLS-ECDHE-ECDSA-WITH-AES-128-CCM"},
    {"ECDHE-ECDSA-AES256-CCM", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM"},
    {"DHE-RSA-AES128-GCM-SHA256", "TLS-DHE-RSA-WITH-AES-128-GCM-SHA256"},
    {"DHE-RSA-AES256-GCM-SHA384", "TLS-DHE-RSA-WITH-AES-256-GCM-SHA384"},
    {"DHE-RSA-CHACHA20-POLY1305", "TLS-DHE-RSA-WITH-CHACHA20-POLY1305-SHA256"},
    {"PSK-AES128-GCM-SHA256", "TLS-PSK-WITH-AES-128-GCM-SHA256"},
    {"PSK-AES256-GCM-SHA384", "TLS-PSK-WITH-AES-256-GCM-SHA384"},
    {"PSK-CHACHA20-POLY1305", "TLS-PSK-WITH-CHACHA20-POLY1305-SHA256"},
    {"PSK-AES128-CCM", "TLS-PSK-WITH-AES-128-CCM"},
    {"PSK-AES256-CCM", "TLS-PSK-WITH-AES-256-CCM"},
    {"DHE-PSK-AES128-GCM-SHA256", "TLS-DHE-PSK-WITH-AES-128-GCM-SHA256"},
    {"DHE-PSK-AES256-GCM-SHA384", "TLS-DHE-PSK-WITH-AES-256-GCM-SHA384"},
    {"DHE-PSK-CHACHA20-POLY1305", "TLS-DHE-PSK-WITH-CHACHA20-POLY1305-SHA256"},
    {"ECDHE-PSK-CHACHA20-POLY1305", "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256"},
    {"ECDHE-PSK-AES128-CBC-SHA256", "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA256"},
    {"ECDHE-PSK-AES256-CBC-SHA384", "TLS-ECDHE-PSK-WITH-AES-256-CBC-SHA384"},
};

constexpr const char* kDefaultCertSuites[] = {
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",       "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",       "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
};
// TLS 1.3 suites in OpenSSL's default order (ciphers_tls1.3 changes them).
constexpr const char* kDefaultTls13Suites[] = {
    "TLS1-3-AES-256-GCM-SHA384",
    "TLS1-3-CHACHA20-POLY1305-SHA256",
    "TLS1-3-AES-128-GCM-SHA256",
};
constexpr const char* kDefaultPskSuites[] = {
    "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-PSK-WITH-AES-256-GCM-SHA384",
    "TLS-PSK-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-PSK-WITH-AES-128-GCM-SHA256",
};

void add_suite(std::vector<int>& out, int id) {
  for (int x : out)
    if (x == id) return;
  out.push_back(id);
}

void add_defaults(std::vector<int>& out, bool with_certs, bool with_psk) {
  if (with_psk)
    for (const char* n : kDefaultPskSuites)
      if (int id = mbedtls_ssl_get_ciphersuite_id(n); id != 0) add_suite(out, id);
  if (with_certs)
    for (const char* n : kDefaultCertSuites)
      if (int id = mbedtls_ssl_get_ciphersuite_id(n); id != 0) add_suite(out, id);
}

int lookup_suite(std::string name) {
  for (const CipherAlias& a : kCipherAliases)
    if (strcasecmp(a.openssl, name.c_str()) == 0) return mbedtls_ssl_get_ciphersuite_id(a.mbedtls);
  for (char& c : name) c = c == '_' ? '-' : char(toupper(static_cast<unsigned char>(c)));
  return mbedtls_ssl_get_ciphersuite_id(name.c_str());
}

// A TLS 1.3 suite by its RFC 8446 / OpenSSL name ("TLS_AES_256_GCM_SHA384") or its mbedTLS name
// ("TLS1-3-AES-256-GCM-SHA384"); 0 when unknown or not a TLS 1.3 suite.
int lookup_tls13_suite(std::string name) {
  for (char& c : name) c = c == '_' ? '-' : char(toupper(static_cast<unsigned char>(c)));
  if (name.rfind("TLS-", 0) == 0) name = "TLS1-3-" + name.substr(4);
  if (name.rfind("TLS1-3-", 0) != 0) return 0;
  return mbedtls_ssl_get_ciphersuite_id(name.c_str());
}

// Whether `path` can be opened for reading; the reason when not.
Status check_readable(const char* option, const std::string& path, bool dir = false) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return config_error(std::string(option) + " " + path + ": " + strerror(errno));
  if (dir && !S_ISDIR(st.st_mode))
    return config_error(std::string(option) + " " + path + ": not a directory");
  if (!dir && S_ISDIR(st.st_mode))
    return config_error(std::string(option) + " " + path + ": is a directory");
  if (::access(path.c_str(), R_OK) != 0)
    return config_error(std::string(option) + " " + path + ": " + strerror(errno));
  return {};
}

Error parse_error(const char* option, const std::string& path, const char* what, int code) {
  return config_error(std::string(option) + " " + path + ": " + what + " (" + tls_strerror(code) +
                      ")");
}

Result<std::string> hex_to_bytes(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return config_error("needs an even number of hex digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      c = char(tolower(static_cast<unsigned char>(c)));
      return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return config_error("is not hexadecimal");
    out.push_back(char(hi << 4 | lo));
  }
  if (out.size() > MBEDTLS_PSK_MAX_LEN)
    return config_error("is longer than " + std::to_string(MBEDTLS_PSK_MAX_LEN) + " bytes");
  return out;
}

Status load_cas(TlsContext::Impl& c, const std::string& cafile, const std::string& capath,
                bool os_certs) {
  if (!cafile.empty()) {
    if (Status s = check_readable("cafile", cafile); !s) return s;
    if (int rc = mbedtls_x509_crt_parse_file(&c.ca, cafile.c_str()); rc != 0)
      return parse_error("cafile", cafile, "no usable CA certificate", rc);
    c.has_ca = true;
  }
  if (!capath.empty()) {
    if (Status s = check_readable("capath", capath, true); !s) return s;
    int rc = mbedtls_x509_crt_parse_path(&c.ca, capath.c_str());
    // A positive result counts files that did not parse; any parsed certificate will do.
    if (rc < 0) return parse_error("capath", capath, "cannot read the directory", rc);
    if (c.ca.version == 0)
      return config_error("capath " + capath + ": no PEM certificate in the directory");
    c.has_ca = true;
  }
  if (os_certs) {
    if (Status s = check_readable("use_os_certs", kOsCaBundle); !s) return s;
    if (int rc = mbedtls_x509_crt_parse_file(&c.ca, kOsCaBundle); rc < 0)
      return parse_error("use_os_certs", kOsCaBundle, "cannot parse the bundle", rc);
    c.has_ca = true;
  }
  return {};
}

// Bytes of the TLS 1.3 Certificate message that carries `chain` (TLS 1.2's is 1 + 2 per
// certificate smaller). mbedTLS writes a handshake message into one record and never splits it,
// so the chain has to fit in MBEDTLS_SSL_OUT_CONTENT_LEN: found here rather than as a failed
// handshake. Header 4, request context 1, list length 3; per certificate length 3, extensions 2.
size_t certificate_message_size(const mbedtls_x509_crt& chain) {
  size_t n = 4 + 1 + 3;
  for (const mbedtls_x509_crt* crt = &chain; crt != nullptr && crt->raw.len != 0; crt = crt->next)
    n += 3 + crt->raw.len + 2;
  return n;
}

Status load_own(TlsContext::Impl& c, const std::string& certfile, const std::string& keyfile) {
  if (certfile.empty() && keyfile.empty()) return {};
  if (certfile.empty()) return config_error("keyfile " + keyfile + " given without a certfile");
  if (keyfile.empty()) return config_error("certfile " + certfile + " given without a keyfile");
  if (Status s = check_readable("certfile", certfile); !s) return s;
  if (Status s = check_readable("keyfile", keyfile); !s) return s;
  if (int rc = mbedtls_x509_crt_parse_file(&c.own_cert, certfile.c_str()); rc != 0)
    return parse_error("certfile", certfile, "not a PEM/DER certificate", rc);
  if (int rc = mbedtls_pk_parse_keyfile(&c.own_key, keyfile.c_str(), nullptr,
                                        mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
      rc != 0)
    return parse_error("keyfile", keyfile, "not an unencrypted private key", rc);
  if (mbedtls_pk_check_pair(&c.own_cert.pk, &c.own_key, mbedtls_psa_get_random,
                            MBEDTLS_PSA_RANDOM_STATE) != 0)
    return config_error("keyfile " + keyfile + " does not belong to certfile " + certfile);
  if (size_t need = certificate_message_size(c.own_cert); need > MBEDTLS_SSL_OUT_CONTENT_LEN)
    return config_error("certfile " + certfile + ": the certificate chain takes " +
                        std::to_string(need) + " bytes in the TLS handshake, over the " +
                        std::to_string(MBEDTLS_SSL_OUT_CONTENT_LEN) +
                        " bytes of one outgoing TLS record in this build (list fewer certificates)");
  c.has_own_cert = true;
  return {};
}

// PSA's generator (seeded by psa_crypto_init) serves every context, ticket keys included.
Status init_psa() {
  psa_status_t st = psa_crypto_init();  // idempotent and thread-safe in 3.6
  if (st != PSA_SUCCESS)
    return make_error(ErrorKind::kInternal, "PSA crypto init failed (" + std::to_string(st) + ")");
  return {};
}

Status base_config(TlsContext::Impl& c, mbedtls_ssl_config* conf, const std::string& tls_version,
                   const std::string& tls_max_version) {
  int rc =
      mbedtls_ssl_config_defaults(conf, c.server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                  MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) return make_error(ErrorKind::kInternal, "TLS defaults: " + tls_strerror(rc));
  auto range = parse_tls_version(tls_version, tls_max_version);
  if (!range.ok()) return range.error();
  auto version = [](int minor) {
    return minor >= 3 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
  };
  mbedtls_ssl_conf_min_tls_version(conf, version(range->min_minor));
  mbedtls_ssl_conf_max_tls_version(conf, version(range->max_minor));
  mbedtls_ssl_conf_rng(conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
  mbedtls_ssl_conf_ciphersuites(conf, c.ciphers.data());
  mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  if (c.has_ca) mbedtls_ssl_conf_ca_chain(conf, &c.ca, c.has_crl ? &c.crl : nullptr);
  if (c.has_own_cert) {
    if (int r = mbedtls_ssl_conf_own_cert(conf, &c.own_cert, &c.own_key); r != 0)
      return make_error(ErrorKind::kInternal, "TLS own certificate: " + tls_strerror(r));
  }
  return {};
}

// The context's suite list: TLS 1.3 suites first, then the TLS 1.2 ones (mbedTLS picks from the
// part that matches the negotiated version).
Status set_suites(TlsContext::Impl& c, const std::string& ciphers, const std::string& ciphers13,
                  bool with_certs, bool with_psk) {
  auto v13 = parse_tls13_suites(ciphers13);
  if (!v13.ok()) return v13.error();
  auto v12 = parse_cipher_list(ciphers, with_certs, with_psk);
  if (!v12.ok()) return v12.error();
  c.ciphers = std::move(*v13);
  c.ciphers.insert(c.ciphers.end(), v12->begin(), v12->end());  // v12 brings the final 0
  return {};
}

// TLS 1.3 only: a client certificate is checked by the transport after the handshake. mbedTLS
// would otherwise refuse it mid-handshake with an alert under handshake keys, which a client
// that has already finished its side (OpenSSL, mbedTLS) cannot decrypt; afterwards the alert
// travels under application keys and says why (certificate_required, unknown_ca, ...).
int server_cert_cb(mbedtls_ssl_context* ssl) {
  if (mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_3)
    mbedtls_ssl_set_hs_authmode(ssl, MBEDTLS_SSL_VERIFY_OPTIONAL);
  return 0;
}

int server_psk_cb(void* p, mbedtls_ssl_context* ssl, const unsigned char* id, size_t len) {
  return tls_server_psk_lookup(*static_cast<const TlsContext::Impl*>(p), ssl,
                               std::string_view(reinterpret_cast<const char*>(id), len));
}
}  // namespace

std::string tls_strerror(int code) {
  char buf[160];
  mbedtls_strerror(code, buf, sizeof buf);
  return buf;
}

TlsContext::Impl::Impl() {
  mbedtls_ssl_ticket_init(&tickets);
  mbedtls_ssl_config_init(&conf);
  mbedtls_ssl_config_init(&conf_no_alpn);
  mbedtls_x509_crt_init(&ca);
  mbedtls_x509_crt_init(&own_cert);
  mbedtls_pk_init(&own_key);
  mbedtls_x509_crl_init(&crl);
}

TlsContext::Impl::~Impl() {
  mbedtls_ssl_config_free(&conf);
  mbedtls_ssl_config_free(&conf_no_alpn);
  mbedtls_x509_crt_free(&ca);
  mbedtls_x509_crt_free(&own_cert);
  mbedtls_pk_free(&own_key);
  mbedtls_x509_crl_free(&crl);
  mbedtls_ssl_ticket_free(&tickets);
}

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;

bool TlsContext::is_server() const {
  return impl_->server;
}

std::vector<std::string> TlsContext::cipher_suites() const {
  std::vector<std::string> out;
  for (int id : impl_->ciphers)
    if (id != 0) out.emplace_back(mbedtls_ssl_get_ciphersuite_name(id));
  return out;
}

// Mosquitto 2.0 reads tls_version as the lowest version allowed. TLS 1.0 and 1.1 do not exist
// in mbedTLS 3.6, so "tlsv1.1" (accepted, as Mosquitto does) means 1.2 and 1.3 here.
Result<TlsVersionRange> parse_tls_version(const std::string& text, const std::string& max_text) {
  TlsVersionRange r{2, 3};
  if (text == "tlsv1.3")
    r.min_minor = 3;
  else if (!text.empty() && text != "tlsv1.2" && text != "tlsv1.1")
    return config_error("tls_version '" + text + "': expected tlsv1.3, tlsv1.2 or tlsv1.1");
  if (max_text == "tlsv1.2")
    r.max_minor = 2;
  else if (!max_text.empty() && max_text != "tlsv1.3")
    return config_error("highest TLS version '" + max_text + "': expected tlsv1.3 or tlsv1.2");
  if (r.min_minor > r.max_minor)
    return config_error("tls_version " + text + " is above the highest version " + max_text);
  return r;
}

Result<std::vector<int>> parse_tls13_suites(const std::string& text) {
  std::vector<int> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find_first_of(":, ", i);
    if (j == std::string::npos) j = text.size();
    std::string tok = text.substr(i, j - i);
    i = j + 1;
    if (tok.empty()) continue;
    int id = lookup_tls13_suite(tok);
    if (id == 0)
      return config_error("ciphers_tls1.3: unknown or unsupported TLS 1.3 cipher suite '" + tok +
                          "'");
    add_suite(out, id);
  }
  if (out.empty())
    for (const char* n : kDefaultTls13Suites)
      if (int id = mbedtls_ssl_get_ciphersuite_id(n); id != 0) add_suite(out, id);
  return out;
}

Result<std::vector<int>> parse_cipher_list(const std::string& text, bool with_certs,
                                           bool with_psk) {
  std::vector<int> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find_first_of(":, ", i);
    if (j == std::string::npos) j = text.size();
    std::string tok = text.substr(i, j - i);
    i = j + 1;
    if (tok.empty() || tok[0] == '!' || tok[0] == '-' || tok[0] == '@') continue;
    if (tok[0] == '+') tok.erase(0, 1);
    if (tok == "DEFAULT" || tok == "HIGH") {
      add_defaults(out, with_certs, with_psk);
      continue;
    }
    int id = lookup_suite(tok);
    if (id == 0) return config_error("ciphers: unknown or unsupported cipher suite '" + tok + "'");
    add_suite(out, id);
  }
  if (out.empty()) add_defaults(out, with_certs, with_psk);
  if (out.empty()) return config_error("ciphers: no usable cipher suite");
  out.push_back(0);
  return out;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const TlsServerOptions& o) {
  if (Status s = init_psa(); !s) return s.error();
  auto c = std::make_unique<Impl>();
  c->server = true;
  if (Status s = load_own(*c, o.certfile, o.keyfile); !s) return s.error();
  for (const auto& [id, hex] : o.psk) {
    auto key = hex_to_bytes(hex);
    if (!key.ok()) return config_error("psk for identity '" + id + "' " + key.error().context);
    c->psk.emplace(id, std::move(*key));
  }
  if (!c->has_own_cert && c->psk.empty())
    return config_error("a TLS listener needs certfile and keyfile, or PSK identities");
  if (Status s = load_cas(*c, o.cafile, o.capath, false); !s) return s.error();
  if (o.require_certificate && !c->has_ca)
    return config_error("require_certificate needs cafile or capath");
  if (!o.crlfile.empty()) {
    if (Status s = check_readable("crlfile", o.crlfile); !s) return s.error();
    if (int rc = mbedtls_x509_crl_parse_file(&c->crl, o.crlfile.c_str()); rc != 0)
      return parse_error("crlfile", o.crlfile, "not a PEM/DER CRL", rc);
    if (!c->has_ca) return config_error("crlfile " + o.crlfile + " needs cafile or capath");
    c->has_crl = true;
  }
  if (Status s = set_suites(*c, o.ciphers, o.ciphers_tls13, c->has_own_cert, !c->psk.empty()); !s)
    return s.error();
  c->require_certificate = o.require_certificate;
  for (const std::string& p : o.alpn) {
    if (p.empty() || p.size() > 255) return config_error("alpn: bad protocol name '" + p + "'");
    c->alpn.push_back(p);
  }
  for (const std::string& p : c->alpn) c->alpn_ptrs.push_back(p.c_str());
  c->alpn_ptrs.push_back(nullptr);
  if (o.session_tickets) {
    // Stateless resumption (RFC 5077 / RFC 8446 4.6.1): the key rotates every lifetime.
    int rc = mbedtls_ssl_ticket_setup(&c->tickets, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE,
                                      MBEDTLS_CIPHER_AES_256_GCM, kTicketLifetimeSeconds);
    if (rc != 0)
      return make_error(ErrorKind::kInternal, "TLS session tickets: " + tls_strerror(rc));
    c->has_tickets = true;
  }

  for (mbedtls_ssl_config* conf : {&c->conf, &c->conf_no_alpn}) {
    if (Status s = base_config(*c, conf, o.tls_version, o.tls_max_version); !s) return s.error();
    mbedtls_ssl_conf_authmode(
        conf, o.require_certificate ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
    if (!c->psk.empty()) mbedtls_ssl_conf_psk_cb(conf, server_psk_cb, c.get());
    if (o.require_certificate) mbedtls_ssl_conf_cert_cb(conf, server_cert_cb);
    if (c->has_tickets)
      mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse,
                                          &c->tickets);
    // A TLS 1.3 session resumed from an mbedTLS ticket comes back without the client's
    // certificate, which require_certificate (and use_identity_as_username) need: no TLS 1.3
    // tickets there. TLS 1.2 tickets keep the certificate.
    if (o.require_certificate) mbedtls_ssl_conf_new_session_tickets(conf, 0);
  }
  if (!c->alpn.empty()) {
    if (int rc = mbedtls_ssl_conf_alpn_protocols(&c->conf, c->alpn_ptrs.data()); rc != 0)
      return config_error("alpn: " + tls_strerror(rc));
    c->has_conf_no_alpn = true;
  }
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(c)));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const TlsClientOptions& o) {
  if (Status s = init_psa(); !s) return s.error();
  auto c = std::make_unique<Impl>();
  c->server = false;
  c->insecure = o.insecure;
  if (Status s = load_cas(*c, o.cafile, o.capath, o.use_os_certs); !s) return s.error();
  if (Status s = load_own(*c, o.certfile, o.keyfile); !s) return s.error();
  std::string psk;
  if (!o.psk.empty()) {
    auto key = hex_to_bytes(o.psk);
    if (!key.ok()) return config_error("psk " + key.error().context);
    if (o.psk_identity.empty()) return config_error("psk needs psk_identity");
    psk = std::move(*key);
    c->psk_identity = o.psk_identity;
  }
  if (!c->has_ca && psk.empty())
    return config_error("TLS needs cafile, capath or use_os_certs (or a psk)");
  if (Status s = set_suites(*c, o.ciphers, o.ciphers_tls13, c->has_ca, !psk.empty()); !s)
    return s.error();
  for (const std::string& p : o.alpn) {
    if (p.empty() || p.size() > 255) return config_error("alpn: bad protocol name '" + p + "'");
    c->alpn.push_back(p);
  }
  for (const std::string& p : c->alpn) c->alpn_ptrs.push_back(p.c_str());
  c->alpn_ptrs.push_back(nullptr);
  if (Status s = base_config(*c, &c->conf, o.tls_version, o.tls_max_version); !s) return s.error();
  // Without a CA there is nothing to verify against (PSK only).
  mbedtls_ssl_conf_authmode(&c->conf,
                            c->has_ca ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
  if (!psk.empty()) {
    int rc = mbedtls_ssl_conf_psk(
        &c->conf, reinterpret_cast<const unsigned char*>(psk.data()), psk.size(),
        reinterpret_cast<const unsigned char*>(c->psk_identity.data()), c->psk_identity.size());
    if (rc != 0) return config_error("psk: " + tls_strerror(rc));
  }
  if (!c->alpn.empty()) {
    if (int rc = mbedtls_ssl_conf_alpn_protocols(&c->conf, c->alpn_ptrs.data()); rc != 0)
      return config_error("alpn: " + tls_strerror(rc));
  }
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(c)));
}

Result<PskMap> load_psk_file(const std::string& path) {
  if (Status s = check_readable("psk_file", path); !s) return s.error();
  std::ifstream in(path);
  if (!in) return config_error("psk_file " + path + ": cannot open");
  PskMap out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t colon = line.find(':', start);
    std::string where = "psk_file " + path + " line " + std::to_string(n);
    if (colon == std::string::npos || colon == start)
      return config_error(where + ": expected identity:hexkey");
    std::string id = line.substr(start, colon - start);
    std::string key = line.substr(colon + 1);
    if (auto k = hex_to_bytes(key); !k.ok())
      return config_error(where + ": the key for '" + id + "' " + k.error().context);
    if (!out.emplace(id, key).second)
      return config_error(where + ": identity '" + id + "' appears twice");
  }
  return out;
}

}  // namespace mq::net
