// The writing actions of `mq certgen` (ca, server, client, all, sign, renew); `show` is in
// cert_show.cc. Every action decides all of its target paths first and refuses existing files
// before generating anything, so a refused run costs no key generation and leaves no debris.
#include "crypto/cert_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "crypto/cert.h"
#include "crypto/cert_files.h"

namespace mq::crypto {

namespace {

std::string ca_dir_of(const CertgenOptions& o) { return o.ca_dir.empty() ? o.dir : o.ca_dir; }
std::string ca_cert_path(const CertgenOptions& o) {
  return o.ca_cert.empty() ? cert_path(ca_dir_of(o), "ca.crt") : o.ca_cert;
}
std::string ca_key_path(const CertgenOptions& o) {
  return o.ca_key.empty() ? cert_path(ca_dir_of(o), "ca.key") : o.ca_key;
}
bool explicit_ca(const CertgenOptions& o) {
  return !o.ca_dir.empty() || !o.ca_cert.empty() || !o.ca_key.empty();
}

Error with_context(const std::string& prefix, const Error& e) {
  return make_error(e.kind, prefix + e.context, e.reason);
}

Result<CertAuthority> load_ca(const CertgenOptions& o) {
  std::string cert_file = ca_cert_path(o), key_file = ca_key_path(o);
  const char* hint = " (make one with 'mq certgen ca', or name yours with --ca-dir or "
                     "--ca-cert and --ca-key)";
  auto cert = read_cert_file(cert_file);
  if (!cert.ok()) return make_error(cert.error().kind, "CA certificate: " + cert.error().context + hint);
  auto key = read_cert_file(key_file);
  if (!key.ok()) return make_error(key.error().kind, "CA key: " + key.error().context + hint);
  auto certs = parse_certificates(*cert);
  if (!certs.ok()) return with_context("CA certificate " + cert_file + ": ", certs.error());
  auto key_info = inspect_private_key(*key);
  if (!key_info.ok()) return with_context("CA key " + key_file + ": ", key_info.error());
  auto ca = load_authority(*cert, *key);
  if (!ca.ok()) {
    if (certs->front().is_ca && key_info->public_der != certs->front().key.public_der) {
      return make_error(ErrorKind::kConfig,
                        "CA key " + key_file + " does not match CA certificate " + cert_file);
    }
    return with_context(cert_file + ": ", ca.error());
  }
  return ca;
}

// Refuses existing targets before any key is generated.
Status refuse_existing(const std::vector<std::string>& paths, bool force) {
  CertFileBatch probe;
  for (const auto& p : paths) probe.add(p, {}, 0);
  return probe.check(force);
}

Status check_client_name(const std::string& name) {
  if (name.empty()) return make_error(ErrorKind::kConfig, "a client needs a name");
  if (name.find('/') != std::string::npos || name.front() == '.') {
    return make_error(ErrorKind::kConfig,
                      "client name '" + name + "' cannot be a file name (no '/', no leading '.')");
  }
  if (name == "ca" || name == "server") {
    return make_error(ErrorKind::kConfig,
                      "client name '" + name + "' would clash with " + name + ".crt");
  }
  return {};
}

std::string describe(const std::string& label, const std::string& cert_pem, int64_t now) {
  auto certs = parse_certificates(cert_pem);
  if (!certs.ok()) return label + ": (unreadable: " + certs.error().context + ")\n";
  const CertInfo& c = certs->front();
  std::string line = label + ": " + format_dn(c.subject);
  std::string names = format_alt_names(c.alt_names);
  if (!names.empty()) line += " [" + names + "]";
  line += ", " + c.key.description + ", valid until " + format_time(c.not_after) + " (" +
          std::to_string(days_left(c.not_after, now)) + " days)\n";
  return line;
}

std::string shell_quote(const std::string& s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == ':' || c == '@';
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A server key + certificate, staged in `batch`.
Status stage_server(const CertgenOptions& o, const CertAuthority& ca, int64_t now,
                    CertFileBatch* batch, std::string* summary,
                    std::vector<std::string>* notes) {
  auto names = build_alt_names(o.dns, o.ip, !o.no_local);
  if (!names.ok()) return names.error();
  if (names->empty()) {
    return make_error(ErrorKind::kConfig, "a server certificate needs a name: give --dns or --ip");
  }
  auto key = generate_key_pem(o.key_type.value_or(KeyType::kEcP256));
  if (!key.ok()) return key.error();
  auto info = inspect_private_key(*key);
  if (!info.ok()) return info.error();
  IssueRequest req{CertKind::kServer, o.cn, o.dns, o.ip, !o.no_local, o.days};
  auto cert = issue_leaf(req, *info, *names, nullptr, ca, now, notes);
  if (!cert.ok()) return cert.error();
  *summary += describe("server", *cert, now);
  batch->add(cert_path(o.dir, "server.key"), std::move(*key), kKeyMode);
  batch->add(cert_path(o.dir, "server.crt"), std::move(*cert), kCertMode);
  return {};
}

// A client key + certificate, staged in `batch`; `with_names` puts --dns/--ip in its SAN.
Status stage_client(const CertgenOptions& o, const std::string& name, bool with_names,
                    const CertAuthority& ca, int64_t now, CertFileBatch* batch,
                    std::string* summary, std::vector<std::string>* notes) {
  auto names = with_names ? build_alt_names(o.dns, o.ip, false) : Result<AltNames>(AltNames{});
  if (!names.ok()) return names.error();
  auto key = generate_key_pem(o.key_type.value_or(KeyType::kEcP256));
  if (!key.ok()) return key.error();
  auto info = inspect_private_key(*key);
  if (!info.ok()) return info.error();
  IssueRequest req{CertKind::kClient, name, {}, {}, false, o.days};
  auto cert = issue_leaf(req, *info, *names, nullptr, ca, now, notes);
  if (!cert.ok()) return cert.error();
  *summary += describe("client", *cert, now);
  batch->add(cert_path(o.dir, name + ".key"), std::move(*key), kKeyMode);
  batch->add(cert_path(o.dir, name + ".crt"), std::move(*cert), kCertMode);
  return {};
}

std::string wrote(const CertFileBatch& batch) {
  std::string out = "wrote";
  for (const auto& p : batch.paths()) out += " " + p;
  return out + "\n";
}

Result<CertgenOutput> finish(CertFileBatch* batch, bool replace, std::string summary,
                             std::vector<std::string> notes) {
  if (Status s = batch->commit(replace); !s) return s.error();
  return CertgenOutput{wrote(*batch) + summary, std::move(notes), false};
}

}  // namespace

Result<CertgenOutput> certgen_ca(const CertgenOptions& o, const Clock& clock) {
  CertgenOptions where = o;
  if (where.ca_dir.empty()) where.ca_dir = o.dir;
  std::string cert_file = ca_cert_path(where), key_file = ca_key_path(where);
  if (Status s = refuse_existing({key_file, cert_file}, o.force); !s) return s.error();
  if (Status s = make_cert_dir(where.ca_dir); !s) return s.error();
  IssueRequest req{CertKind::kCa, o.cn, {}, {}, false, o.days};
  int64_t now = clock.unix_time();
  auto made = create_ca(req, o.key_type.value_or(KeyType::kEcP256), now);
  if (!made.ok()) return made.error();
  CertFileBatch batch;
  std::string summary = describe("CA", made->cert_pem, now);
  batch.add(key_file, std::move(made->key_pem), kKeyMode);
  batch.add(cert_file, std::move(made->cert_pem), kCertMode);
  return finish(&batch, o.force, summary, {});
}

Result<CertgenOutput> certgen_server(const CertgenOptions& o, const Clock& clock) {
  if (Status s = refuse_existing({cert_path(o.dir, "server.key"), cert_path(o.dir, "server.crt")},
                                 o.force);
      !s) {
    return s.error();
  }
  auto ca = load_ca(o);
  if (!ca.ok()) return ca.error();
  if (Status s = make_cert_dir(o.dir); !s) return s.error();
  CertFileBatch batch;
  std::string summary;
  std::vector<std::string> notes;
  if (Status s = stage_server(o, *ca, clock.unix_time(), &batch, &summary, &notes); !s) {
    return s.error();
  }
  return finish(&batch, o.force, summary, notes);
}

Result<CertgenOutput> certgen_client(const CertgenOptions& o, const Clock& clock) {
  if (o.names.empty()) return make_error(ErrorKind::kConfig, "give the client's NAME");
  std::vector<std::string> targets;
  for (const auto& n : o.names) {
    if (Status s = check_client_name(n); !s) return s.error();
    targets.push_back(cert_path(o.dir, n + ".key"));
    targets.push_back(cert_path(o.dir, n + ".crt"));
  }
  if (Status s = refuse_existing(targets, o.force); !s) return s.error();
  auto ca = load_ca(o);
  if (!ca.ok()) return ca.error();
  if (Status s = make_cert_dir(o.dir); !s) return s.error();
  CertFileBatch batch;
  std::string summary;
  std::vector<std::string> notes;
  for (const auto& n : o.names) {
    if (Status s = stage_client(o, n, true, *ca, clock.unix_time(), &batch, &summary, &notes);
        !s) {
      return s.error();
    }
  }
  return finish(&batch, o.force, summary, notes);
}

Result<CertgenOutput> certgen_all(const CertgenOptions& o, const Clock& clock) {
  std::vector<std::string> clients = o.names.empty() ? std::vector<std::string>{"client"} : o.names;
  bool new_ca = !explicit_ca(o);
  std::vector<std::string> targets = {cert_path(o.dir, "server.key"),
                                      cert_path(o.dir, "server.crt")};
  if (new_ca) {
    targets.insert(targets.begin(), {cert_path(o.dir, "ca.key"), cert_path(o.dir, "ca.crt")});
  }
  for (const auto& n : clients) {
    if (Status s = check_client_name(n); !s) return s.error();
    targets.push_back(cert_path(o.dir, n + ".key"));
    targets.push_back(cert_path(o.dir, n + ".crt"));
  }
  if (Status s = refuse_existing(targets, o.force); !s) return s.error();
  // Validate the names before the (possibly slow) CA key generation.
  if (auto names = build_alt_names(o.dns, o.ip, !o.no_local); !names.ok()) return names.error();
  int64_t now = clock.unix_time();
  CertFileBatch batch;
  std::string summary;
  std::vector<std::string> notes;
  CertAuthority ca;
  if (new_ca) {
    if (Status s = make_cert_dir(o.dir); !s) return s.error();
    IssueRequest req{CertKind::kCa, {}, {}, {}, false, 0};
    auto made = create_ca(req, o.key_type.value_or(KeyType::kEcP256), now);
    if (!made.ok()) return made.error();
    auto loaded = load_authority(made->cert_pem, made->key_pem);
    if (!loaded.ok()) return loaded.error();
    ca = std::move(*loaded);
    summary += describe("CA", made->cert_pem, now);
    batch.add(cert_path(o.dir, "ca.key"), std::move(made->key_pem), kKeyMode);
    batch.add(cert_path(o.dir, "ca.crt"), std::move(made->cert_pem), kCertMode);
  } else {
    auto loaded = load_ca(o);
    if (!loaded.ok()) return loaded.error();
    ca = std::move(*loaded);
    if (Status s = make_cert_dir(o.dir); !s) return s.error();
  }
  if (Status s = stage_server(o, ca, now, &batch, &summary, &notes); !s) return s.error();
  for (const auto& n : clients) {
    if (Status s = stage_client(o, n, false, ca, now, &batch, &summary, &notes); !s) {
      return s.error();
    }
  }
  auto out = finish(&batch, o.force, summary, notes);
  if (!out.ok()) return out;

  std::string dir = cert_absolute_path(o.dir);
  std::string ca_file = cert_absolute_path(new_ca ? cert_path(o.dir, "ca.crt") : ca_cert_path(o));
  std::string cafile = shell_quote(ca_file);
  std::string srv = cert_path(dir, "server");
  std::string host = !o.dns.empty() ? o.dns.front() : !o.ip.empty() ? o.ip.front() : "localhost";
  std::string port = std::to_string(o.port);
  std::string& t = out->text;
  t += "\n# mosquitto.conf (for mq serve and Mosquitto alike):\n";
  t += "listener " + port + "\n";
  t += "cafile " + ca_file + "\n";
  t += "certfile " + srv + ".crt\n";
  t += "keyfile " + srv + ".key\n";
  t += "require_certificate true\n";
  t += "use_identity_as_username true\n";
  t += "# server.key is mode 0600: the broker's user must own it (or run the broker as this "
       "user).\n";
  if (geteuid() == 0) {
    t += "# As root, Mosquitto switches to user mosquitto, which cannot read it: add 'user root'"
         " or chown the key.\n";
  }
  t += "\n# clients (mq sub / mq pub take the same options):\n";
  std::string client = cert_path(dir, clients.front());
  std::string tls = " --cafile " + cafile + " --cert " + shell_quote(client + ".crt") +
                    " --key " + shell_quote(client + ".key");
  t += "mosquitto_sub -h " + shell_quote(host) + " -p " + port + tls + " -t 'test/#' -v\n";
  t += "mosquitto_pub -h " + shell_quote(host) + " -p " + port + tls + " -t test/hello -m hello\n";
  return out;
}

Result<CertgenOutput> certgen_sign(const CertgenOptions& o, const Clock& clock) {
  if (o.csr.empty()) return make_error(ErrorKind::kConfig, "give the request with --csr FILE");
  if (o.sign_as != "server" && o.sign_as != "client") {
    return make_error(ErrorKind::kConfig, "say what the certificate is for: --as server or --as client");
  }
  bool server = o.sign_as == "server";
  auto pem = read_cert_file(o.csr);
  if (!pem.ok()) return pem.error();
  auto csr = parse_csr(*pem);
  if (!csr.ok()) return with_context(o.csr + ": ", csr.error());
  std::string out_file = o.out;
  if (out_file.empty()) {  // dev.csr -> DIR/dev.crt
    std::string base = o.csr.substr(o.csr.rfind('/') + 1);
    for (const char* ext : {".csr", ".req", ".pem"}) {
      if (base.size() > 4 && base.ends_with(ext)) base.resize(base.size() - 4);
    }
    out_file = cert_path(o.dir, base + ".crt");
  }
  if (Status s = refuse_existing({out_file}, o.force); !s) return s.error();
  auto ca = load_ca(o);
  if (!ca.ok()) return ca.error();
  std::vector<std::string> dns = o.dns, ip = o.ip;
  dns.insert(dns.end(), csr->alt_names.dns.begin(), csr->alt_names.dns.end());
  for (const auto& raw : csr->alt_names.ip) ip.push_back(format_ip(raw));
  auto names = build_alt_names(dns, ip, server && !o.no_local);
  if (!names.ok()) return names.error();
  IssueRequest req{server ? CertKind::kServer : CertKind::kClient, o.cn, o.dns, o.ip,
                   !o.no_local, o.days};
  std::vector<std::string> notes;
  auto cert = issue_leaf(req, csr->key, *names, &csr->subject, *ca, clock.unix_time(), &notes);
  if (!cert.ok()) return cert.error();
  std::string summary = describe(o.sign_as, *cert, clock.unix_time());
  CertFileBatch batch;
  batch.add(out_file, std::move(*cert), kCertMode);
  return finish(&batch, o.force, summary, notes);
}

Result<CertgenOutput> certgen_renew(const CertgenOptions& o, const Clock& clock) {
  if (o.files.empty()) {
    return make_error(ErrorKind::kConfig, "name what to renew: server, a client NAME or a FILE.crt");
  }
  int64_t now = clock.unix_time();
  std::optional<CertAuthority> ca;
  CertFileBatch batch;
  std::string summary;
  std::vector<std::string> notes;
  for (const auto& target : o.files) {
    bool is_path = target.find('/') != std::string::npos || target.ends_with(".crt") ||
                   target.ends_with(".pem");
    std::string cert_file = is_path ? target : cert_path(o.dir, target + ".crt");
    std::string stem = cert_file;
    if (stem.ends_with(".crt") || stem.ends_with(".pem")) stem.resize(stem.size() - 4);
    std::string key_file = stem + ".key";
    auto pem = read_cert_file(cert_file);
    if (!pem.ok()) return pem.error();
    auto certs = parse_certificates(*pem);
    if (!certs.ok()) return with_context(cert_file + ": ", certs.error());
    const CertInfo& old = certs->front();
    bool self_signed_ca = old.is_ca && old.subject == old.issuer;
    if (old.is_ca && !self_signed_ca) {
      return make_error(ErrorKind::kUnsupported, cert_file + " is an intermediate CA: not renewed");
    }
    if (self_signed_ca && o.new_key) {
      return make_error(ErrorKind::kConfig, "a CA with a new key is a new CA: use 'mq certgen ca "
                                            "--force' and re-issue its certificates");
    }
    std::string key_pem;
    KeyInfo key;
    if (o.new_key) {
      KeyType type = KeyType::kEcP256;
      if (o.key_type) {
        type = *o.key_type;
      } else {
        auto same = key_type_of(old.key);
        if (!same.ok()) return same.error();
        type = *same;
      }
      auto made = generate_key_pem(type);
      if (!made.ok()) return made.error();
      key_pem = std::move(*made);
    } else {
      auto read = read_cert_file(key_file);
      if (!read.ok()) {
        return make_error(read.error().kind, read.error().context + " (or use --new-key)");
      }
      key_pem = std::move(*read);
    }
    auto info = inspect_private_key(key_pem);
    if (!info.ok()) return with_context(key_file + ": ", info.error());
    key = std::move(*info);
    if (!o.new_key && key.public_der != old.key.public_der) {
      return make_error(ErrorKind::kConfig, key_file + " does not match " + cert_file);
    }
    CertAuthority signer;
    if (self_signed_ca) {
      auto self = load_authority(*pem, key_pem);
      if (!self.ok()) return with_context(cert_file + ": ", self.error());
      signer = std::move(*self);
    } else {
      // A certificate named by path is signed by the CA beside it, unless told otherwise.
      CertgenOptions where = o;
      size_t slash = cert_file.rfind('/');
      if (is_path && o.ca_dir.empty() && o.ca_cert.empty() && slash != std::string::npos) {
        where.ca_dir = slash == 0 ? "/" : cert_file.substr(0, slash);
      }
      auto loaded = load_ca(where);
      if (!loaded.ok()) return loaded.error();
      ca = std::move(*loaded);
      if (old.issuer != ca->cert.subject && !o.force) {
        return make_error(ErrorKind::kConfig, cert_file + " was issued by '" +
                                                  format_dn(old.issuer) + "', not by '" +
                                                  format_dn(ca->cert.subject) +
                                                  "' (use --force to re-issue it anyway)");
      }
      signer = *ca;
    }
    auto cert = renew_certificate(old, key, signer, o.days, now, &notes);
    if (!cert.ok()) return cert.error();
    summary += describe(target, *cert, now);
    if (o.new_key) batch.add(key_file, std::move(key_pem), kKeyMode);
    batch.add(cert_file, std::move(*cert), kCertMode);
  }
  return finish(&batch, true, summary, notes);  // renewing replaces by definition
}

}  // namespace mq::crypto
