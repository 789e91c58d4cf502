// Configuration entry points: parsing a whole configuration (then the defaults Mosquitto
// applies once a file is read), local-only mode, the not-yet-supported check and reload.
#include "broker/config/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "broker/config/config_parser.h"

namespace mq::broker {

namespace detail {

Result<int64_t> parse_expiration_value(std::string_view value) {
  const Error bad = config_error("Invalid persistent_client_expiration duration in configuration.");
  if (value.empty()) return bad;
  int64_t mult = 0;
  switch (value.back()) {
    case 's':
      mult = 1;
      break;  // Mosquitto 2.1
    case 'h':
      mult = 3600;
      break;
    case 'd':
      mult = 86400;
      break;
    case 'w':
      mult = 86400 * 7;
      break;
    case 'm':
      mult = 86400 * 30;
      break;
    case 'y':
      mult = 86400 * 365;
      break;
    default:
      return bad;
  }
  long long n = parse_atoi(value.substr(0, value.size() - 1));
  if (n <= 0 || n > INT32_MAX) return bad;
  return int64_t(n) * mult;
}

// What is not yet correct with more than one event loop is refused at load, naming both lines.
Status ConfigParser::check_thread_count() const {
  const Config& c = config_;
  if (c.thread_count <= 1) return {};
  auto refuse = [&](const std::string& what, const SourceLocation& at) {
    return config_error(what + " (" + at.to_string() +
                        ") is not supported with thread_count " +
                        std::to_string(c.thread_count) + " (" + c.thread_count_where.to_string() +
                        ") yet; use thread_count 1.");
  };
  if (c.persistence) return refuse("persistence", c.persistence_where);
  if (!c.bridges.empty()) return refuse("bridge \"" + c.bridges[0].name + "\"", c.bridges[0].where);
  if (std::find(c.log_dest.begin(), c.log_dest.end(), LogDest::kTopic) != c.log_dest.end())
    return refuse("log_dest topic", c.log_dest_topic_where);
  return {};
}

Status ConfigParser::finish() {
  Config& c = config_;
  if (log_dest_set_) c.log_dest = log_dest_;
  if (log_type_set_) c.log_type = log_type_;

  if (Status st = finish_bridges(); !st) return st;

  // The default listener (port, bind_address, and listener options written before the first
  // `listener`) is created whenever one of its options was set (config__parse_args).
  if (default_listener_used()) {
    ListenerConfig d = std::move(default_listener_);
    if (d.port == 0) d.port = 1883;
    d.is_default = true;
    d.security.auto_id_prefix.clear();  // Mosquitto does not copy it to the default listener
    c.listeners.push_back(std::move(d));
    // Mosquitto 2.0.11 then opens it on all addresses rather than local-only listeners.
    c.local_only = false;
  }

  // allow_anonymous: true in local-only mode, otherwise false unless set. Mosquitto leaves the
  // default listener's value unresolved under per_listener_settings; we resolve it to false.
  if (c.local_only) {
    c.security.allow_anonymous = 1;
  } else if (c.security.allow_anonymous < 0) {
    c.security.allow_anonymous = 0;
  }
  for (ListenerConfig& l : c.listeners) {
    if (l.security.allow_anonymous < 0) l.security.allow_anonymous = c.local_only ? 1 : 0;
    if (l.security.auto_id_prefix.empty()) l.security.auto_id_prefix = "auto-";
  }
  if (c.security.auto_id_prefix.empty()) c.security.auto_id_prefix = "auto-";

  if (Status st = check_thread_count(); !st) return st;

  c.persistence_filepath = c.persistence_location.empty()
                               ? c.persistence_file
                               : c.persistence_location + "/" + c.persistence_file;
  return {};
}

}  // namespace detail

bool SupportedFeatures::supports(Feature f) const {
  switch (f) {
    case Feature::kTls:
      return tls;
    case Feature::kWebsockets:
      return websockets;
    case Feature::kPasswordFile:
      return password_file;
    case Feature::kAclFile:
      return acl_file;
    case Feature::kPsk:
      return psk;
    case Feature::kPersistence:
      return persistence;
    case Feature::kBridge:
      return bridge;
    case Feature::kBridgeOption:
      return false;
    case Feature::kPlugin:
      return plugin;
    case Feature::kUnixSocket:
      return unix_socket;
    case Feature::kBindInterface:
      return bind_interface;
  }
  return false;
}

Result<int64_t> parse_expiration(std::string_view value) {
  return detail::parse_expiration_value(value);
}

namespace {

Result<Config> parse_main(std::string_view text, std::string_view name) {
  Config config;
  config.config_file = std::string(name);
  detail::ConfigParser parser(config);
  int err_line = 0;
  Status st = parser.parse_text(text, name, 0, &err_line);
  if (!st) {
    Error e = st.error();
    if (err_line > 0)
      e.context += "\nError found at " + std::string(name) + ":" + std::to_string(err_line) + ".";
    return e;
  }
  if (Status fin = parser.finish(); !fin) return fin.error();
  return config;
}

}  // namespace

Result<Config> parse_config_text(std::string_view text, std::string_view name) {
  return parse_main(text, name);
}

Result<Config> load_config(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return detail::config_error("Config file " + path + " is a directory.");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return detail::config_error("Unable to open config file " + path + ".");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_main(ss.str(), path);
}

void apply_local_only_defaults(Config& config, const std::vector<uint16_t>& cmdline_ports) {
  if (!config.local_only) return;
  std::vector<uint16_t> ports = cmdline_ports;
  if (ports.empty()) ports.push_back(1883);
  config.listeners.clear();
  for (uint16_t port : ports) {
    for (const char* host : {"127.0.0.1", "::1"}) {
      ListenerConfig l;
      l.port = port;
      l.host = host;
      l.local_only = true;
      l.security.allow_anonymous = 1;
      l.security.auto_id_prefix = "auto-";
      config.listeners.push_back(std::move(l));
    }
  }
  config.security.allow_anonymous = 1;
}

Status check_supported(const Config& config, const SupportedFeatures& supported) {
  for (const FeatureUse& use : config.feature_uses) {
    if (supported.supports(use.feature)) continue;
    return make_error(ErrorKind::kUnsupported, "Error: The \"" + use.option +
                                                   "\" option is not supported yet (" +
                                                   use.where.to_string() + ").");
  }
  return {};
}

namespace {

bool same_listener(const ListenerConfig& a, const ListenerConfig& b) {
  if (a.port == 0 || b.port == 0)
    return a.port == b.port && a.unix_socket_path == b.unix_socket_path;
  return a.port == b.port && a.host == b.host;
}

void copy_security(SecurityOptions& to, const SecurityOptions& from) {
  // Plugins are not reloaded (Mosquitto 2.0).
  std::vector<PluginConfig> plugins = std::move(to.plugins);
  to = from;
  to.plugins = std::move(plugins);
}

}  // namespace

Status apply_reload(Config& running, const Config& fresh) {
  // Listeners cannot be added or removed; match them first so a failure changes nothing.
  std::vector<std::pair<ListenerConfig*, const ListenerConfig*>> matched;
  for (const ListenerConfig& nl : fresh.listeners) {
    ListenerConfig* found = nullptr;
    for (ListenerConfig& ol : running.listeners) {
      if (same_listener(ol, nl)) {
        found = &ol;
        break;
      }
    }
    if (found == nullptr) {
      return make_error(ErrorKind::kConfig,
                        "Error: It is not currently possible to add/remove listeners when "
                        "reloading the config file.");
    }
    matched.emplace_back(found, &nl);
  }
  if (running.per_listener_settings) {
    for (auto& [to, from] : matched) copy_security(to->security, from->security);
  }
  copy_security(running.security, fresh.security);
  if (running.local_only) running.security.allow_anonymous = 1;

  running.allow_duplicate_messages = fresh.allow_duplicate_messages;
  running.autosave_interval = fresh.autosave_interval;
  running.autosave_on_changes = fresh.autosave_on_changes;
  running.check_retain_source = fresh.check_retain_source;
  running.clientid_prefixes = fresh.clientid_prefixes;
  running.connection_messages = fresh.connection_messages;
  running.log_dest = fresh.log_dest;
  running.log_file = fresh.log_file;
  running.log_facility = fresh.log_facility;
  running.log_type = fresh.log_type;
  running.log_timestamp = fresh.log_timestamp;
  running.log_timestamp_format = fresh.log_timestamp_format;
  running.max_keepalive = fresh.max_keepalive;
  running.max_packet_size = fresh.max_packet_size;
  running.message_size_limit = fresh.message_size_limit;
  running.max_inflight_messages = fresh.max_inflight_messages;
  running.max_inflight_bytes = fresh.max_inflight_bytes;
  running.max_queued_messages = fresh.max_queued_messages;
  running.max_queued_bytes = fresh.max_queued_bytes;
  running.memory_limit = fresh.memory_limit;
  running.persistence = fresh.persistence;
  running.persistence_file = fresh.persistence_file;
  running.persistence_location = fresh.persistence_location;
  running.persistence_filepath = fresh.persistence_filepath;
  running.persistent_client_expiration = fresh.persistent_client_expiration;
  running.queue_qos0_messages = fresh.queue_qos0_messages;
  running.acl_subscribe_check = fresh.acl_subscribe_check;
  running.retain_available = fresh.retain_available;
  running.set_tcp_nodelay = fresh.set_tcp_nodelay;
  running.sys_interval = fresh.sys_interval;
  running.upgrade_outgoing_qos = fresh.upgrade_outgoing_qos;
  running.websockets_log_level = fresh.websockets_log_level;
  return {};
}

}  // namespace mq::broker
