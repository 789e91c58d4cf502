// mbedTLS 3.6 implementation of the writing half of cert_backend.h: random numbers, key
// generation and certificate issuance. subjectAltName goes through the writer's own setter
// (extendedKeyUsage does not: 3.6's setter marks it critical). Names are linked into the
// writer's lists by hand so that attribute order and string types survive exactly (the string
// form mbedTLS parses would normalise them).
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>
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

std::string mbedtls_message(int code) {
  char buf[200];
  mbedtls_strerror(code, buf, sizeof buf);
  return buf;
}

}  // namespace backend

namespace {

using backend::backend_error;
using backend::PkContext;

// PSA's random generator, which key generation, signing and blinding all draw from.
class Rng {
 public:
  Rng() : status_(psa_crypto_init()) {}  // idempotent
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;

  int seed_status() const { return status_ == PSA_SUCCESS ? 0 : int(status_); }
  static int fill(void* /*self*/, unsigned char* out, size_t n) {
    return mbedtls_psa_get_random(MBEDTLS_PSA_RANDOM_STATE, out, n);
  }

 private:
  psa_status_t status_;
};

Error rng_error(int code) {
  return make_error(ErrorKind::kInternal,
                    "cannot start the random generator (PSA status " + std::to_string(code) + ")");
}

// "YYYYMMDDHHMMSS" in UTC, as the certificate writer wants it.
Result<std::string> validity_time(int64_t t) {
  time_t tt = time_t(t);
  struct tm tm {};
  if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 1950 || tm.tm_year + 1900 > 9999) {
    return make_error(ErrorKind::kConfig, "validity date out of range");
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf);
}

// The writer's name list is linked last-RDN-first (asn1write emits the head last). The nodes
// live in `storage`, so they are unlinked from the writer before mbedtls_x509write_crt_free.
mbedtls_asn1_named_data* link_name(const DistinguishedName& dn,
                                   std::vector<mbedtls_asn1_named_data>* storage) {
  storage->assign(dn.size(), mbedtls_asn1_named_data{});
  mbedtls_asn1_named_data* head = nullptr;
  for (size_t i = 0; i < dn.size(); i++) {
    mbedtls_asn1_named_data& n = (*storage)[i];
    n.oid.tag = MBEDTLS_ASN1_OID;
    n.oid.len = dn[i].oid.size();
    n.oid.p = reinterpret_cast<unsigned char*>(const_cast<char*>(dn[i].oid.data()));
    n.val.tag = dn[i].tag;
    n.val.len = dn[i].value.size();
    n.val.p = reinterpret_cast<unsigned char*>(const_cast<char*>(dn[i].value.data()));
    n.next = head;
    head = &n;
  }
  return head;
}

// The writer encodes backwards, so a list's head comes out last: the nodes are prepended in the
// order wanted (DNS names, then IP addresses) and the head is the last one. Returns the head.
mbedtls_x509_san_list* link_san(const AltNames& names,
                                std::vector<mbedtls_x509_san_list>* storage) {
  storage->assign(names.dns.size() + names.ip.size(), mbedtls_x509_san_list{});
  mbedtls_x509_san_list* head = nullptr;
  size_t k = 0;
  auto add = [&](int type, const std::string& v) {
    mbedtls_x509_san_list& n = (*storage)[k++];
    n.node.type = type;
    n.node.san.unstructured_name.p =
        reinterpret_cast<unsigned char*>(const_cast<char*>(v.data()));
    n.node.san.unstructured_name.len = v.size();
    n.next = head;
    head = &n;
  };
  for (const std::string& d : names.dns) add(MBEDTLS_X509_SAN_DNS_NAME, d);
  for (const std::string& ip : names.ip) add(MBEDTLS_X509_SAN_IP_ADDRESS, ip);
  return head;
}

// Owns a certificate writer whose name lists point into caller-held storage.
class CrtWriter {
 public:
  CrtWriter() { mbedtls_x509write_crt_init(&w_); }
  ~CrtWriter() {
    // The name nodes belong to the caller's storage, not to mbedTLS (no public setter takes
    // pre-encoded names, hence the private fields).
    w_.MBEDTLS_PRIVATE(subject) = nullptr;
    w_.MBEDTLS_PRIVATE(issuer) = nullptr;
    mbedtls_x509write_crt_free(&w_);
  }
  CrtWriter(const CrtWriter&) = delete;
  CrtWriter& operator=(const CrtWriter&) = delete;
  mbedtls_x509write_cert* get() { return &w_; }

 private:
  mbedtls_x509write_cert w_;
};

}  // namespace

Result<KeyType> parse_key_type(std::string_view text) {
  struct Entry {
    std::string_view name;
    KeyType type;
  };
  static constexpr Entry kNames[] = {
      {"ec", KeyType::kEcP256},          {"ec:p256", KeyType::kEcP256},
      {"ec:p-256", KeyType::kEcP256},    {"ec:prime256v1", KeyType::kEcP256},
      {"ec:p384", KeyType::kEcP384},     {"ec:p-384", KeyType::kEcP384},
      {"ec:secp384r1", KeyType::kEcP384}, {"rsa", KeyType::kRsa2048},
      {"rsa:2048", KeyType::kRsa2048},   {"rsa:3072", KeyType::kRsa3072},
      {"rsa:4096", KeyType::kRsa4096},
  };
  for (const Entry& e : kNames) {
    if (e.name == text) return e.type;
  }
  return make_error(ErrorKind::kConfig,
                    "unknown key type '" + std::string(text) +
                        "' (use ec:p256, ec:p384, rsa:2048, rsa:3072 or rsa:4096)");
}

const char* key_type_name(KeyType type) {
  switch (type) {
    case KeyType::kEcP256: return "ec:p256";
    case KeyType::kEcP384: return "ec:p384";
    case KeyType::kRsa2048: return "rsa:2048";
    case KeyType::kRsa3072: return "rsa:3072";
    case KeyType::kRsa4096: return "rsa:4096";
  }
  return "?";
}

Result<std::string> cert_random_bytes(size_t n) {
  Rng rng;
  if (rng.seed_status() != 0) return rng_error(rng.seed_status());
  std::string out(n, '\0');
  int r = Rng::fill(&rng, reinterpret_cast<unsigned char*>(out.data()), n);
  if (r != 0) return backend_error(ErrorKind::kInternal, "random generator failed", r);
  return out;
}

Result<std::string> generate_key_pem(KeyType type) {
  Rng rng;
  if (rng.seed_status() != 0) return rng_error(rng.seed_status());
  PkContext key;
  int r = 0;
  if (type == KeyType::kEcP256 || type == KeyType::kEcP384) {
    r = mbedtls_pk_setup(key.get(), mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (r == 0) {
      auto curve = type == KeyType::kEcP256 ? MBEDTLS_ECP_DP_SECP256R1 : MBEDTLS_ECP_DP_SECP384R1;
      r = mbedtls_ecp_gen_key(curve, mbedtls_pk_ec(*key.get()), Rng::fill, &rng);
    }
  } else {
    unsigned bits = type == KeyType::kRsa2048 ? 2048 : type == KeyType::kRsa3072 ? 3072 : 4096;
    r = mbedtls_pk_setup(key.get(), mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (r == 0) r = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*key.get()), Rng::fill, &rng, bits, 65537);
  }
  if (r != 0) return backend_error(ErrorKind::kInternal, "key generation failed", r);
  std::vector<unsigned char> buf(16000);
  r = mbedtls_pk_write_key_pem(key.get(), buf.data(), buf.size());
  if (r != 0) return backend_error(ErrorKind::kInternal, "cannot encode the key", r);
  return std::string(reinterpret_cast<const char*>(buf.data()));
}

Result<KeyInfo> inspect_private_key(std::string_view pem) {
  PkContext key;
  if (Status s = backend::load_private_key(pem, key.get()); !s) return s.error();
  return backend::describe_key(key.get());
}

Result<std::string> issue_certificate(const CertTemplate& tmpl,
                                      std::string_view subject_public_der,
                                      const DistinguishedName& issuer,
                                      std::string_view issuer_key_pem) {
  Rng rng;
  if (rng.seed_status() != 0) return rng_error(rng.seed_status());
  PkContext subject_key;
  int r = mbedtls_pk_parse_public_key(
      subject_key.get(), reinterpret_cast<const unsigned char*>(subject_public_der.data()),
      subject_public_der.size());
  if (r != 0) return backend_error(ErrorKind::kMalformed, "bad subject public key", r);
  PkContext issuer_key;
  if (Status s = backend::load_private_key(issuer_key_pem, issuer_key.get()); !s) {
    return s.error();
  }
  auto from = validity_time(tmpl.not_before);
  auto to = validity_time(tmpl.not_after);
  if (!from.ok()) return from.error();
  if (!to.ok()) return to.error();

  std::vector<mbedtls_asn1_named_data> subject_nodes, issuer_nodes;
  CrtWriter writer;
  mbedtls_x509write_cert* w = writer.get();
  mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
  // SHA-384 pairs with a P-384 issuer key; SHA-256 everywhere else.
  bool p384 =
      mbedtls_pk_get_type(issuer_key.get()) == MBEDTLS_PK_ECKEY &&
      mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*issuer_key.get())) == MBEDTLS_ECP_DP_SECP384R1;
  mbedtls_x509write_crt_set_md_alg(w, p384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(w, subject_key.get());
  mbedtls_x509write_crt_set_issuer_key(w, issuer_key.get());
  w->MBEDTLS_PRIVATE(subject) = link_name(tmpl.subject, &subject_nodes);
  w->MBEDTLS_PRIVATE(issuer) = link_name(issuer, &issuer_nodes);

  std::string serial = tmpl.serial;  // big-endian, positive: written as the INTEGER's content
  r = mbedtls_x509write_crt_set_serial_raw(w, reinterpret_cast<unsigned char*>(serial.data()),
                                           serial.size());
  if (r != 0) return backend_error(ErrorKind::kInternal, "cannot set the serial number", r);
  r = mbedtls_x509write_crt_set_validity(w, from->c_str(), to->c_str());
  if (r != 0) return backend_error(ErrorKind::kInternal, "cannot set the validity", r);
  r = mbedtls_x509write_crt_set_basic_constraints(w, tmpl.is_ca ? 1 : 0,
                                                  tmpl.is_ca ? tmpl.path_len : -1);
  if (r == 0) r = mbedtls_x509write_crt_set_subject_key_identifier(w);
  if (r == 0) r = mbedtls_x509write_crt_set_authority_key_identifier(w);
  if (r == 0 && tmpl.key_usage != 0) r = mbedtls_x509write_crt_set_key_usage(w, tmpl.key_usage);
  if (r != 0) return backend_error(ErrorKind::kInternal, "cannot add extensions", r);
  if (tmpl.server_auth || tmpl.client_auth) {
    // mbedtls_x509write_crt_set_ext_key_usage marks the extension critical; certificates from
    // `openssl req`/`x509` (and ours so far) carry it non-critical, so its few bytes are
    // written here: SEQUENCE OF KeyPurposeId (two 8-byte OIDs at most, short lengths).
    std::string der;
    auto add = [&](const char* oid, size_t len) {
      der += char(MBEDTLS_ASN1_OID);
      der += char(len);
      der.append(oid, len);
    };
    if (tmpl.server_auth) add(MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH));
    if (tmpl.client_auth) add(MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH));
    der.insert(0, 1, char(der.size()));
    der.insert(0, 1, char(MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    r = mbedtls_x509write_crt_set_extension(
        w, MBEDTLS_OID_EXTENDED_KEY_USAGE, MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
        reinterpret_cast<const unsigned char*>(der.data()), der.size());
    if (r != 0) return backend_error(ErrorKind::kInternal, "cannot add extendedKeyUsage", r);
  }
  if (!tmpl.alt_names.empty()) {
    std::vector<mbedtls_x509_san_list> san;
    r = mbedtls_x509write_crt_set_subject_alternative_name(w, link_san(tmpl.alt_names, &san));
    if (r != 0) return backend_error(ErrorKind::kInternal, "cannot add subjectAltName", r);
  }
  std::vector<unsigned char> out(16384);
  for (auto& dn : tmpl.alt_names.dns) out.resize(out.size() + dn.size() * 2);
  r = mbedtls_x509write_crt_pem(w, out.data(), out.size(), Rng::fill, &rng);
  if (r != 0) return backend_error(ErrorKind::kInternal, "cannot sign the certificate", r);
  return std::string(reinterpret_cast<const char*>(out.data()));
}

}  // namespace mq::crypto
