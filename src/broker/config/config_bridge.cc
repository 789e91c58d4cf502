// Bridge options of mosquitto.conf (`connection <name>` and the options that follow it), and
// the checks Mosquitto makes on bridges once the whole file is read. The bridges themselves are
// in bridge.cc; the few sub-options they do not implement are recorded as Feature::kBridgeOption
// so that check_supported() refuses them with their file:line.
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "broker/config/config_parser.h"

namespace mq::broker::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Error invalid_bridge() {
  return config_error("Invalid bridge configuration.");
}

// bridge__add_topic: validates prefixes and builds the local and remote topics.
Status add_topic(BridgeConfig& b, std::string_view topic, BridgeDirection dir, uint8_t qos,
                 std::optional<std::string_view> local, std::optional<std::string_view> remote) {
  if (local && !valid_publish_topic(*local)) {
    return config_error("Invalid bridge topic local prefix '" + std::string(*local) + "'.");
  }
  if (remote && !valid_publish_topic(*remote)) {
    return config_error("Invalid bridge topic remote prefix '" + std::string(*remote) + "'.");
  }
  bool no_pattern = topic == "\"\"";
  if (no_pattern && (!local || !remote)) return config_error("Invalid bridge remapping.");
  BridgeTopic bt;
  bt.topic = no_pattern ? std::string() : std::string(topic);
  bt.direction = dir;
  bt.qos = qos;
  bt.local_prefix = local ? std::string(*local) : std::string();
  bt.remote_prefix = remote ? std::string(*remote) : std::string();
  bt.local_topic = bt.local_prefix + bt.topic;
  bt.remote_topic = bt.remote_prefix + bt.topic;
  b.topics.push_back(std::move(bt));
  return {};
}

}  // namespace

std::optional<Status> ConfigParser::bridge_option(std::string_view key, LineTokens& t) {
  if (key == "connection") {
    auto tok = t.next();
    if (!tok) return config_error("Empty connection value in configuration.");
    for (const BridgeConfig& b : config_.bridges) {
      if (b.name == *tok)
        return config_error("Duplicate bridge name \"" + std::string(*tok) + "\".");
    }
    BridgeConfig b;
    b.name = std::string(*tok);
    b.where = where();
    config_.bridges.push_back(std::move(b));
    cur_bridge_ = int(config_.bridges.size()) - 1;
    use_feature(Feature::kBridge, "connection");
    return Status{};
  }

  // Everything below needs a `connection` first.
  static constexpr std::string_view kBridgeKeys[] = {"address",
                                                     "addresses",
                                                     "topic",
                                                     "bridge_protocol_version",
                                                     "cleansession",
                                                     "local_cleansession",
                                                     "notifications",
                                                     "notifications_local_only",
                                                     "round_robin",
                                                     "try_private",
                                                     "bridge_attempt_unsubscribe",
                                                     "bridge_outgoing_retain",
                                                     "bridge_insecure",
                                                     "bridge_require_ocsp",
                                                     "keepalive_interval",
                                                     "idle_timeout",
                                                     "threshold",
                                                     "restart_timeout",
                                                     "start_type",
                                                     "bridge_max_packet_size",
                                                     "clientid",
                                                     "remote_clientid",
                                                     "local_clientid",
                                                     "username",
                                                     "remote_username",
                                                     "password",
                                                     "remote_password",
                                                     "local_username",
                                                     "local_password",
                                                     "notification_topic",
                                                     "bridge_bind_address",
                                                     "bridge_cafile",
                                                     "bridge_capath",
                                                     "bridge_certfile",
                                                     "bridge_keyfile",
                                                     "bridge_identity",
                                                     "bridge_psk",
                                                     "bridge_tls_version",
                                                     "bridge_alpn",
                                                     "bridge_max_queued_messages",
                                                     "bridge_max_queued_bytes",
                                                     "bridge_queue_policy"};
  if (std::find(std::begin(kBridgeKeys), std::end(kBridgeKeys), key) == std::end(kBridgeKeys)) {
    return std::nullopt;
  }
  if (cur_bridge_ < 0) return Status(invalid_bridge());
  BridgeConfig& b = config_.bridges[size_t(cur_bridge_)];
  long long v = 0;

  if (key == "address" || key == "addresses") {
    if (!b.addresses.empty()) return Status(invalid_bridge());
    while (auto tok = t.next()) {
      if ((*tok)[0] == '#') break;
      BridgeAddress a;
      std::string_view host = *tok;
      size_t colon = host.rfind(':');
      if (colon != std::string_view::npos) {
        v = parse_atoi(host.substr(colon + 1));
        if (v < 1 || v > 65535)
          return config_error("Invalid port value (" + std::to_string(v) + ").");
        a.port = uint16_t(v);
        host = host.substr(0, colon);
      }
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      a.host = std::string(host);
      b.addresses.push_back(std::move(a));
    }
    if (b.addresses.empty()) return config_error("Empty address value in configuration.");
    return Status{};
  }
  if (key == "topic") {
    auto topic = t.next();
    if (!topic) return config_error("Empty topic value in configuration.");
    BridgeDirection dir = BridgeDirection::kOut;
    uint8_t qos = 0;
    std::optional<std::string_view> local, remote;
    if (auto tok = t.next()) {
      if (iequals(*tok, "out")) {
        dir = BridgeDirection::kOut;
      } else if (iequals(*tok, "in")) {
        dir = BridgeDirection::kIn;
      } else if (iequals(*tok, "both")) {
        dir = BridgeDirection::kBoth;
      } else {
        return config_error("Invalid bridge topic direction '" + std::string(*tok) + "'.");
      }
      // A token starting with '#' ends the line (a trailing comment).
      if (auto q = t.next(); q && (*q)[0] != '#') {
        v = parse_atoi(*q);
        if (v < 0 || v > 2)
          return config_error("Invalid bridge QoS level '" + std::string(*q) + "'.");
        qos = uint8_t(v);
        if (auto lp = t.next(); lp && (*lp)[0] != '#') {
          if (*lp != "\"\"") local = *lp;
          if (auto rp = t.next(); rp && (*rp)[0] != '#' && *rp != "\"\"") remote = *rp;
        }
      }
    }
    return add_topic(b, *topic, dir, qos, local, remote);
  }
  if (key == "bridge_protocol_version") {
    auto rest = t.rest();
    if (!rest) return config_error("Empty bridge_protocol_version value in configuration.");
    if (*rest == "mqttv31") {
      b.protocol_version = BridgeProtocolVersion::kMqtt31;
    } else if (*rest == "mqttv311") {
      b.protocol_version = BridgeProtocolVersion::kMqtt311;
    } else if (*rest == "mqttv50") {
      b.protocol_version = BridgeProtocolVersion::kMqtt5;
    } else {
      return config_error("Invalid bridge_protocol_version value (" + std::string(*rest) + ").");
    }
    return Status{};
  }
  if (key == "cleansession") return parse_bool(t, key, &b.clean_start);
  if (key == "local_cleansession") {
    bool on = false;
    if (Status st = parse_bool(t, key, &on); !st) return st;
    b.clean_start_local = on ? 1 : 0;
    return Status{};
  }
  if (key == "notifications") return parse_bool(t, key, &b.notifications);
  if (key == "notifications_local_only") return parse_bool(t, key, &b.notifications_local_only);
  if (key == "round_robin") return parse_bool(t, key, &b.round_robin);
  if (key == "try_private") return parse_bool(t, key, &b.try_private);
  if (key == "bridge_attempt_unsubscribe") return parse_bool(t, key, &b.attempt_unsubscribe);
  if (key == "bridge_outgoing_retain") return parse_bool(t, key, &b.outgoing_retain);
  if (key == "bridge_require_ocsp") {
    if (Status st = parse_bool(t, key, &b.require_ocsp); !st) return st;
    if (b.require_ocsp) use_feature(Feature::kBridgeOption, "bridge_require_ocsp");
    return Status{};
  }
  if (key == "bridge_insecure") {
    if (Status st = parse_bool(t, key, &b.tls.insecure); !st) return st;
    if (b.tls.insecure) note(kLogWarning, "Warning: Bridge " + b.name + " using insecure mode.");
    return Status{};
  }
  if (key == "keepalive_interval") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v > 65535) return config_error("Bridge keepalive value too high.");
    if (v < 5) {
      note(kLogNotice, "keepalive interval too low, using 5 seconds.");
      v = 5;
    }
    b.keepalive = uint16_t(v);
    return Status{};
  }
  if (key == "idle_timeout" || key == "threshold") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 1) {
      note(kLogNotice, key == "threshold" ? "threshold too low, using 1 message."
                                          : "idle_timeout interval too low, using 1 second.");
      v = 1;
    }
    (key == "threshold" ? b.threshold : b.idle_timeout) = int(v);
    return Status{};
  }
  if (key == "restart_timeout") {
    auto tok = t.next();
    if (!tok) return config_error("Empty restart_timeout value in configuration.");
    b.restart_timeout = int(std::clamp<long long>(parse_atoi(*tok), INT32_MIN, INT32_MAX));
    if (b.restart_timeout < 1) {
      note(kLogNotice, "restart_timeout interval too low, using 1 second.");
      b.restart_timeout = 1;
    }
    b.restart_constant = true;
    if (auto cap = t.next()) {
      b.restart_constant = false;
      b.backoff_base = b.restart_timeout;
      b.backoff_cap = int(std::clamp<long long>(parse_atoi(*cap), INT32_MIN, INT32_MAX));
      if (b.backoff_cap < b.backoff_base) {
        return config_error("backoff cap is lower than the base in restart_timeout.");
      }
    }
    return Status{};
  }
  if (key == "start_type") {
    auto tok = t.next();
    if (!tok) return config_error("Empty start_type value in configuration.");
    if (*tok == "automatic") {
      b.start_type = BridgeStartType::kAutomatic;
    } else if (*tok == "lazy") {
      b.start_type = BridgeStartType::kLazy;
    } else if (*tok == "once") {
      b.start_type = BridgeStartType::kOnce;
    } else if (*tok == "manual") {
      return config_error("Manual start_type not supported.");
    } else {
      return config_error("Invalid start_type value in configuration (" + std::string(*tok) + ").");
    }
    return Status{};
  }
  if (key == "bridge_max_queued_messages" || key == "bridge_max_queued_bytes") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    if (v < 0) return config_error("Invalid " + std::string(key) + " value (" + std::to_string(v) + ").");
    (key == "bridge_max_queued_messages" ? b.max_queued_messages : b.max_queued_bytes) = v;
    return Status{};
  }
  if (key == "bridge_queue_policy") {
    auto tok = t.next();
    if (!tok) return config_error("Empty bridge_queue_policy value in configuration.");
    if (*tok == "refuse_new") {
      b.queue_policy = BridgeQueuePolicy::kRefuseNew;
    } else if (*tok == "drop_oldest") {
      b.queue_policy = BridgeQueuePolicy::kDropOldest;
    } else {
      return config_error("Invalid bridge_queue_policy value (" + std::string(*tok) +
                          "): use drop_oldest or refuse_new.");
    }
    return Status{};
  }
  if (key == "bridge_max_packet_size") {
    if (Status st = parse_int(t, key, &v); !st) return st;
    b.max_packet_size = uint32_t(std::max(0LL, v));
    return Status{};
  }
  if (key == "clientid" || key == "remote_clientid") {
    return parse_string(t, "bridge remote clientid", &b.remote_clientid);
  }
  if (key == "local_clientid") return parse_string(t, "bridge local clientd", &b.local_clientid);
  if (key == "username" || key == "remote_username") {
    return parse_string(t, "bridge remote_username", &b.remote_username);
  }
  if (key == "password" || key == "remote_password") {
    return parse_string(t, "bridge remote_password", &b.remote_password);
  }
  if (key == "local_username") return parse_string(t, "bridge local_username", &b.local_username);
  if (key == "local_password") return parse_string(t, "bridge local_password", &b.local_password);
  if (key == "notification_topic") return parse_string(t, key, &b.notification_topic);
  if (key == "bridge_bind_address") return parse_string(t, key, &b.bind_address);
  if (key == "bridge_tls_version") return parse_string(t, key, &b.tls.tls_version);
  if (key == "bridge_alpn") {
    std::string alpn;
    if (Status st = parse_string(t, key, &alpn); !st) return st;
    b.tls.alpn.clear();
    if (!alpn.empty()) b.tls.alpn.push_back(std::move(alpn));
    return Status{};
  }
  if (key == "bridge_cafile" || key == "bridge_capath" || key == "bridge_certfile" ||
      key == "bridge_keyfile") {
    if (!b.tls.psk_identity.empty() || !b.tls.psk.empty()) {
      return config_error("Cannot use both certificate and psk encryption in a single bridge.");
    }
    std::string* field = key == "bridge_cafile"     ? &b.tls.cafile
                         : key == "bridge_capath"   ? &b.tls.capath
                         : key == "bridge_certfile" ? &b.tls.certfile
                                                    : &b.tls.keyfile;
    return parse_string(t, key, field);
  }
  // bridge_identity / bridge_psk
  if (!b.tls.cafile.empty() || !b.tls.capath.empty() || !b.tls.certfile.empty() ||
      !b.tls.keyfile.empty()) {
    return config_error(
        key == "bridge_identity"
            ? "Cannot use both certificate and identity encryption in a single bridge."
            : "Cannot use both certificate and psk encryption in a single bridge.");
  }
  return parse_string(t, key, key == "bridge_identity" ? &b.tls.psk_identity : &b.tls.psk);
}

// config__read / config__check_bridges: checks after the whole file (no file:line).
Status ConfigParser::finish_bridges() {
  for (BridgeConfig& b : config_.bridges) {
    if (b.addresses.empty())
      return config_error("Invalid bridge configuration: no remote addresses defined.");
    if (b.topics.empty()) return config_error("Invalid bridge configuration: no topics defined.");
    if (!b.tls.psk.empty() && b.tls.psk_identity.empty()) {
      return config_error("Invalid bridge configuration: missing bridge_identity.");
    }
    if (!b.tls.psk_identity.empty() && b.tls.psk.empty()) {
      return config_error("Invalid bridge configuration: missing bridge_psk.");
    }
  }
  for (BridgeConfig& b : config_.bridges) {
    if (b.remote_clientid.empty()) {
      char host[256] = {};
      if (::gethostname(host, sizeof(host) - 1) != 0)
        return config_error("Unable to get the host name.");
      b.remote_clientid = std::string(host) + "." + b.name;  // the code's order, not the man page's
    }
    if (b.local_clientid.empty()) b.local_clientid = "local." + b.remote_clientid;
  }
  for (size_t i = 0; i < config_.bridges.size(); ++i) {
    for (size_t j = i + 1; j < config_.bridges.size(); ++j) {
      if (config_.bridges[i].local_clientid == config_.bridges[j].local_clientid) {
        return config_error("Bridge local_clientid '" + config_.bridges[i].local_clientid +
                            "' is not unique. Try changing or setting the local_clientid value "
                            "for one of the bridges.");
      }
    }
  }
  return {};
}

}  // namespace mq::broker::detail
