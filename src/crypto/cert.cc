#include "crypto/cert.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace mq::crypto {

namespace {

constexpr int64_t kDay = 86400;

// "'text'" (built by appending: g++ 12 warns falsely on "'" + std::string(...)).
std::string quoted(std::string_view text) {
  std::string out(1, '\'');
  out += text;
  out += '\'';
  return out;
}
constexpr uint8_t kUtf8String = 12;
const std::string kOidCommonName("\x55\x04\x03", 3);

Result<std::string> fresh_serial() {
  auto bytes = cert_random_bytes(16);
  if (!bytes.ok()) return bytes.error();
  // Positive (top bit clear) and never zero, so the DER INTEGER is always 16 bytes.
  (*bytes)[0] = char((uint8_t((*bytes)[0]) & 0x7f) | 0x40);
  return bytes;
}

Status check_days(int days) {
  if (days < 1 || days > kMaxDays) {
    return make_error(ErrorKind::kConfig, "--days must be between 1 and " +
                                              std::to_string(kMaxDays) + ", not " +
                                              std::to_string(days));
  }
  return {};
}

Status check_common_name(std::string_view cn) {
  if (cn.empty()) return make_error(ErrorKind::kConfig, "the common name is empty");
  if (cn.size() > 64) {
    return make_error(ErrorKind::kConfig, "the common name '" + std::string(cn) +
                                              "' is longer than 64 characters");
  }
  for (unsigned char ch : cn) {
    if (ch < 0x20 || ch == 0x7f) {
      return make_error(ErrorKind::kConfig, "the common name contains a control character");
    }
  }
  return {};
}

uint32_t leaf_key_usage(const KeyInfo& key, bool server) {
  // keyEncipherment only matters for RSA key exchange, which only a server's key does.
  return key_usage::kDigitalSignature | (key.rsa && server ? key_usage::kKeyEncipherment : 0);
}

// Keeps a leaf inside its CA's lifetime: a certificate outliving its issuer fails anyway.
void clamp_to_issuer(CertTemplate* t, const CertInfo& issuer, std::vector<std::string>* notes) {
  if (t->not_after <= issuer.not_after) return;
  t->not_after = issuer.not_after;
  if (notes) {
    notes->push_back("validity shortened to the CA's expiry (" + format_time(issuer.not_after) +
                     ")");
  }
}

}  // namespace

// --- names and addresses -------------------------------------------------------------------

Result<std::string> parse_ip(std::string_view text) {
  std::string s(text);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return std::string(reinterpret_cast<char*>(buf), 16);
  }
  return make_error(ErrorKind::kConfig, quoted(text) + " is not an IP address");
}

std::string format_ip(std::string_view raw) {
  char buf[INET6_ADDRSTRLEN];
  int family = raw.size() == 4 ? AF_INET : raw.size() == 16 ? AF_INET6 : 0;
  if (family == 0 || !inet_ntop(family, raw.data(), buf, sizeof buf)) return "?";
  return buf;
}

Status check_dns_name(std::string_view name) {
  auto bad = [&](const char* why) {
    return make_error(ErrorKind::kConfig,
                      quoted(name) + " is not a valid DNS name (" + why + ")");
  };
  if (name.empty()) return bad("empty");
  if (parse_ip(name).ok()) {
    return make_error(ErrorKind::kConfig, quoted(name) + " is an IP address: use --ip");
  }
  if (name.size() > 253) return bad("longer than 253 characters");
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t dot = rest.find('.', start);
    if (dot == std::string_view::npos) dot = rest.size();
    std::string_view label = rest.substr(start, dot - start);
    if (label.empty()) return bad("empty label");
    if (label.size() > 63) return bad("label longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') return bad("label starts or ends with '-'");
    for (char ch : label) {
      bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '_';
      if (!ok) return bad(ch == '*' ? "'*' only as the whole first label" : "bad character");
    }
    start = dot + 1;
  }
  return {};
}

Result<AltNames> build_alt_names(const std::vector<std::string>& dns,
                                 const std::vector<std::string>& ip, bool include_local) {
  AltNames out;
  auto add_dns = [&](std::string name) -> Status {
    if (name.size() > 1 && name.back() == '.') name.pop_back();  // fully qualified form
    if (Status s = check_dns_name(name); !s) return s;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (std::find(out.dns.begin(), out.dns.end(), name) == out.dns.end()) out.dns.push_back(name);
    return {};
  };
  auto add_ip = [&](std::string_view text) -> Status {
    auto raw = parse_ip(text);
    if (!raw.ok()) return raw.error();
    if (std::find(out.ip.begin(), out.ip.end(), *raw) == out.ip.end()) out.ip.push_back(*raw);
    return {};
  };
  for (const auto& d : dns) {
    if (Status s = add_dns(d); !s) return s.error();
  }
  for (const auto& a : ip) {
    if (Status s = add_ip(a); !s) return s.error();
  }
  if (include_local) {
    if (Status s = add_dns("localhost"); !s) return s.error();
    if (Status s = add_ip("127.0.0.1"); !s) return s.error();
    if (Status s = add_ip("::1"); !s) return s.error();
  }
  return out;
}

std::string format_alt_names(const AltNames& names) {
  std::string out;
  for (const auto& d : names.dns) out += (out.empty() ? "DNS:" : ", DNS:") + d;
  for (const auto& a : names.ip) out += (out.empty() ? "IP:" : ", IP:") + format_ip(a);
  return out;
}

DistinguishedName common_name_dn(std::string_view cn) {
  return {NameAttribute{kOidCommonName, kUtf8String, std::string(cn)}};
}

std::string common_name_of(const DistinguishedName& dn) {
  for (const auto& a : dn) {
    if (a.oid == kOidCommonName) return a.value;
  }
  return {};
}

std::string format_oid(std::string_view oid) {
  std::string out;
  uint64_t v = 0;
  bool first = true;
  for (unsigned char b : oid) {
    v = (v << 7) | (b & 0x7f);
    if (b & 0x80) continue;
    if (first) {
      uint64_t arc = v < 40 ? 0 : v < 80 ? 1 : 2;
      out = std::to_string(arc) + "." + std::to_string(v - arc * 40);
      first = false;
    } else {
      out += '.';
      out += std::to_string(v);
    }
    v = 0;
  }
  return out;
}

std::string format_dn(const DistinguishedName& dn) {
  struct Short {
    std::string_view dotted, name;
  };
  static constexpr Short kShort[] = {
      {"2.5.4.3", "CN"},  {"2.5.4.6", "C"},  {"2.5.4.7", "L"},
      {"2.5.4.8", "ST"},  {"2.5.4.10", "O"}, {"2.5.4.11", "OU"},
      {"2.5.4.5", "serialNumber"},           {"1.2.840.113549.1.9.1", "emailAddress"},
      {"0.9.2342.19200300.100.1.25", "DC"},  {"0.9.2342.19200300.100.1.1", "UID"},
  };
  std::string out;
  for (const auto& a : dn) {
    std::string dotted = format_oid(a.oid);
    std::string key = dotted;
    for (const Short& s : kShort) {
      if (s.dotted == dotted) key = std::string(s.name);
    }
    if (!out.empty()) out += ", ";
    out += key + "=";
    for (unsigned char ch : a.value) {
      if (ch < 0x20 || ch == 0x7f) {
        char esc[8];
        snprintf(esc, sizeof esc, "\\x%02x", ch);
        out += esc;
      } else {
        out += char(ch);
      }
    }
  }
  return out.empty() ? "(empty)" : out;
}

std::string format_serial(std::string_view serial) {
  std::string out;
  for (unsigned char b : serial) {
    char hex[4];
    snprintf(hex, sizeof hex, "%02x", b);
    if (!out.empty()) out += ':';
    out += hex;
  }
  return out;
}

std::string format_time(int64_t unix_seconds) {
  time_t t = time_t(unix_seconds);
  struct tm tm {};
  if (!gmtime_r(&t, &tm)) return "?";
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int64_t days_left(int64_t not_after, int64_t now) {
  int64_t d = not_after - now;
  return d >= 0 ? d / kDay : -((-d + kDay - 1) / kDay);
}

std::string format_key_usage(uint32_t bits) {
  struct Bit {
    uint32_t bit;
    const char* name;
  };
  static constexpr Bit kBits[] = {
      {0x80, "digitalSignature"}, {0x40, "nonRepudiation"}, {0x20, "keyEncipherment"},
      {0x10, "dataEncipherment"}, {0x08, "keyAgreement"},   {0x04, "keyCertSign"},
      {0x02, "cRLSign"},          {0x01, "encipherOnly"},
  };
  std::string out;
  for (const Bit& b : kBits) {
    if (bits & b.bit) out += (out.empty() ? "" : ", ") + std::string(b.name);
  }
  return out;
}

Result<KeyType> key_type_of(const KeyInfo& key) {
  if (key.description == "EC P-256") return KeyType::kEcP256;
  if (key.description == "EC P-384") return KeyType::kEcP384;
  if (key.description == "RSA 2048") return KeyType::kRsa2048;
  if (key.description == "RSA 3072") return KeyType::kRsa3072;
  if (key.description == "RSA 4096") return KeyType::kRsa4096;
  return make_error(ErrorKind::kUnsupported,
                    "cannot make a new key like " + key.description + ": give --key-type");
}

// --- issuing ---------------------------------------------------------------------------------

Result<CertAuthority> load_authority(std::string_view cert_pem, std::string_view key_pem) {
  auto certs = parse_certificates(cert_pem);
  if (!certs.ok()) return certs.error();
  CertAuthority ca;
  ca.cert = std::move(certs->front());
  if (!ca.cert.is_ca) {
    return make_error(ErrorKind::kConfig,
                      "'" + format_dn(ca.cert.subject) + "' is not a CA certificate");
  }
  if (ca.cert.has_key_usage && !(ca.cert.key_usage & key_usage::kKeyCertSign)) {
    return make_error(ErrorKind::kConfig, "the CA certificate's key usage forbids signing");
  }
  auto key = inspect_private_key(key_pem);
  if (!key.ok()) return key.error();
  if (key->public_der != ca.cert.key.public_der) {
    return make_error(ErrorKind::kConfig, "the CA key does not match the CA certificate");
  }
  ca.key_pem = std::string(key_pem);
  return ca;
}

Result<KeyAndCert> create_ca(const IssueRequest& req, KeyType type, int64_t now) {
  int days = req.days ? req.days : kCaDays;
  if (Status s = check_days(days); !s) return s.error();
  std::string cn = req.common_name;
  if (cn.empty()) {
    auto tag = cert_random_bytes(4);
    if (!tag.ok()) return tag.error();
    cn = "mq CA " + format_serial(*tag);
    cn.erase(std::remove(cn.begin(), cn.end(), ':'), cn.end());
  }
  if (Status s = check_common_name(cn); !s) return s.error();
  auto key = generate_key_pem(type);
  if (!key.ok()) return key.error();
  auto info = inspect_private_key(*key);
  if (!info.ok()) return info.error();
  auto serial = fresh_serial();
  if (!serial.ok()) return serial.error();
  CertTemplate t;
  t.subject = common_name_dn(cn);
  t.serial = std::move(*serial);
  t.not_before = now - kBackdateSeconds;
  t.not_after = now + days * kDay;
  t.is_ca = true;
  t.path_len = 0;
  t.key_usage = key_usage::kKeyCertSign | key_usage::kCrlSign;
  auto pem = issue_certificate(t, info->public_der, t.subject, *key);
  if (!pem.ok()) return pem.error();
  return KeyAndCert{std::move(*key), std::move(*pem)};
}

Result<std::string> issue_leaf(const IssueRequest& req, const KeyInfo& subject_key,
                               const AltNames& names, const DistinguishedName* subject,
                               const CertAuthority& ca, int64_t now,
                               std::vector<std::string>* notes) {
  bool server = req.kind == CertKind::kServer;
  if (req.kind == CertKind::kCa) return make_error(ErrorKind::kInternal, "issue_leaf for a CA");
  int days = req.days ? req.days : kLeafDays;
  if (Status s = check_days(days); !s) return s.error();
  CertTemplate t;
  if (subject != nullptr && req.common_name.empty()) {
    t.subject = *subject;
  } else {
    std::string cn = req.common_name;
    if (cn.empty() && server) {
      // The user's names come first in `names`, ahead of the local ones.
      cn = !req.dns.empty() && !names.dns.empty() ? names.dns.front()
           : !req.ip.empty() && !names.ip.empty() ? format_ip(names.ip.front())
                                                  : "localhost";
    }
    if (cn.empty()) return make_error(ErrorKind::kConfig, "a client certificate needs a name");
    if (Status s = check_common_name(cn); !s) return s.error();
    t.subject = common_name_dn(cn);
  }
  if (t.subject == ca.cert.subject) {
    // Same subject as the issuer makes the certificate look self-issued to verifiers.
    return make_error(ErrorKind::kConfig, "the certificate's subject '" + format_dn(t.subject) +
                                              "' is the CA's own: choose another --cn");
  }
  auto serial = fresh_serial();
  if (!serial.ok()) return serial.error();
  t.serial = std::move(*serial);
  t.not_before = now - kBackdateSeconds;
  t.not_after = now + days * kDay;
  clamp_to_issuer(&t, ca.cert, notes);
  t.key_usage = leaf_key_usage(subject_key, server);
  t.server_auth = server;
  t.client_auth = !server;
  t.alt_names = names;
  return issue_certificate(t, subject_key.public_der, ca.cert.subject, ca.key_pem);
}

Result<std::string> renew_certificate(const CertInfo& old, const KeyInfo& key,
                                      const CertAuthority& signer, int days, int64_t now,
                                      std::vector<std::string>* notes) {
  if (days == 0) {
    days = int(std::clamp<int64_t>((old.not_after - old.not_before + kDay / 2) / kDay, 1, kMaxDays));
  }
  if (Status s = check_days(days); !s) return s.error();
  bool self_signed = old.is_ca && old.der == signer.cert.der;
  auto serial = fresh_serial();
  if (!serial.ok()) return serial.error();
  CertTemplate t;
  t.subject = old.subject;
  t.serial = std::move(*serial);
  t.not_before = now - kBackdateSeconds;
  t.not_after = now + days * kDay;
  if (!self_signed) clamp_to_issuer(&t, signer.cert, notes);
  t.is_ca = old.is_ca;
  t.path_len = old.path_len;
  if (old.is_ca) {
    t.key_usage = old.has_key_usage ? old.key_usage
                                    : key_usage::kKeyCertSign | key_usage::kCrlSign;
  } else {
    t.key_usage = leaf_key_usage(key, old.server_auth);
  }
  t.server_auth = old.server_auth && old.has_ext_key_usage;
  t.client_auth = old.client_auth && old.has_ext_key_usage;
  t.alt_names = old.alt_names;
  return issue_certificate(t, key.public_der, self_signed ? t.subject : signer.cert.subject,
                           signer.key_pem);
}

}  // namespace mq::crypto
