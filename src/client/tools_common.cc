// Shared set-up for pub, sub and rr: session settings from the config, refusals for what is not
// implemented yet (TLS, SOCKS), client id rules, the password prompt.
#include <termios.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <random>

#include "client/tools.h"
#include "net/tls_context.h"

namespace mq::client {

void err_printf(const ClientConfig& cfg, const char* fmt, ...) {
  if (cfg.quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}

namespace {

bool uses_tls(const ClientConfig& cfg) {
  if (cfg.no_tls) return false;
  return !cfg.cafile.empty() || !cfg.capath.empty() || !cfg.psk.empty() || !cfg.certfile.empty() ||
         cfg.tls_use_os_certs || !cfg.tls_alpn.empty() || !cfg.tls_engine.empty() ||
         cfg.port == 8883;
}

std::string random_v31_id() {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string id = "mosq-";
  for (int i = 0; i < 18; i++) id += kChars[rd() % 62];
  return id;
}

}  // namespace

int prepare_session(const ClientConfig& cfg, SessionConfig* out) {
  // Mosquitto names: libmosquitto 2.0's mosquitto_username_pw_set() refuses a password without
  // a username for MQTT 3.x, and client_opts_set() reports it (verified with Debian's 2.0.11).
  if (!cfg.mq_names && cfg.password && !cfg.username &&
      cfg.version != codec::ProtocolVersion::kV5) {
    err_printf(cfg, "Error: Problem setting username and/or password.\n");
    return 1;
  }
  // Mosquitto names: client_opts_set() hands --tls-version to mosquitto_tls_opts_set() even when
  // no other TLS option is given, which accepts only these three.
  if (!cfg.mq_names && !cfg.tls_version.empty() && cfg.tls_version != "tlsv1.3" &&
      cfg.tls_version != "tlsv1.2" && cfg.tls_version != "tlsv1.1") {
    err_printf(cfg, "Error: Problem setting TLS options, check the options are valid.\n");
    return 1;
  }
  const bool tls = uses_tls(cfg);
  SessionConfig s;
  s.connect.host = cfg.host.empty() ? "localhost" : cfg.host;
  s.connect.port = uint16_t(cfg.port < 0 ? (tls ? 8883 : 1883) : cfg.port);
  if (tls) {
    if (!cfg.tls_engine.empty() || cfg.keyform == "engine") {
      err_printf(cfg, "Error: TLS engines are not supported by this build.\n");
      return 1;
    }
    if (!cfg.tls_keylog.empty()) {
      err_printf(cfg, "Error: --tls-keylog is not supported by this build.\n");
      return 1;
    }
    net::TlsClientOptions o;
    o.cafile = cfg.cafile;
    o.capath = cfg.capath;
    // Port 8883 (or an mqtts:// URL) with nothing to trust given: the OS CA store.
    o.use_os_certs = cfg.tls_use_os_certs ||
                     (cfg.cafile.empty() && cfg.capath.empty() && cfg.psk.empty());
    o.certfile = cfg.certfile;
    o.keyfile = cfg.keyfile;
    o.insecure = cfg.insecure;
    o.tls_version = cfg.tls_version;
    o.ciphers = cfg.ciphers;
    if (!cfg.tls_alpn.empty()) o.alpn = {cfg.tls_alpn};
    o.psk = cfg.psk;
    o.psk_identity = cfg.psk_identity;
    auto ctx = net::TlsContext::client(o);
    if (!ctx) {
      err_printf(cfg, "Error: %s\n", ctx.error().context.c_str());
      return 1;
    }
    s.tls = std::move(*ctx);
    s.tls_server_name = s.connect.host;
  }
  if (cfg.websockets) {
    net::WebSocketClientOptions w;
    w.host = s.connect.host;
    w.port = s.connect.port;
    w.path = cfg.ws_path;
    s.ws = std::move(w);
  }
  if (!cfg.proxy_host.empty()) {
    net::Socks5Request p;
    p.host = s.connect.host;
    p.port = s.connect.port;
    p.username = cfg.proxy_username;
    p.password = cfg.proxy_password;
    s.proxy = std::move(p);
    s.connect.host = cfg.proxy_host;
    s.connect.port = uint16_t(cfg.proxy_port);
  }
  s.connect.unix_path = cfg.unix_path;
  // libmosquitto 2.0 takes port 0 to mean "the host is a Unix socket path" (--unix sets it).
  if (!cfg.mq_names && cfg.port == 0 && s.connect.unix_path.empty() && !s.proxy)
    s.connect.unix_path = s.connect.host;
  s.connect.bind_address = cfg.bind_address;
  s.connect.nodelay = cfg.nodelay;
  proto::ConnectRequest& r = s.request;
  r.version = cfg.version;
  if (cfg.id_prefix) r.client_id = *cfg.id_prefix + std::to_string(getpid());
  else if (cfg.id) r.client_id = *cfg.id;
  if (r.client_id.empty() && !cfg.clean_session) {
    err_printf(cfg, "Error: Invalid id and/or clean_session.\n");
    return 1;
  }
  if (r.client_id.empty() && cfg.version == codec::ProtocolVersion::kV31) r.client_id = random_v31_id();
  r.clean_start = cfg.clean_session;
  r.keep_alive = uint16_t(cfg.keepalive);
  r.username = cfg.username;
  r.password = cfg.password;
  if (cfg.will_topic) {
    r.will = proto::WillRequest{*cfg.will_topic, cfg.will_payload.value_or(""),
                                uint8_t(cfg.will_qos), cfg.will_retain, cfg.will_props.view()};
  }
  if (cfg.version == codec::ProtocolVersion::kV5) {
    r.properties = cfg.connect_props.view();
    // Without this the broker may send more than -C messages before we stop (libmosquitto).
    if (cfg.msg_count > 0 && cfg.msg_count < 20 && !r.properties.receive_maximum)
      r.properties.receive_maximum = uint16_t(cfg.msg_count);
  }
  s.max_inflight = cfg.max_inflight;
  s.debug = cfg.debug;
  *out = std::move(s);
  return -1;
}

bool prompt_password(ClientConfig& cfg) {
  if (!isatty(STDIN_FILENO)) return false;
  fprintf(stderr, "Password: ");
  fflush(stderr);
  termios old{};
  bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string pw;
  int c;
  while ((c = fgetc(stdin)) != EOF && c != '\n') pw += char(c);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  fprintf(stderr, "\n");
  cfg.password = pw;
  return true;
}

}  // namespace mq::client
