// mbedTLS 3.6 implementation of the reading half of cert_backend.h: keys, certificates and
// CSRs (with the subjectAltName they request) into plain structs, and chain verification.
// A few values have no public getter in 3.6 (path length, key usage bits, the CSR's signature):
// those are read through MBEDTLS_PRIVATE.
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
extern "C" {  // psa_util.h has no C++ guards of its own
#include <mbedtls/psa_util.h>
}
#include <psa/crypto.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "crypto/cert_backend_util.h"

namespace mq::crypto {

namespace backend {

Result<KeyInfo> describe_key(mbedtls_pk_context* pk) {
  KeyInfo info;
  mbedtls_pk_type_t type = mbedtls_pk_get_type(pk);
  if (type == MBEDTLS_PK_RSA) {
    info.description = "RSA " + std::to_string(mbedtls_pk_get_bitlen(pk));
    info.rsa = true;
  } else if (type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECKEY_DH || type == MBEDTLS_PK_ECDSA) {
    switch (mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk))) {
      case MBEDTLS_ECP_DP_SECP256R1: info.description = "EC P-256"; break;
      case MBEDTLS_ECP_DP_SECP384R1: info.description = "EC P-384"; break;
      case MBEDTLS_ECP_DP_SECP521R1: info.description = "EC P-521"; break;
      default: info.description = "EC " + std::to_string(mbedtls_pk_get_bitlen(pk)); break;
    }
  } else {
    info.description = mbedtls_pk_get_name(pk);
  }
  std::vector<unsigned char> buf(4096);
  int n = mbedtls_pk_write_pubkey_der(pk, buf.data(), buf.size());
  if (n < 0) return backend_error(ErrorKind::kInternal, "cannot encode the public key", n);
  info.public_der.assign(reinterpret_cast<const char*>(buf.data() + buf.size() - n), size_t(n));
  return info;
}

Status load_private_key(std::string_view data, mbedtls_pk_context* pk) {
  std::string copy(data);  // PEM parsing wants the terminating NUL counted in the length
  size_t len = looks_like_pem(data) ? copy.size() + 1 : copy.size();
  if (psa_crypto_init() != PSA_SUCCESS)  // the RNG below blinds RSA checks
    return make_error(ErrorKind::kInternal, "cannot start the random generator");
  int r = mbedtls_pk_parse_key(pk, reinterpret_cast<const unsigned char*>(copy.c_str()), len,
                               nullptr, 0, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
  if (r == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || r == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
    return make_error(ErrorKind::kUnsupported,
                      "the key is encrypted (decrypt it first: openssl pkey -in KEY -out KEY)");
  }
  if (r != 0) return backend_error(ErrorKind::kMalformed, "not a private key", r);
  return {};
}

void add_general_name(int tag, const unsigned char* p, size_t len, AltNames* out) {
  if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
    out->dns.emplace_back(reinterpret_cast<const char*>(p), len);
  } else if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && (len == 4 || len == 16)) {
    out->ip.emplace_back(reinterpret_cast<const char*>(p), len);
  }
}

}  // namespace backend

namespace {

using backend::backend_error;
using backend::looks_like_pem;

DistinguishedName convert_name(const mbedtls_x509_name* n) {
  DistinguishedName dn;
  for (; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) continue;  // an empty name is one zeroed node
    dn.push_back(NameAttribute{std::string(reinterpret_cast<const char*>(n->oid.p), n->oid.len),
                               uint8_t(n->val.tag),
                               std::string(reinterpret_cast<const char*>(n->val.p), n->val.len)});
  }
  return dn;
}

int64_t convert_time(const mbedtls_x509_time& t) {
  struct tm tm {};
  tm.tm_year = t.year - 1900;
  tm.tm_mon = t.mon - 1;
  tm.tm_mday = t.day;
  tm.tm_hour = t.hour;
  tm.tm_min = t.min;
  tm.tm_sec = t.sec;
  return int64_t(timegm(&tm));
}

bool oid_is(const mbedtls_x509_buf& oid, const char* want, size_t want_len) {
  return oid.len == want_len && memcmp(oid.p, want, want_len) == 0;
}

Result<CertInfo> convert_cert(mbedtls_x509_crt* c) {
  CertInfo info;
  info.der.assign(reinterpret_cast<const char*>(c->raw.p), c->raw.len);
  info.subject = convert_name(&c->subject);
  info.issuer = convert_name(&c->issuer);
  info.serial.assign(reinterpret_cast<const char*>(c->serial.p), c->serial.len);
  info.not_before = convert_time(c->valid_from);
  info.not_after = convert_time(c->valid_to);
  info.is_ca = mbedtls_x509_crt_get_ca_istrue(c) == 1;
  const int max_pathlen = c->MBEDTLS_PRIVATE(max_pathlen);  // stored +1
  info.path_len = info.is_ca && max_pathlen > 0 ? max_pathlen - 1 : -1;
  info.has_key_usage = mbedtls_x509_crt_has_ext_type(c, MBEDTLS_X509_EXT_KEY_USAGE) != 0;
  // mbedtls_x509_crt_check_key_usage cannot tell whether encipherOnly is set: read the bits.
  info.key_usage = c->MBEDTLS_PRIVATE(key_usage) & 0xff;
  info.has_ext_key_usage =
      mbedtls_x509_crt_has_ext_type(c, MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE) != 0;
  if (info.has_ext_key_usage) {
    for (const mbedtls_x509_sequence* s = &c->ext_key_usage; s; s = s->next) {
      if (oid_is(s->buf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH))) {
        info.server_auth = true;
      }
      if (oid_is(s->buf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH))) {
        info.client_auth = true;
      }
      if (oid_is(s->buf, MBEDTLS_OID_ANY_EXTENDED_KEY_USAGE,
                 MBEDTLS_OID_SIZE(MBEDTLS_OID_ANY_EXTENDED_KEY_USAGE))) {
        info.server_auth = info.client_auth = true;
      }
    }
  }
  if (mbedtls_x509_crt_has_ext_type(c, MBEDTLS_X509_EXT_SUBJECT_ALT_NAME)) {
    for (const mbedtls_x509_sequence* s = &c->subject_alt_names; s; s = s->next) {
      backend::add_general_name(s->buf.tag, s->buf.p, s->buf.len, &info.alt_names);
    }
  }
  auto key = backend::describe_key(&c->pk);
  if (!key.ok()) return key.error();
  info.key = std::move(*key);
  const char* alg = nullptr;
  if (mbedtls_oid_get_sig_alg_desc(&c->sig_oid, &alg) == 0 && alg != nullptr)
    info.signature_algorithm = alg;  // "ECDSA with SHA256", "RSA with SHA-256", "RSASSA-PSS"
  return info;
}

// An owning chain of parsed certificates.
class CrtChain {
 public:
  CrtChain() { mbedtls_x509_crt_init(&crt_); }
  ~CrtChain() { mbedtls_x509_crt_free(&crt_); }
  CrtChain(const CrtChain&) = delete;
  CrtChain& operator=(const CrtChain&) = delete;
  mbedtls_x509_crt* get() { return &crt_; }

  int add_der(std::string_view der) {
    return mbedtls_x509_crt_parse_der(&crt_, reinterpret_cast<const unsigned char*>(der.data()),
                                      der.size());
  }

 private:
  mbedtls_x509_crt crt_;
};

}  // namespace

Result<std::vector<CertInfo>> parse_certificates(std::string_view data) {
  CrtChain chain;
  std::string copy(data);
  size_t len = looks_like_pem(data) ? copy.size() + 1 : copy.size();
  int r = mbedtls_x509_crt_parse(chain.get(), reinterpret_cast<const unsigned char*>(copy.c_str()),
                                 len);
  if (r < 0) return backend_error(ErrorKind::kMalformed, "not a certificate", r);
  if (r > 0) {
    return make_error(ErrorKind::kMalformed, std::to_string(r) + " certificate(s) did not parse");
  }
  std::vector<CertInfo> out;
  for (mbedtls_x509_crt* c = chain.get(); c != nullptr && c->raw.p != nullptr; c = c->next) {
    auto info = convert_cert(c);
    if (!info.ok()) return info.error();
    out.push_back(std::move(*info));
  }
  if (out.empty()) return make_error(ErrorKind::kMalformed, "no certificate found");
  return out;
}

Result<std::string> cert_der_to_pem(std::string_view der) {
  std::vector<unsigned char> buf(der.size() * 2 + 128);
  size_t olen = 0;
  int r = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
                                   reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                                   buf.data(), buf.size(), &olen);
  if (r != 0) return backend_error(ErrorKind::kInternal, "cannot encode PEM", r);
  return std::string(reinterpret_cast<const char*>(buf.data()));  // olen counts the NUL
}

Result<CsrInfo> parse_csr(std::string_view data) {
  mbedtls_x509_csr csr;
  mbedtls_x509_csr_init(&csr);
  struct Free {
    mbedtls_x509_csr* c;
    ~Free() { mbedtls_x509_csr_free(c); }
  } free_csr{&csr};
  std::string copy(data);
  size_t len = looks_like_pem(data) ? copy.size() + 1 : copy.size();
  int r = mbedtls_x509_csr_parse(&csr, reinterpret_cast<const unsigned char*>(copy.c_str()), len);
  if (r != 0) return backend_error(ErrorKind::kMalformed, "not a certificate request", r);
  // mbedTLS parses but does not check a CSR's self-signature; its fields are private.
  const mbedtls_md_type_t sig_md = csr.MBEDTLS_PRIVATE(sig_md);
  const mbedtls_x509_buf& sig = csr.MBEDTLS_PRIVATE(sig);
  const mbedtls_md_info_t* md = mbedtls_md_info_from_type(sig_md);
  unsigned char hash[MBEDTLS_MD_MAX_SIZE];
  if (md == nullptr || mbedtls_md(md, csr.cri.p, csr.cri.len, hash) != 0) {
    return make_error(ErrorKind::kUnsupported, "unsupported CSR signature algorithm");
  }
  r = mbedtls_pk_verify_ext(csr.MBEDTLS_PRIVATE(sig_pk), csr.MBEDTLS_PRIVATE(sig_opts), &csr.pk,
                            sig_md, hash, mbedtls_md_get_size(md), sig.p, sig.len);
  if (r != 0) return backend_error(ErrorKind::kMalformed, "the CSR's signature does not verify", r);
  CsrInfo info;
  info.subject = convert_name(&csr.subject);
  auto key = backend::describe_key(&csr.pk);
  if (!key.ok()) return key.error();
  info.key = std::move(*key);
  for (const mbedtls_x509_sequence* s = &csr.subject_alt_names; s != nullptr; s = s->next)
    if (s->buf.p != nullptr) backend::add_general_name(s->buf.tag, s->buf.p, s->buf.len,
                                                       &info.alt_names);
  return info;
}

Result<std::string> verify_chain(const std::vector<CertInfo>& chain,
                                 const std::vector<CertInfo>& trusted) {
  CrtChain leaf_crt, trust;
  int r = 0;
  for (const CertInfo& c : chain) {
    r = leaf_crt.add_der(c.der);
    if (r != 0) return backend_error(ErrorKind::kMalformed, "certificate does not parse", r);
  }
  if (chain.empty()) return make_error(ErrorKind::kInternal, "no certificate to verify");
  for (const CertInfo& ca : trusted) {
    r = trust.add_der(ca.der);
    if (r != 0) return backend_error(ErrorKind::kMalformed, "CA certificate does not parse", r);
  }
  uint32_t flags = 0;
  r = mbedtls_x509_crt_verify(leaf_crt.get(), trust.get(), nullptr, nullptr, &flags, nullptr,
                              nullptr);
  if (r == 0) return std::string();
  struct Reason {
    uint32_t flag;
    const char* text;
  };
  static constexpr Reason kReasons[] = {
      {MBEDTLS_X509_BADCERT_NOT_TRUSTED, "not signed by the given CA"},
      {MBEDTLS_X509_BADCERT_EXPIRED, "expired"},
      {MBEDTLS_X509_BADCERT_FUTURE, "not yet valid"},
      {MBEDTLS_X509_BADCERT_KEY_USAGE, "CA key usage does not allow signing"},
      {MBEDTLS_X509_BADCERT_BAD_MD, "weak signature hash"},
      {MBEDTLS_X509_BADCERT_BAD_KEY, "weak key"},
      {MBEDTLS_X509_BADCERT_REVOKED, "revoked"},
  };
  std::string out;
  for (const Reason& reason : kReasons) {
    if (flags & reason.flag) {
      if (!out.empty()) out += "; ";
      out += reason.text;
      flags &= ~reason.flag;
    }
  }
  if (flags != 0 || out.empty()) {
    char buf[512];
    mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
    std::string more = buf;
    while (!more.empty() && more.back() == '\n') more.pop_back();
    for (char& ch : more) {
      if (ch == '\n') ch = ';';
    }
    if (!out.empty() && !more.empty()) out += "; ";
    out += more.empty() ? backend::mbedtls_message(r) : more;
  }
  return out;
}

}  // namespace mq::crypto
