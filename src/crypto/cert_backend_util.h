// Helpers shared by the two halves of the mbedTLS 3.6 backend (cert_backend.cc writes keys and
// certificates, cert_backend_parse.cc reads them). Private to src/crypto: only the backend .cc
// files include it, and it is the only header besides them that names mbedTLS types.
#pragma once

#include <mbedtls/asn1.h>
#include <mbedtls/pk.h>

#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/cert_backend.h"

namespace mq::crypto::backend {

// "mbedTLS: X509 - ..." for an mbedTLS error code.
std::string mbedtls_message(int code);

inline Error backend_error(ErrorKind kind, std::string_view what, int code) {
  return make_error(kind, std::string(what) + " (" + mbedtls_message(code) + ")");
}

inline bool looks_like_pem(std::string_view data) {
  return data.find("-----BEGIN ") != std::string_view::npos;
}

// An owning mbedtls_pk_context.
class PkContext {
 public:
  PkContext() { mbedtls_pk_init(&pk_); }
  ~PkContext() { mbedtls_pk_free(&pk_); }
  PkContext(const PkContext&) = delete;
  PkContext& operator=(const PkContext&) = delete;
  mbedtls_pk_context* get() { return &pk_; }

 private:
  mbedtls_pk_context pk_;
};

// Description ("EC P-256", "RSA 2048") and SubjectPublicKeyInfo DER of a loaded key.
[[nodiscard]] Result<KeyInfo> describe_key(mbedtls_pk_context* pk);

// Parses an unencrypted private key (PEM or DER) into `pk`.
[[nodiscard]] Status load_private_key(std::string_view data, mbedtls_pk_context* pk);

// Appends the dNSName and iPAddress entries of one GeneralName (tag and contents) to `out`.
void add_general_name(int tag, const unsigned char* p, size_t len, AltNames* out);

}  // namespace mq::crypto::backend
