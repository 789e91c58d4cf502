// The X.509 backend: every mbedTLS call that certgen needs, behind plain value types (PEM/DER
// strings and structs), so the move to mbedTLS 3.6 (Debian 13) rewrites cert_backend*.cc only.
// Nothing here decides policy (names, lifetimes, usages): cert.h does. All functions are pure
// apart from reading the system entropy source; they hold no state between calls and are safe
// to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mq::crypto {

enum class KeyType : uint8_t { kEcP256, kEcP384, kRsa2048, kRsa3072, kRsa4096 };

// One attribute of a distinguished name. Certgen never writes multi-valued RDNs, so a name is a
// list of these in DER order (the first is the outermost RDN, e.g. C or O before CN).
struct NameAttribute {
  std::string oid;   // contents octets of the OBJECT IDENTIFIER (2.5.4.3 is "\x55\x04\x03")
  uint8_t tag = 0;   // ASN.1 string type of the value (UTF8String 12, PrintableString 19, ...)
  std::string value;
  bool operator==(const NameAttribute&) const = default;
};
using DistinguishedName = std::vector<NameAttribute>;

// keyUsage bits, numbered as in the DER BIT STRING's first byte (RFC 5280 4.2.1.3).
namespace key_usage {
inline constexpr uint32_t kDigitalSignature = 0x80;
inline constexpr uint32_t kKeyEncipherment = 0x20;
inline constexpr uint32_t kKeyCertSign = 0x04;
inline constexpr uint32_t kCrlSign = 0x02;
}  // namespace key_usage

// Subject alternative names: DNS names as text, IP addresses as 4 or 16 raw bytes.
struct AltNames {
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  bool empty() const { return dns.empty() && ip.empty(); }
};

// What goes into a certificate apart from keys and issuer: cert.cc fills it in.
struct CertTemplate {
  DistinguishedName subject;
  std::string serial;          // big-endian, positive, 1..20 bytes
  int64_t not_before = 0;      // Unix seconds
  int64_t not_after = 0;
  bool is_ca = false;
  int path_len = -1;           // CA only; -1 leaves it unlimited
  uint32_t key_usage = 0;      // key_usage:: bits; 0 omits the extension
  bool server_auth = false;    // extendedKeyUsage; neither omits the extension
  bool client_auth = false;
  AltNames alt_names;          // empty omits the extension
};

// A parsed key: what it is and its SubjectPublicKeyInfo, the identity used to match keys.
struct KeyInfo {
  std::string description;     // "EC P-256", "RSA 2048"
  bool rsa = false;
  std::string public_der;      // SubjectPublicKeyInfo DER
};

// A parsed certificate, with everything `certgen show` and `renew` need.
struct CertInfo {
  std::string der;
  DistinguishedName subject;
  DistinguishedName issuer;
  std::string serial;          // big-endian bytes
  int64_t not_before = 0;
  int64_t not_after = 0;
  bool is_ca = false;
  int path_len = -1;           // -1: unlimited or not a CA
  bool has_key_usage = false;
  uint32_t key_usage = 0;
  bool has_ext_key_usage = false;
  bool server_auth = false;
  bool client_auth = false;
  AltNames alt_names;
  KeyInfo key;
  std::string signature_algorithm;  // "ECDSA with SHA256"
};

// A certificate signing request whose self-signature has been checked.
struct CsrInfo {
  DistinguishedName subject;
  KeyInfo key;
  AltNames alt_names;          // from an extensionRequest attribute, when present
};

// `bits`/curve parameters for a key type: "ec:p256" etc. Unknown text is a kConfig error.
[[nodiscard]] Result<KeyType> parse_key_type(std::string_view text);
const char* key_type_name(KeyType type);

[[nodiscard]] Result<std::string> cert_random_bytes(size_t n);

// A fresh private key as PEM (SEC1 for EC, PKCS#1 for RSA). RSA 4096 takes seconds.
[[nodiscard]] Result<std::string> generate_key_pem(KeyType type);

// Parses an unencrypted PEM or DER private key.
[[nodiscard]] Result<KeyInfo> inspect_private_key(std::string_view pem);

// Every certificate in a PEM file (a chain is several), or one DER certificate.
[[nodiscard]] Result<std::vector<CertInfo>> parse_certificates(std::string_view pem_or_der);

// One PEM block for a DER certificate.
[[nodiscard]] Result<std::string> cert_der_to_pem(std::string_view der);

// Parses a PEM or DER CSR and checks its signature.
[[nodiscard]] Result<CsrInfo> parse_csr(std::string_view pem_or_der);

// Signs `tmpl` for the key in `subject_public_der` with `issuer_key_pem`; returns the PEM.
// The authority key identifier comes from the issuer key, the subject key identifier from the
// subject key. Self-signed: pass the subject as issuer and the same key.
[[nodiscard]] Result<std::string> issue_certificate(const CertTemplate& tmpl,
                                                    std::string_view subject_public_der,
                                                    const DistinguishedName& issuer,
                                                    std::string_view issuer_key_pem);

// Whether chain[0] chains to one of `trusted` now (system time), through the intermediates in
// chain[1..]: an empty string when it does, otherwise the reasons ("expired; not signed by the
// given CA"). REQUIRES: !chain.empty()
[[nodiscard]] Result<std::string> verify_chain(const std::vector<CertInfo>& chain,
                                               const std::vector<CertInfo>& trusted);

}  // namespace mq::crypto
