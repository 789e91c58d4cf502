// Certificate policy for `mq certgen`: what a CA, a server and a client certificate contain
// (names, lifetimes, key usages), loading and checking an existing CA, and the text forms of
// names and addresses. Works on in-memory PEM; files are cert_files.h's job and the mbedTLS
// calls are cert_backend.h's. Stateless: safe from any thread. Time is passed in (Unix seconds).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/cert_backend.h"

namespace mq::crypto {

enum class CertKind : uint8_t { kCa, kServer, kClient };

inline constexpr int kCaDays = 3650;
inline constexpr int kLeafDays = 365;
inline constexpr int kMaxDays = 36500;
inline constexpr int64_t kBackdateSeconds = 3600;  // tolerate clocks a little behind ours

// What the user asked for; empty fields take the defaults for the kind.
struct IssueRequest {
  CertKind kind = CertKind::kServer;
  std::string common_name;      // CA: "mq CA <hex>"; server: first name; client: required
  std::vector<std::string> dns; // server (and any CSR): extra subjectAltName entries, as text
  std::vector<std::string> ip;
  bool include_local = true;    // server: add localhost, 127.0.0.1 and ::1
  int days = 0;                 // 0: kCaDays for a CA, kLeafDays otherwise
};

// A CA ready to sign: its parsed certificate and its key, checked to belong together.
struct CertAuthority {
  CertInfo cert;
  std::string key_pem;
};

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// --- names and addresses -------------------------------------------------------------------

// "1.2.3.4", "::1" or "[::1]" -> 4 or 16 raw bytes.
[[nodiscard]] Result<std::string> parse_ip(std::string_view text);
std::string format_ip(std::string_view raw);
// A host name for a dNSName entry: letters, digits, '-', '_', dots, an optional leading "*.".
[[nodiscard]] Status check_dns_name(std::string_view name);
// Validates and de-duplicates; adds the local names for a server unless told not to.
[[nodiscard]] Result<AltNames> build_alt_names(const std::vector<std::string>& dns,
                                               const std::vector<std::string>& ip,
                                               bool include_local);
// "DNS:localhost, IP:127.0.0.1"
std::string format_alt_names(const AltNames& names);

DistinguishedName common_name_dn(std::string_view cn);
std::string common_name_of(const DistinguishedName& dn);  // empty when there is none
// "O=Example, CN=broker" (DER order, like `openssl x509 -subject`).
std::string format_dn(const DistinguishedName& dn);
// "2.5.4.3" from the OID's contents octets.
std::string format_oid(std::string_view oid);
std::string format_serial(std::string_view serial);      // "4f:1a:..."
std::string format_time(int64_t unix_seconds);            // "2025-01-31 12:00:00 UTC"
// Days from `now` until `not_after`, rounded down; negative once expired.
int64_t days_left(int64_t not_after, int64_t now);
// "digitalSignature, keyCertSign"
std::string format_key_usage(uint32_t bits);
// The key type a described key has, for renewing with a fresh key of the same kind.
[[nodiscard]] Result<KeyType> key_type_of(const KeyInfo& key);

// --- issuing ---------------------------------------------------------------------------------

// Checks that `cert_pem` holds a CA certificate that may sign and that `key_pem` is its key.
[[nodiscard]] Result<CertAuthority> load_authority(std::string_view cert_pem,
                                                   std::string_view key_pem);

// A fresh key and a self-signed CA certificate (basicConstraints CA, path length 0).
[[nodiscard]] Result<KeyAndCert> create_ca(const IssueRequest& req, KeyType type, int64_t now);

// A certificate for `subject_key` signed by `ca` (request.kind server or client). `subject`
// overrides the name built from the request (CSR signing and renewal keep theirs). Notes for the
// user (a lifetime shortened to the CA's) are appended to `notes`.
[[nodiscard]] Result<std::string> issue_leaf(const IssueRequest& req, const KeyInfo& subject_key,
                                             const AltNames& names,
                                             const DistinguishedName* subject,
                                             const CertAuthority& ca, int64_t now,
                                             std::vector<std::string>* notes);

// Re-issues `old` for `key` with the same subject, names and usages, for `days` (0: the old
// lifetime). A self-signed CA is re-signed by itself (same key), which keeps its chains valid.
[[nodiscard]] Result<std::string> renew_certificate(const CertInfo& old, const KeyInfo& key,
                                                    const CertAuthority& signer, int days,
                                                    int64_t now, std::vector<std::string>* notes);

}  // namespace mq::crypto
