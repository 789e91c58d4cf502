// Loading each listener's password file, ACL and TLS context (listener_security.h).
#include "broker/auth/listener_security.h"

#include <initializer_list>
#include <string>

#include "base/file.h"
#include "broker/auth/acl.h"
#include "broker/auth/password_db.h"

namespace mq::broker {

namespace {

// After a user switch, "cannot load" is often "may not read": say which file and for whom.
std::string unreadable_files(std::initializer_list<std::string> paths) {
  std::string out;
  for (const std::string& p : paths) {
    std::string why = access_problem(p);
    if (!why.empty()) out += "\nError: " + why + ".";
  }
  return out;
}

// The TLS context of a listener from Mosquitto's options; errors name the listener's line.
Result<std::shared_ptr<const net::TlsContext>> make_tls(const ListenerConfig& lc,
                                                        const std::string& psk_file) {
  net::TlsServerOptions o;
  o.certfile = lc.certfile;
  o.keyfile = lc.keyfile;
  o.cafile = lc.cafile;
  o.capath = lc.capath;
  o.crlfile = lc.crlfile;
  o.require_certificate = lc.require_certificate;
  o.tls_version = lc.tls_version;
  o.ciphers = lc.ciphers;
  o.ciphers_tls13 = lc.ciphers_tls13;
  o.psk_hint = lc.psk_hint;
  o.alpn = {"mqtt"};
  if (!lc.psk_hint.empty()) {
    if (psk_file.empty()) {
      return make_error(ErrorKind::kConfig,
                        "Error: psk_hint is set on a listener but no psk_file is configured.");
    }
    auto psk = net::load_psk_file(psk_file);
    if (!psk.ok()) {
      return make_error(ErrorKind::kConfig,
                        "Error: " + psk.error().context + unreadable_files({psk_file}));
    }
    o.psk = std::move(*psk);
  }
  if (lc.psk_hint.empty() && (lc.certfile.empty() || lc.keyfile.empty())) {
    return make_error(ErrorKind::kConfig, "Error: listener " + std::to_string(lc.port) +
                                              ": both certfile and keyfile are needed for TLS.");
  }
  auto ctx = net::TlsContext::server(o);
  if (!ctx.ok()) {
    return make_error(
        ErrorKind::kConfig,
        "Error: listener " + std::to_string(lc.port) + ": " + ctx.error().context +
            unreadable_files({lc.certfile, lc.keyfile, lc.cafile, lc.crlfile, psk_file}));
  }
  return ctx;
}

// Mosquitto's second line, and its exit status at start-up: 3 for a file that does not parse,
// 13 for one that cannot be read.
Error opening_error(Error e, const char* what, const std::string& path, int* failure_status) {
  e.context += "\nError opening " + std::string(what) + " \"" + path + "\".";
  if (e.kind != ErrorKind::kConfig) {
    std::string why = access_problem(path);
    if (!why.empty()) e.context += "\nError: " + why + ".";
  }
  *failure_status = e.kind == ErrorKind::kConfig ? 3 : 13;
  return e;
}

Result<std::shared_ptr<const SecurityState>> load_security(const Config& config,
                                                           const SecurityOptions& o,
                                                           int* failure_status) {
  auto state = std::make_shared<SecurityState>();
  state->allow_anonymous = o.allow_anonymous == 1;
  if (!o.password_file.empty()) {
    auto db = PasswordDb::load(o.password_file);
    if (!db.ok())
      return opening_error(db.error(), "password file", o.password_file, failure_status);
    state->passwords = std::move(*db);
  }
  if (!o.acl_file.empty()) {
    AclOptions acl_options;
    acl_options.subscribe_check = config.acl_subscribe_check;
    auto acl = AclFile::load(o.acl_file, acl_options);
    if (!acl.ok()) return opening_error(acl.error(), "acl file", o.acl_file, failure_status);
    state->acl = std::move(*acl);
  }
  return std::shared_ptr<const SecurityState>(std::move(state));
}

}  // namespace

Result<LoadedSecurity> load_listener_security(const Config& config, int* failure_status) {
  // Every listener gets its own state under per_listener_settings, else all share one.
  LoadedSecurity out;
  std::shared_ptr<const SecurityState> global;
  for (const ListenerConfig& lc : config.listeners) {
    if (config.per_listener_settings) {
      auto st = load_security(config, lc.security, failure_status);
      if (!st.ok()) return st.error();
      out.security.push_back(std::move(*st));
    } else {
      if (!global) {
        auto st = load_security(config, config.security, failure_status);
        if (!st.ok()) return st.error();
        global = std::move(*st);
      }
      out.security.push_back(global);
    }
  }
  // Certificates, keys and CRLs are read again on every load (SIGHUP); connections keep the
  // context they started with.
  for (const ListenerConfig& lc : config.listeners) {
    std::shared_ptr<const net::TlsContext> ctx;
    if (lc.uses_tls()) {
      auto made = make_tls(lc, config.security_for(lc).psk_file);
      if (!made.ok()) return made.error();
      ctx = std::move(*made);
    }
    out.tls.push_back(std::move(ctx));
  }
  return out;
}

}  // namespace mq::broker
