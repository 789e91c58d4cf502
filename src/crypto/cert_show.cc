// `mq certgen show`: a readable summary of certificates, keys and CSRs, with expiry warnings and,
// when a CA is given, whether each certificate chains to it.
#include <cstdio>

#include "crypto/cert.h"
#include "crypto/cert_commands.h"
#include "crypto/cert_files.h"

namespace mq::crypto {

namespace {

constexpr int64_t kWarnDays = 30;

void field(std::string* out, const char* name, const std::string& value) {
  char label[24];
  snprintf(label, sizeof label, "  %-11s ", name);
  *out += label + value + "\n";
}

std::string purpose(const CertInfo& c) {
  if (c.is_ca) {
    return c.path_len >= 0 ? "CA (path length " + std::to_string(c.path_len) + ")" : "CA";
  }
  if (!c.has_ext_key_usage) return "end entity (any purpose)";
  if (c.server_auth && c.client_auth) return "server and client";
  if (c.server_auth) return "server";
  if (c.client_auth) return "client";
  return "end entity (neither server nor client)";
}

void show_cert(const std::string& file, const std::vector<CertInfo>& chain, size_t index,
               const std::vector<CertInfo>* cas, const std::string& ca_name, int64_t now,
               CertgenOutput* out) {
  const CertInfo& c = chain[index];
  std::string& t = out->text;
  std::string where = chain.size() > 1 ? file + " #" + std::to_string(index + 1) : file;
  t += where + ": certificate\n";
  field(&t, "subject:", format_dn(c.subject));
  field(&t, "issuer:", c.subject == c.issuer ? format_dn(c.issuer) + " (self-signed)"
                                            : format_dn(c.issuer));
  field(&t, "serial:", format_serial(c.serial));
  std::string names = format_alt_names(c.alt_names);
  field(&t, "names:", names.empty() ? "(none)" : names);
  field(&t, "for:", purpose(c));
  if (c.has_key_usage) field(&t, "key usage:", format_key_usage(c.key_usage));
  field(&t, "not before:", format_time(c.not_before));
  int64_t left = days_left(c.not_after, now);
  std::string until = format_time(c.not_after);
  if (now > c.not_after) {
    until += " (EXPIRED " + std::to_string(-left) + " days ago)";
    out->warnings.push_back(where + ": expired on " + format_time(c.not_after));
    out->problem = true;
  } else {
    until += " (" + std::to_string(left) + " days left)";
    if (c.not_after - now <= kWarnDays * 86400) {
      out->warnings.push_back(where + ": expires in " + std::to_string(left) + " days, on " +
                              format_time(c.not_after));
    }
  }
  if (now < c.not_before) {
    out->warnings.push_back(where + ": not valid before " + format_time(c.not_before));
    out->problem = true;
  }
  field(&t, "not after:", until);
  field(&t, "key:", c.key.description);
  if (!c.signature_algorithm.empty()) field(&t, "signature:", c.signature_algorithm);
  if (cas != nullptr && index == 0) {
    std::vector<CertInfo> path(chain.begin(), chain.end());
    auto verdict = verify_chain(path, *cas);
    if (!verdict.ok()) {
      field(&t, "chains to:", ca_name + ": cannot check (" + verdict.error().context + ")");
      out->problem = true;
    } else if (verdict->empty()) {
      field(&t, "chains to:", ca_name + ": yes");
    } else {
      field(&t, "chains to:", ca_name + ": NO (" + *verdict + ")");
      out->problem = true;
    }
  }
}

void show_file(const std::string& file, const std::vector<CertInfo>* cas,
               const std::string& ca_name, int64_t now, CertgenOutput* out) {
  auto data = read_cert_file(file);
  if (!data.ok()) {
    out->text += file + ": " + data.error().context + "\n";
    out->problem = true;
    return;
  }
  if (data->find("PRIVATE KEY-----") != std::string::npos) {
    auto key = inspect_private_key(*data);
    if (!key.ok()) {
      out->text += file + ": " + key.error().context + "\n";
      out->problem = true;
      return;
    }
    out->text += file + ": private key\n";
    field(&out->text, "key:", key->description);
    return;
  }
  if (data->find("CERTIFICATE REQUEST-----") != std::string::npos) {
    auto csr = parse_csr(*data);
    if (!csr.ok()) {
      out->text += file + ": " + csr.error().context + "\n";
      out->problem = true;
      return;
    }
    out->text += file + ": certificate request (signature verified)\n";
    field(&out->text, "subject:", format_dn(csr->subject));
    std::string names = format_alt_names(csr->alt_names);
    field(&out->text, "names:", names.empty() ? "(none)" : names);
    field(&out->text, "key:", csr->key.description);
    return;
  }
  auto certs = parse_certificates(*data);
  if (!certs.ok()) {
    out->text += file + ": " + certs.error().context + "\n";
    out->problem = true;
    return;
  }
  for (size_t i = 0; i < certs->size(); i++) show_cert(file, *certs, i, cas, ca_name, now, out);
}

}  // namespace

Result<CertgenOutput> certgen_show(const CertgenOptions& o, const Clock& clock) {
  if (o.files.empty()) return make_error(ErrorKind::kConfig, "name the files to show");
  std::vector<CertInfo> cas;
  std::string ca_name;
  if (!o.ca_cert.empty() || !o.ca_dir.empty()) {
    ca_name = o.ca_cert.empty() ? cert_path(o.ca_dir, "ca.crt") : o.ca_cert;
    auto data = read_cert_file(ca_name);
    if (!data.ok()) return make_error(data.error().kind, "CA certificate: " + data.error().context);
    auto parsed = parse_certificates(*data);
    if (!parsed.ok()) {
      return make_error(parsed.error().kind, ca_name + ": " + parsed.error().context);
    }
    cas = std::move(*parsed);
  }
  CertgenOutput out;
  for (size_t i = 0; i < o.files.size(); i++) {
    if (i > 0) out.text += "\n";
    show_file(o.files[i], cas.empty() ? nullptr : &cas, ca_name, clock.unix_time(), &out);
  }
  return out;
}

}  // namespace mq::crypto
