// The option handlers named by the table. Each does what Mosquitto's client_config_line_proc does
// for the option once its argument is there, in the same order, with the same messages.
#include "client/option_handlers.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "client/format.h"
#include "client/options.h"
#include "client/topic_check.h"

namespace mq::client::handlers {

namespace {

bool is(const char* a, const char* s) { return strcmp(a, s) == 0; }

// Mosquitto reads numbers with atoi: no error for junk, which reads as 0.
int atoi_like(const char* s) { return static_cast<int>(strtol(s, nullptr, 10)); }

std::string set_pub_mode(ClientConfig& cfg, PubMode mode) {
  if (cfg.pub_mode != PubMode::kNone)
    return "Error: Only one type of message can be sent at once.\n\n";
  cfg.pub_mode = mode;
  return "";
}

std::string add_topic(ClientConfig& cfg, bool as_response, const char* topic, const char* arg) {
  if (!valid_utf8_arg(topic))
    return std::string("Error: Malformed UTF-8 in ") + arg + " argument.\n\n";
  if (as_response) {
    if (!pub_topic_ok(topic))
      return std::string("Error: Invalid response topic '") + topic +
             "', does it contain '+' or '#'?\n";
    cfg.response_topic = topic;
  } else if (cfg.tool == Tool::kPub || cfg.tool == Tool::kRr) {
    if (!pub_topic_ok(topic))
      return std::string("Error: Invalid publish topic '") + topic +
             "', does it contain '+' or '#'?\n";
    cfg.topic = topic;
  } else {
    if (!sub_topic_ok(topic))
      return std::string("Error: Invalid subscription topic '") + topic +
             "', are all '+' and '#' wildcards correct?\n";
    cfg.topics.emplace_back(topic);
  }
  return "";
}

// Decodes %25 %3A %40 (the only escapes Mosquitto accepts in proxy user names and passwords).
bool percent_decode(std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    std::string code = s.substr(i + 1, 2);
    if (code == "25") out += '%';
    else if (code == "3A" || code == "3a") out += ':';
    else if (code == "40") out += '@';
    else return false;
    i += 2;
  }
  s = out;
  return true;
}

}  // namespace

std::string pub_mode_file(ClientConfig& cfg) { return set_pub_mode(cfg, PubMode::kFile); }
std::string pub_mode_message(ClientConfig& cfg) { return set_pub_mode(cfg, PubMode::kMessage); }

// -i and -I exclude each other; either one may be repeated (the last one wins).
constexpr const char kIdAndPrefix[] = "Error: -i and -I argument cannot be used together.\n\n";

std::string id_not_prefix(ClientConfig& cfg) { return cfg.id_prefix ? kIdAndPrefix : ""; }

std::string prefix_not_id(ClientConfig& cfg) { return cfg.id ? kIdAndPrefix : ""; }

std::string msg_count(ClientConfig& cfg, const char* value) {
  cfg.msg_count = atoi_like(value);
  if (cfg.msg_count < 1)
    return "Error: Invalid message count \"" + std::to_string(cfg.msg_count) + "\".\n\n";
  return "";
}

std::string response_topic(ClientConfig& cfg, const char* value) {
  return add_topic(cfg, true, value, "-e");
}

std::string format(ClientConfig& cfg, const char* value) {
  std::string err = check_format_text(value);
  if (!err.empty()) return err;
  cfg.format = value;
  return "";
}

std::string id(ClientConfig& cfg, const char* value) {
  cfg.id = value;
  return "";
}

std::string id_prefix(ClientConfig& cfg, const char* value) {
  cfg.id_prefix = value;
  return "";
}

std::string keepalive(ClientConfig& cfg, const char* value) {
  cfg.keepalive = atoi_like(value);
  if (cfg.keepalive < 5 || cfg.keepalive > 65535)
    return "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n";
  return "";
}

std::string url(ClientConfig& cfg, const char* value) { return apply_url(cfg, value); }

std::string stdin_line(ClientConfig& cfg, const char*) {
  return set_pub_mode(cfg, PubMode::kStdinLine);
}

std::string message(ClientConfig& cfg, const char* value) {
  cfg.message = value;
  if (cfg.message.size() > codec::kMaxVarint)
    return "Error: Message length must be less than 268435455 bytes.\n\n";
  return "";
}

std::string max_inflight(ClientConfig& cfg, const char* value) {
  int v = atoi_like(value);
  if (v < 1) return "Error: Maximum inflight messages must be greater than 0.\n\n";
  cfg.max_inflight = unsigned(v);
  return "";
}

std::string null_message(ClientConfig& cfg, const char*) {
  return set_pub_mode(cfg, PubMode::kNull);
}

std::string stdin_file(ClientConfig& cfg, const char*) {
  return set_pub_mode(cfg, PubMode::kStdinFile);
}

std::string port(ClientConfig& cfg, const char* value) {
  cfg.port = atoi_like(value);
  if (cfg.port < 0 || cfg.port > 65535)
    return "Error: Invalid port given: " + std::to_string(cfg.port) + "\n";
  return "";
}

std::string password(ClientConfig& cfg, const char* value) {
  cfg.password = value;
  return "";
}

std::string username(ClientConfig& cfg, const char* value) {
  cfg.username = value;
  return "";
}

// socks5h://[user[:pass]@]host[:port]
std::string proxy(ClientConfig& cfg, const char* value) {
  const std::string url = value;
  const std::string scheme = "socks5h://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return "Error: Unsupported proxy protocol: " + url + "\n";
  std::string rest = url.substr(scheme.size());
  std::string user, pass, hostport = rest;
  size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    hostport = rest.substr(at + 1);
    size_t colon = auth.find(':');
    user = auth.substr(0, colon);
    if (colon != std::string::npos) pass = auth.substr(colon + 1);
    if (user.empty()) return "Error: Invalid proxy.\n";
  }
  std::string host = hostport;
  int port = 1080;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) return "Error: Invalid proxy.\n";
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      port = atoi_like(hostport.c_str() + close + 2);
  } else if (size_t colon = hostport.find(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = atoi_like(hostport.c_str() + colon + 1);
  }
  if (host.empty()) return "Error: Invalid proxy.\n";
  if (port < 1 || port > 65535) return "Error: Invalid proxy port " + std::to_string(port) + "\n";
  if (!percent_decode(user) || !percent_decode(pass)) return "Error: Invalid proxy.\n";
  cfg.proxy_host = host;
  cfg.proxy_port = port;
  cfg.proxy_username = user;
  cfg.proxy_password = pass;
  return "";
}

std::string qos(ClientConfig& cfg, const char* value) {
  cfg.qos = atoi_like(value);
  if (cfg.qos < 0 || cfg.qos > 2)
    return "Error: Invalid QoS given: " + std::to_string(cfg.qos) + "\n";
  return "";
}

std::string random_filter(ClientConfig& cfg, const char* value) {
  cfg.random_filter = static_cast<int>(10.0 * atof(value));
  if (cfg.random_filter > 10000 || cfg.random_filter < 1)
    return "Error: --random-filter chance must be between 0.1-100.0\n\n";
  return "";
}

std::string repeat(ClientConfig& cfg, const char* value) {
  cfg.repeat_count = atoi_like(value);
  if (cfg.repeat_count < 1) return "Error: --repeat argument must be >0.\n\n";
  return "";
}

std::string repeat_delay(ClientConfig& cfg, const char* value) {
  double f = atof(value);
  if (f < 0.0) return "Error: --repeat-delay argument must be >=0.0.\n\n";
  cfg.repeat_delay_us = static_cast<int64_t>(f * 1e6);
  return "";
}

std::string retain_handling(ClientConfig& cfg, const char* value) {
  if (is(value, "always")) cfg.retain_handling = 0;
  else if (is(value, "new")) cfg.retain_handling = 1;
  else if (is(value, "never")) cfg.retain_handling = 2;
  else return "Error: --retain-handling must be one of always, new, never.\n\n";
  return "";
}

std::string topic(ClientConfig& cfg, const char* value) {
  return add_topic(cfg, false, value, "-t");
}

std::string filter_out(ClientConfig& cfg, const char* value) {
  if (!valid_utf8_arg(value)) return "Error: Malformed UTF-8 in -T argument.\n\n";
  if (!sub_topic_ok(value))
    return std::string("Error: Invalid filter topic '") + value +
           "', are all '+' and '#' wildcards correct?\n";
  cfg.filter_outs.emplace_back(value);
  return "";
}

std::string unsubscribe(ClientConfig& cfg, const char* value) {
  if (!valid_utf8_arg(value)) return "Error: Malformed UTF-8 in -U argument.\n\n";
  if (!sub_topic_ok(value))
    return std::string("Error: Invalid unsubscribe topic '") + value +
           "', are all '+' and '#' wildcards correct?\n";
  cfg.unsub_topics.emplace_back(value);
  return "";
}

std::string unix_socket(ClientConfig& cfg, const char* value) {
  cfg.unix_path = value;
  cfg.port = 0;
  return "";
}

std::string protocol_version(ClientConfig& cfg, const char* value) {
  if (is(value, "mqttv31") || is(value, "31")) cfg.version = codec::ProtocolVersion::kV31;
  else if (is(value, "mqttv311") || is(value, "311")) cfg.version = codec::ProtocolVersion::kV311;
  else if (is(value, "mqttv5") || is(value, "5")) cfg.version = codec::ProtocolVersion::kV5;
  else return "Error: Invalid protocol version argument given.\n\n";
  return "";
}

std::string timeout(ClientConfig& cfg, const char* value) {
  int v = atoi_like(value);
  if (v < 1) return "Error: Invalid timeout \"" + std::to_string(v) + "\".\n\n";
  cfg.timeout = unsigned(v);
  return "";
}

std::string will_payload(ClientConfig& cfg, const char* value) {
  cfg.will_payload = value;
  return "";
}

std::string will_qos(ClientConfig& cfg, const char* value) {
  cfg.will_qos = atoi_like(value);
  if (cfg.will_qos < 0 || cfg.will_qos > 2)
    return "Error: Invalid will QoS " + std::to_string(cfg.will_qos) + ".\n\n";
  return "";
}

std::string will_topic(ClientConfig& cfg, const char* value) {
  if (!valid_utf8_arg(value)) return "Error: Malformed UTF-8 in --will-topic argument.\n\n";
  if (!pub_topic_ok(value))
    return std::string("Error: Invalid will topic '") + value + "', does it contain '+' or '#'?\n";
  cfg.will_topic = value;
  return "";
}

std::string session_expiry(ClientConfig& cfg, const char* value) {
  if (is(value, "\xe2\x88\x9e")) {  // "∞"
    cfg.session_expiry = UINT32_MAX;
  } else {
    char* end = nullptr;
    errno = 0;
    long long v = strtoll(value, &end, 0);
    if (end == value || *end != '\0') return "Error: session-expiry-interval not a number.\n\n";
    if (v > int64_t(UINT32_MAX) || v < -1)
      return "Error: session-expiry-interval out of range.\n\n";
    cfg.session_expiry = v == -1 ? int64_t(UINT32_MAX) : v;
  }
  cfg.version = codec::ProtocolVersion::kV5;  // 2.1: -x implies MQTT 5
  return "";
}

std::string ws_path(ClientConfig& cfg, const char* value) {
  if (value[0] != '/') return "Error: --ws-path must start with '/'.\n\n";
  cfg.ws_path = value;
  cfg.websockets = true;
  return "";
}

std::string latency(ClientConfig& cfg, const char*) {
  cfg.latency = true;
  cfg.nodelay = true;  // a latency figure without Nagle's delay in it
  return "";
}

}  // namespace mq::client::handlers
