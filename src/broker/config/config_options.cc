// Handlers for the general, security, logging and listener options of mosquitto.conf.
// Each returns nullopt when the key is not one of its options. Limits, defaults and message
// texts follow Mosquitto 2.0 (src/conf.c), checked against the Debian 2.0.11 binary.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <thread>

#include "broker/config/config_parser.h"

namespace mq::broker::detail {

namespace {

std::string num(long long v) {
  return std::to_string(v);
}

}  // namespace

std::optional<Status> ConfigParser::general_option(std::string_view key, LineTokens& t, int level) {
  Config& c = config_;
  long long v = 0;
  if (key == "include_dir") return include_dir(t, level);
  if (key == "listener") return listener_line(t);
  if (key == "port") {
    note(kLogNotice,
         "The 'port' option is now deprecated and will be removed in a future version. "
         "Please use 'listener' instead.");
    c.local_only = false;
    if (default_listener_.port != 0) {
      note(
          kLogWarning,
          "Warning: Default listener port specified multiple times. Only the latest will be used.");
    }
    if (Status st = parse_int(t, "port", &v); !st) return st;
    if (v < 1 || v > 65535) return config_error("Invalid port value (" + num(v) + ").");
    if (default_listener_.where.line == 0) default_listener_.where = where();
    default_listener_.port = uint16_t(v);
    return Status{};
  }
  if (key == "bind_address") {
    note(kLogNotice,
         "The 'bind_address' option is now deprecated and will be removed in a future "
         "version. The behaviour will default to true.");
    c.local_only = false;
    if (default_listener_.where.line == 0) default_listener_.where = where();
    return parse_string(t, "default listener bind_address", &default_listener_.host);
  }
  if (key == "per_listener_settings") {
    if (c.per_listener_settings) return Status{};  // once set it cannot be unset
    if (Status st = parse_bool(t, key, &c.per_listener_settings); !st) return st;
    if (security_touched_ && c.per_listener_settings) {
      return config_error("per_listener_settings must be set before any other security settings.");
    }
    return Status{};
  }
  if (key == "allow_duplicate_messages") return parse_bool(t, key, &c.allow_duplicate_messages);
  if (key == "autosave_interval") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    c.autosave_interval = int(std::max(0LL, v));
    return Status{};
  }
  if (key == "autosave_on_changes") return parse_bool(t, key, &c.autosave_on_changes);
  if (key == "thread_count") {  // mq extension
    auto tok = t.next();
    if (!tok) return config_error("Empty thread_count value in configuration.");
    if (*tok == "auto") {
      unsigned n = std::thread::hardware_concurrency();
      v = n ? n : 1;
    } else {
      v = parse_atoi(*tok);
      if (v < 1 || v > kMaxThreadCount)
        return config_error("Invalid thread_count value (" + std::string(*tok) +
                            "): a number from 1 to " + num(kMaxThreadCount) + ", or auto.");
    }
    c.thread_count = int(std::min<long long>(v, kMaxThreadCount));
    c.thread_count_where = where();
    return Status{};
  }
  if (key == "clientid_prefixes") {
    note(kLogNotice,
         "The 'clientid_prefixes' option is now deprecated and will be removed in a future "
         "version.");
    return parse_global_string(t, key, &c.clientid_prefixes);
  }
  if (key == "max_inflight_bytes") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    c.max_inflight_bytes = uint64_t(std::max(0LL, v));
    return Status{};
  }
  if (key == "max_inflight_messages") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 0 || v == 65535) {
      v = 0;
    } else if (v > 65535) {
      return config_error("max_inflight_messages must be <= 65535.");
    }
    c.max_inflight_messages = uint16_t(v);
    return Status{};
  }
  if (key == "max_keepalive") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    // Mosquitto 2.0.11 refuses values below 10, so also garbage (atoi gives 0): verified.
    if (v < 10 || v > 65535) return config_error("Invalid max_keepalive value (" + num(v) + ").");
    c.max_keepalive = uint16_t(v);
    return Status{};
  }
  if (key == "max_packet_size") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 20) return config_error("Invalid max_packet_size value (" + num(v) + ").");
    c.max_packet_size = uint32_t(v);
    return Status{};
  }
  if (key == "max_queued_bytes") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    c.max_queued_bytes = uint64_t(std::max(0LL, v));
    return Status{};
  }
  if (key == "max_queued_messages") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    c.max_queued_messages = int(std::max(0LL, v));
    return Status{};
  }
  if (key == "memory_limit") {
    auto tok = t.next();
    if (!tok) return config_error("Empty memory_limit value in configuration.");
    v = parse_atoi(*tok);
    if (v < 0) return config_error("Invalid memory_limit value (" + num(v) + ").");
    c.memory_limit = v;
    return Status{};
  }
  if (key == "message_size_limit") {
    note(kLogNotice,
         "Note: It is recommended to replace `message_size_limit` with `max_packet_size`.");
    if (Status st = parse_int(t, key, &v); !st) return st;
    // Mosquitto reads it into an unsigned int, so a negative value shows up as a huge one.
    auto u = static_cast<uint32_t>(static_cast<int>(v));
    if (u > 268435455u) return config_error("Invalid message_size_limit value (" + num(u) + ").");
    c.message_size_limit = u;
    return Status{};
  }
  if (key == "persistence" || key == "retained_persistence") {
    if (Status st = parse_bool(t, key, &c.persistence); !st) return st;
    if (c.persistence) use_feature(Feature::kPersistence, std::string(key));
    if (c.persistence) c.persistence_where = where();
    return Status{};
  }
  if (key == "persistence_fsync") return parse_bool(t, key, &c.persistence_fsync);
  if (key == "persistence_on_corrupt") {
    std::string mode;
    if (Status st = parse_global_string(t, key, &mode); !st) return st;
    if (mode != "refuse" && mode != "start_empty")
      return config_error("Invalid persistence_on_corrupt value (" + mode +
                          "): use refuse or start_empty.");
    c.persistence_corrupt_start_empty = mode == "start_empty";
    return Status{};
  }
  if (key == "persistence_file") return parse_global_string(t, key, &c.persistence_file);
  if (key == "persistence_location") return parse_global_string(t, key, &c.persistence_location);
  if (key == "persistent_client_expiration") {
    auto tok = t.next();
    if (!tok) {
      // Mosquitto logs this but carries on.
      note(kLogError, "Error: Empty persistent_client_expiration value in configuration.");
      return Status{};
    }
    Result<int64_t> secs = parse_expiration_value(*tok);
    if (!secs) return secs.error();
    c.persistent_client_expiration = *secs;
    return Status{};
  }
  if (key == "pid_file") return parse_global_string(t, key, &c.pid_file);
  if (key == "queue_qos0_messages") return parse_bool(t, key, &c.queue_qos0_messages);
  if (key == "acl_subscribe_check") return parse_bool(t, key, &c.acl_subscribe_check);
  if (key == "retain_available") return parse_bool(t, key, &c.retain_available);
  if (key == "retry_interval") {
    note(kLogWarning, "Warning: The retry_interval option is no longer available.");
    return Status{};
  }
  if (key == "set_tcp_nodelay") return parse_bool(t, key, &c.set_tcp_nodelay);
  if (key == "sys_interval") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 0 || v > 65535) return config_error("Invalid sys_interval value (" + num(v) + ").");
    c.sys_interval = int(v);
    return Status{};
  }
  if (key == "upgrade_outgoing_qos") return parse_bool(t, key, &c.upgrade_outgoing_qos);
  if (key == "user") return parse_global_string(t, key, &c.user);
  if (key == "websockets_log_level") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    c.websockets_log_level = int(v);
    return Status{};
  }
  if (key == "websockets_headers_size") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 0 || v > 65535) {
      return config_error("Websockets headers size must be between 0 and 65535 inclusive.");
    }
    c.websockets_headers_size = int(v);
    return Status{};
  }
  return std::nullopt;
}

std::optional<Status> ConfigParser::security_option(std::string_view key, LineTokens& t) {
  if (key == "acl_file") {
    SecurityOptions& s = cur_security();
    if (Status st = parse_string(t, key, &s.acl_file); !st) return st;
    use_feature(Feature::kAclFile, "acl_file");
    return Status{};
  }
  if (key == "password_file") {
    SecurityOptions& s = cur_security();
    if (Status st = parse_string(t, key, &s.password_file); !st) return st;
    use_feature(Feature::kPasswordFile, "password_file");
    return Status{};
  }
  if (key == "psk_file") {
    SecurityOptions& s = cur_security();
    if (Status st = parse_string(t, key, &s.psk_file); !st) return st;
    use_feature(Feature::kPsk, "psk_file");
    return Status{};
  }
  if (key == "allow_anonymous") {
    SecurityOptions& s = cur_security();
    bool b = false;
    if (Status st = parse_bool(t, key, &b); !st) return st;
    s.allow_anonymous = b ? 1 : 0;
    return Status{};
  }
  if (key == "allow_zero_length_clientid") {
    return parse_bool(t, key, &cur_security().allow_zero_length_clientid);
  }
  if (key == "auto_id_prefix") return parse_string(t, key, &cur_security().auto_id_prefix);
  if (key == "check_retain_source") {
    cur_security();
    return parse_bool(t, key, &config_.check_retain_source);
  }
  if (key == "auth_plugin" || key == "plugin") {
    SecurityOptions& s = cur_security();
    s.plugins.emplace_back();
    plugin_owner_ = config_.per_listener_settings ? cur_listener_ : kGlobalPlugin;
    plugin_index_ = s.plugins.size() - 1;
    if (Status st = parse_string(t, "plugin", &s.plugins.back().path); !st) return st;
    use_feature(Feature::kPlugin, std::string(key));
    return Status{};
  }
  if (key.starts_with("auth_opt_") || key.starts_with("plugin_opt_")) {
    PluginConfig* p = cur_plugin();
    if (p == nullptr) {
      return config_error("An auth_opt_ option exists in the config file without an auth_plugin.");
    }
    size_t prefix = key.starts_with("auth_opt_") ? 9 : 11;
    // Mosquitto 2.0.11 rejects keys shorter than three characters (plugin_opt_db, verified).
    if (key.size() < prefix + 3) return config_error("Invalid auth_opt_ config option.");
    std::string opt(key.substr(prefix));
    auto rest = t.rest();
    std::string_view value = rest ? trim_blanks(*rest) : std::string_view();
    if (value.empty()) return config_error("Empty " + opt + " value in configuration.");
    p->options.emplace_back(std::move(opt), std::string(value));
    return Status{};
  }
  if (key == "auth_plugin_deny_special_chars") {
    PluginConfig* p = cur_plugin();
    if (p == nullptr) {
      return config_error(
          "An auth_plugin_deny_special_chars option exists in the config file "
          "without an auth_plugin.");
    }
    return parse_bool(t, key, &p->deny_special_chars);
  }
  return std::nullopt;
}

std::optional<Status> ConfigParser::logging_option(std::string_view key, LineTokens& t) {
  Config& c = config_;
  if (key == "log_dest") {
    auto tok = t.next();
    if (!tok) return config_error("Empty log_dest value in configuration.");
    log_dest_set_ = true;
    auto add = [this](LogDest d) {
      if (std::find(log_dest_.begin(), log_dest_.end(), d) == log_dest_.end())
        log_dest_.push_back(d);
    };
    if (*tok == "none") {
      log_dest_.clear();
    } else if (*tok == "syslog") {
      add(LogDest::kSyslog);
    } else if (*tok == "stdout") {
      add(LogDest::kStdout);
    } else if (*tok == "stderr") {
      add(LogDest::kStderr);
    } else if (*tok == "topic") {
      add(LogDest::kTopic);
      c.log_dest_topic_where = where();
    } else if (*tok == "file") {
      if (!c.log_file.empty()) return config_error("Duplicate \"log_dest file\" value.");
      auto rest = t.rest();
      std::string_view path = rest ? trim_blanks(*rest) : std::string_view();
      if (path.empty()) return config_error("Empty \"log_dest file\" value in configuration.");
      c.log_file = std::string(path);
      add(LogDest::kFile);
    } else {
      return config_error("Invalid log_dest value (" + std::string(*tok) + ").");
    }
    return Status{};
  }
  if (key == "log_type") {
    auto tok = t.next();
    if (!tok) {
      note(kLogError, "Error: Empty log_type value in configuration.");  // not fatal in Mosquitto
      return Status{};
    }
    log_type_set_ = true;
    uint32_t bits = 0;
    if (*tok == "none") {
      log_type_ = kLogNone;
    } else if (*tok == "all") {
      log_type_ = kLogAll;
    } else if (parse_log_type(*tok, &bits)) {
      log_type_ |= bits;
    } else {
      return config_error("Invalid log_type value (" + std::string(*tok) + ").");
    }
    return Status{};
  }
  if (key == "log_timestamp") return parse_bool(t, key, &c.log_timestamp);
  if (key == "log_timestamp_format") return parse_global_string(t, key, &c.log_timestamp_format);
  if (key == "log_facility") {
    long long v = 0;
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 0 || v > 7) return config_error("Invalid log_facility value (" + num(v) + ").");
    c.log_facility = int(v);
    return Status{};
  }
  if (key == "connection_messages") return parse_bool(t, key, &c.connection_messages);
  return std::nullopt;
}

std::optional<Status> ConfigParser::listener_option(std::string_view key, LineTokens& t) {
  long long v = 0;
  auto tls_string = [&](std::string* field) -> Status {
    if (Status st = parse_string(t, key, field); !st) return st;
    use_feature(Feature::kTls, std::string(key));
    return {};
  };
  auto tls_bool = [&](bool* field) -> Status {
    if (Status st = parse_bool(t, key, field); !st) return st;
    if (*field) use_feature(Feature::kTls, std::string(key));
    return {};
  };
  if (key == "bind_interface") {
    ListenerConfig& l = cur_listener();
    if (Status st = parse_string(t, key, &l.bind_interface); !st) return st;
    use_feature(Feature::kBindInterface, "bind_interface");
    return Status{};
  }
  if (key == "socket_domain") {
    auto tok = t.next();
    if (!tok) return config_error("Empty socket_domain value in configuration.");
    if (*tok == "ipv4") {
      cur_listener().socket_domain = SocketDomain::kIpv4;
    } else if (*tok == "ipv6") {
      cur_listener().socket_domain = SocketDomain::kIpv6;
    } else {
      return config_error("Invalid socket_domain value \"" + std::string(*tok) +
                          "\" in configuration.");
    }
    return Status{};
  }
  if (key == "protocol") {
    auto tok = t.next();
    if (!tok) return config_error("Empty protocol value in configuration.");
    if (*tok == "mqtt") {
      cur_listener().protocol = ListenerProtocol::kMqtt;
    } else if (*tok == "websockets") {
      cur_listener().protocol = ListenerProtocol::kWebsockets;
      use_feature(Feature::kWebsockets, "protocol websockets");
    } else {
      return config_error("Invalid protocol value (" + std::string(*tok) + ").");
    }
    return Status{};
  }
  if (key == "http_dir") {
    if (Status st = parse_string(t, key, &cur_listener().http_dir); !st) return st;
    use_feature(Feature::kWebsockets, "http_dir");
    return Status{};
  }
  if (key == "websockets_origin") {
    std::string origin;
    if (Status st = parse_string(t, key, &origin); !st) return st;
    cur_listener().websockets_origins.push_back(std::move(origin));
    use_feature(Feature::kWebsockets, "websockets_origin");
    return Status{};
  }
  if (key == "max_connections") {
    auto tok = t.next();
    if (!tok) {
      note(kLogError, "Error: Empty max_connections value in configuration.");  // not fatal
      return Status{};
    }
    v = parse_atoi(*tok);
    cur_listener().max_connections = v < 0 ? -1 : int(std::min<long long>(v, INT32_MAX));
    return Status{};
  }
  if (key == "max_qos" || key == "maximum_qos") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 0 || v > 2) return config_error("max_qos must be between 0 and 2 inclusive.");
    cur_listener().max_qos = uint8_t(v);
    return Status{};
  }
  if (key == "max_topic_alias") {
    auto tok = t.next();
    if (!tok) return config_error("Empty max_topic_alias value in configuration.");
    v = parse_atoi(*tok);
    if (v < 0 || v > 65535) return config_error("Invalid max_topic_alias value in configuration.");
    cur_listener().max_topic_alias = uint16_t(v);
    return Status{};
  }
  if (key == "max_topic_alias_broker") {  // Mosquitto 2.1
    auto tok = t.next();
    if (!tok) return config_error("Empty max_topic_alias_broker value in configuration.");
    v = parse_atoi(*tok);
    if (v < 0 || v > 65535)
      return config_error("Invalid max_topic_alias_broker value in configuration.");
    cur_listener().max_topic_alias_broker = uint16_t(v);
    return Status{};
  }
  if (key == "mount_point") {
    if (config_.listeners.empty()) {
      return config_error(
          "You must use create a listener before using the mount_point option in "
          "the configuration file.");
    }
    ListenerConfig& l = cur_listener();
    if (Status st = parse_string(t, key, &l.mount_point); !st) return st;
    if (!valid_publish_topic(l.mount_point)) {
      return config_error("Invalid mount_point '" + l.mount_point +
                          "'. Does it contain a wildcard character?");
    }
    return Status{};
  }
  if (key == "use_username_as_clientid")
    return parse_bool(t, key, &cur_listener().use_username_as_clientid);
  // TLS
  if (key == "cafile" || key == "certfile") {
    ListenerConfig& l = cur_listener();
    if (!l.psk_hint.empty()) {
      return config_error("Cannot use both certificate and psk encryption in a single listener.");
    }
    return tls_string(key == "cafile" ? &l.cafile : &l.certfile);
  }
  if (key == "capath") return tls_string(&cur_listener().capath);
  if (key == "keyfile") return tls_string(&cur_listener().keyfile);
  if (key == "ciphers") return tls_string(&cur_listener().ciphers);
  if (key == "ciphers_tls1.3") return tls_string(&cur_listener().ciphers_tls13);
  if (key == "crlfile") return tls_string(&cur_listener().crlfile);
  if (key == "dhparamfile") return tls_string(&cur_listener().dhparamfile);
  if (key == "tls_version") return tls_string(&cur_listener().tls_version);
  if (key == "tls_engine") return tls_string(&cur_listener().tls_engine);
  if (key == "tls_engine_kpass_sha1") {
    ListenerConfig& l = cur_listener();
    if (Status st = tls_string(&l.tls_engine_kpass_sha1); !st) return st;
    bool hex =
        l.tls_engine_kpass_sha1.size() == 40 &&
        std::all_of(l.tls_engine_kpass_sha1.begin(), l.tls_engine_kpass_sha1.end(),
                    [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; });
    if (!hex) return config_error("Invalid tls_engine_kpass_sha1 value (need 40 hex digits).");
    return Status{};
  }
  if (key == "tls_keyform") {
    std::string form;
    if (Status st = tls_string(&form); !st) return st;
    cur_listener().tls_keyform = form == "engine" ? TlsKeyform::kEngine : TlsKeyform::kPem;
    return Status{};
  }
  if (key == "psk_hint") {
    if (Status st = parse_string(t, key, &cur_listener().psk_hint); !st) return st;
    use_feature(Feature::kPsk, "psk_hint");
    return Status{};
  }
  if (key == "require_certificate") return tls_bool(&cur_listener().require_certificate);
  if (key == "use_identity_as_username") return tls_bool(&cur_listener().use_identity_as_username);
  if (key == "use_subject_as_username") return tls_bool(&cur_listener().use_subject_as_username);
  return std::nullopt;
}

}  // namespace mq::broker::detail
