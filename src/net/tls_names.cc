// Certificate names as people read them, and the sentences TLS failures turn into.
#include <arpa/inet.h>
#include <mbedtls/oid.h>

#include <cstdio>
#include <cstring>

#include "net/tls_internal.h"

namespace mq::net {

namespace {

struct ShortName {
  const char* oid;  // contents octets
  size_t len;
  const char* name;
};
#define MQ_OID(s) s, sizeof(s) - 1
// Short names as OpenSSL's XN_FLAG_FN_SN prints them.
constexpr ShortName kShortNames[] = {
    {MQ_OID("\x55\x04\x03"), "CN"},
    {MQ_OID("\x55\x04\x06"), "C"},
    {MQ_OID("\x55\x04\x07"), "L"},
    {MQ_OID("\x55\x04\x08"), "ST"},
    {MQ_OID("\x55\x04\x09"), "street"},
    {MQ_OID("\x55\x04\x0a"), "O"},
    {MQ_OID("\x55\x04\x0b"), "OU"},
    {MQ_OID("\x55\x04\x0c"), "title"},
    {MQ_OID("\x55\x04\x04"), "SN"},
    {MQ_OID("\x55\x04\x05"), "serialNumber"},
    {MQ_OID("\x55\x04\x2a"), "GN"},
    {MQ_OID("\x55\x04\x2b"), "initials"},
    {MQ_OID("\x55\x04\x2e"), "dnQualifier"},
    {MQ_OID("\x55\x04\x41"), "pseudonym"},
    {MQ_OID("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01"), "emailAddress"},
    {MQ_OID("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19"), "DC"},
    {MQ_OID("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01"), "UID"},
};
#undef MQ_OID

const char* short_name(const mbedtls_asn1_buf& oid) {
  for (const ShortName& s : kShortNames)
    if (oid.len == s.len && memcmp(oid.p, s.oid, s.len) == 0) return s.name;
  return nullptr;
}

std::string dotted_oid(const mbedtls_asn1_buf& oid) {
  char buf[128];
  int n = mbedtls_oid_get_numeric_string(buf, sizeof buf, &oid);
  return n > 0 ? std::string(buf, size_t(n)) : "?";
}

void append_hex(std::string& out, unsigned char b) {
  static const char kHex[] = "0123456789ABCDEF";
  out.push_back(kHex[b >> 4]);
  out.push_back(kHex[b & 15]);
}

// RFC 2253 escaping as OpenSSL's ASN1_STRFLGS_RFC2253 does it: specials get a backslash,
// control and non-ASCII bytes become \XX.
void append_escaped(std::string& out, const unsigned char* p, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = p[i];
    bool edge_space = c == ' ' && (i == 0 || i + 1 == len);
    if (c < 0x20 || c >= 0x7f) {
      out.push_back('\\');
      append_hex(out, c);
    } else if (strchr(",+\"\\<>;", c) != nullptr || (c == '#' && i == 0) || edge_space) {
      out.push_back('\\');
      out.push_back(char(c));
    } else {
      out.push_back(char(c));
    }
  }
}

bool is_string_tag(int tag) {
  switch (tag) {
    case MBEDTLS_ASN1_UTF8_STRING:
    case MBEDTLS_ASN1_PRINTABLE_STRING:
    case MBEDTLS_ASN1_IA5_STRING:
    case MBEDTLS_ASN1_T61_STRING:
    case MBEDTLS_ASN1_BMP_STRING:
    case MBEDTLS_ASN1_UNIVERSAL_STRING:
      return true;
    default:
      return false;
  }
}

void append_attribute(std::string& out, const mbedtls_x509_name* n) {
  const char* sn = short_name(n->oid);
  if (sn != nullptr && is_string_tag(n->val.tag)) {
    out += sn;
    out.push_back('=');
    append_escaped(out, n->val.p, n->val.len);
    return;
  }
  // Unknown fields are dumped as '#' + the DER of the value (XN_FLAG_DUMP_UNKNOWN_FIELDS).
  out += sn != nullptr ? std::string(sn) : dotted_oid(n->oid);
  out += "=#";
  append_hex(out, static_cast<unsigned char>(n->val.tag));
  if (n->val.len < 128) {
    append_hex(out, static_cast<unsigned char>(n->val.len));
  } else {
    unsigned char len[4];
    int k = 0;
    for (size_t v = n->val.len; v != 0; v >>= 8) len[k++] = static_cast<unsigned char>(v);
    append_hex(out, static_cast<unsigned char>(0x80 | k));
    while (k > 0) append_hex(out, len[--k]);
  }
  for (size_t i = 0; i < n->val.len; ++i) append_hex(out, n->val.p[i]);
}

std::string format_ip(const unsigned char* p, size_t len) {
  char buf[INET6_ADDRSTRLEN];
  if (len == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) return buf;
  if (len == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf)) return buf;
  return "(bad IP address)";
}

constexpr int kSanDns = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2;
constexpr int kSanIp = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;

}  // namespace

std::string x509_common_name(const mbedtls_x509_name* name) {
  for (const mbedtls_x509_name* n = name; n != nullptr; n = n->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
      return std::string(reinterpret_cast<const char*>(n->val.p), n->val.len);
  return "";
}

std::string x509_rfc2253(const mbedtls_x509_name* name) {
  // Group attributes into RDNs (next_merged links the parts of a multi-valued one).
  std::vector<std::vector<const mbedtls_x509_name*>> rdns;
  bool merge = false;
  for (const mbedtls_x509_name* n = name; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) continue;
    if (!merge || rdns.empty()) rdns.emplace_back();
    rdns.back().push_back(n);
    merge = n->MBEDTLS_PRIVATE(next_merged) != 0;  // no public accessor in 3.6
  }
  std::string out;
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (!out.empty()) out.push_back(',');
    for (size_t i = 0; i < it->size(); ++i) {
      if (i) out.push_back('+');
      append_attribute(out, (*it)[i]);
    }
  }
  return out;
}

std::vector<std::string> x509_san_names(const mbedtls_x509_crt* crt) {
  std::vector<std::string> out;
  for (const mbedtls_x509_sequence* s = &crt->subject_alt_names; s != nullptr; s = s->next) {
    if (s->buf.p == nullptr) continue;
    if (s->buf.tag == kSanDns)
      out.emplace_back(reinterpret_cast<const char*>(s->buf.p), s->buf.len);
    else if (s->buf.tag == kSanIp)
      out.push_back(format_ip(s->buf.p, s->buf.len));
  }
  return out;
}

std::string x509_time_text(const mbedtls_x509_time& t) {
  char buf[40];
  snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", t.year, t.mon, t.day, t.hour, t.min,
           t.sec);
  return buf;
}

std::string verify_failure_text(uint32_t flags, bool server, const VerifyNotes& notes) {
  std::vector<std::string> parts;
  const std::string who = server ? "client certificate" : "certificate";
  if (flags & MBEDTLS_X509_BADCERT_MISSING)
    parts.push_back(server ? "client did not present a certificate"
                           : "server did not present a certificate");
  if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
    parts.push_back(server ? "client certificate from an unknown certificate authority"
                           : "unknown certificate authority");
  if (flags & MBEDTLS_X509_BADCERT_REVOKED) parts.push_back(who.substr(0, who.size()) + " revoked");
  if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
    parts.push_back(!notes.expired.empty() ? (server ? "client " : "") + notes.expired
                                           : who + " expired");
  if (flags & MBEDTLS_X509_BADCERT_FUTURE)
    parts.push_back(!notes.not_yet_valid.empty() ? (server ? "client " : "") + notes.not_yet_valid
                                                 : who + " not yet valid");
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
    std::string names;
    for (const std::string& n : notes.leaf_names) names += (names.empty() ? "" : ", ") + n;
    if (names.empty()) names = "no subjectAltName";
    parts.push_back("certificate for '" + notes.leaf_cn + "' does not match the host name " +
                    (notes.host.empty() ? "(none given)" : notes.host) + " (it names: " + names +
                    ")");
  }
  if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
               MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
    parts.push_back(who + " is not allowed for this use (key usage)");
  if (flags &
      (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
    parts.push_back(who + " uses an unacceptable algorithm or key size");
  if (flags & MBEDTLS_X509_BADCRL_NOT_TRUSTED) parts.push_back("CRL not signed by a trusted CA");
  if (flags & MBEDTLS_X509_BADCRL_EXPIRED) parts.push_back("CRL expired");
  if (flags & MBEDTLS_X509_BADCRL_FUTURE) parts.push_back("CRL not yet valid");
  if (parts.empty()) {
    char buf[512];
    int n = mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
    std::string info = n > 0 ? std::string(buf, size_t(n)) : "";
    while (!info.empty() && info.back() == '\n') info.pop_back();
    for (char& c : info) c = c == '\n' ? ';' : c;
    parts.push_back(who + " verification failed" + (info.empty() ? "" : ": " + info));
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::string alert_text(int alert, bool server, bool we_sent_no_cert) {
  const std::string peer = server ? "the client" : "the server";
  switch (alert) {
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
      if (we_sent_no_cert) return "server requires a client certificate";
      return peer + " refused the handshake (no common cipher suite or settings)";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
      if (we_sent_no_cert) return "server requires a client certificate";
      return peer + " rejected our certificate (bad certificate)";
    case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
      return peer + " says our certificate is revoked";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
      return peer + " says our certificate has expired";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
      return peer + " does not trust our certificate (unknown certificate authority)";
    case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
    case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
      return peer + " rejected our certificate";
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
      return "unsupported protocol version";
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
      return peer + " wants stronger security (cipher suites)";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_PSK_IDENTITY:
      return peer + " does not know our PSK identity";
    case MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC:
      return peer + " could not decrypt our handshake (wrong PSK key?)";
    case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR:
      return "PSK or signature mismatch (decrypt error)";
    case MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL:
      return "no ALPN protocol in common";
    case 116:
      return "server requires a client certificate";  // certificate_required (TLS 1.3)
    default:
      return peer + " sent TLS alert " + std::to_string(alert);
  }
}

}  // namespace mq::net
