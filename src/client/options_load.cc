// The options file, -L URLs, -D properties and the checks between options (Mosquitto's
// client_config_load and client_props.c, with their messages).
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "client/option_table.h"
#include "client/options.h"
#include "client/topic_check.h"
#include "codec/properties.h"

namespace mq::client {

namespace {

enum class PropType : uint8_t { kByte, kInt16, kInt32, kVarint, kBinary, kString, kPair };

struct PropInfo {
  const char* name;
  uint8_t id;
  PropType type;
};

const PropInfo kProps[] = {
    {"payload-format-indicator", 0x01, PropType::kByte},
    {"message-expiry-interval", 0x02, PropType::kInt32},
    {"content-type", 0x03, PropType::kString},
    {"response-topic", 0x08, PropType::kString},
    {"correlation-data", 0x09, PropType::kBinary},
    {"subscription-identifier", 0x0B, PropType::kVarint},
    {"session-expiry-interval", 0x11, PropType::kInt32},
    {"assigned-client-identifier", 0x12, PropType::kString},
    {"server-keep-alive", 0x13, PropType::kInt16},
    {"authentication-method", 0x15, PropType::kString},
    {"authentication-data", 0x16, PropType::kBinary},
    {"request-problem-information", 0x17, PropType::kByte},
    {"will-delay-interval", 0x18, PropType::kInt32},
    {"request-response-information", 0x19, PropType::kByte},
    {"response-information", 0x1A, PropType::kString},
    {"server-reference", 0x1C, PropType::kString},
    {"reason-string", 0x1F, PropType::kString},
    {"receive-maximum", 0x21, PropType::kInt16},
    {"topic-alias-maximum", 0x22, PropType::kInt16},
    {"topic-alias", 0x23, PropType::kInt16},
    {"maximum-qos", 0x24, PropType::kByte},
    {"retain-available", 0x25, PropType::kByte},
    {"user-property", 0x26, PropType::kPair},
    {"maximum-packet-size", 0x27, PropType::kInt32},
    {"wildcard-subscription-available", 0x28, PropType::kByte},
    {"subscription-identifier-available", 0x29, PropType::kByte},
    {"shared-subscription-available", 0x2A, PropType::kByte},
};

struct CommandInfo {
  const char* name;
  codec::PropertyScope scope;
};

const CommandInfo kCommands[] = {
    {"connect", codec::PropertyScope::kConnect},     {"connack", codec::PropertyScope::kConnack},
    {"publish", codec::PropertyScope::kPublish},     {"puback", codec::PropertyScope::kPuback},
    {"pubrec", codec::PropertyScope::kPubrec},       {"pubrel", codec::PropertyScope::kPubrel},
    {"pubcomp", codec::PropertyScope::kPubcomp},     {"subscribe", codec::PropertyScope::kSubscribe},
    {"suback", codec::PropertyScope::kSuback},       {"unsubscribe", codec::PropertyScope::kUnsubscribe},
    {"unsuback", codec::PropertyScope::kUnsuback},   {"disconnect", codec::PropertyScope::kDisconnect},
    {"auth", codec::PropertyScope::kAuth},           {"will", codec::PropertyScope::kWill},
};

std::string property_problem(const OwnedProperties& props) {
  bool seen[256] = {};
  for (const OwnedProperty& p : props.items) {
    if (p.id != 0x26) {
      if (seen[p.id]) return "Duplicate property in property list.";
      seen[p.id] = true;
    }
    bool zero_forbidden = p.id == 0x21 || p.id == 0x23 || p.id == 0x27 || p.id == 0x0B;
    if (zero_forbidden && p.number == 0)
      return "A network protocol error occurred when communicating with the broker.";
  }
  return "";
}

std::string default_options_path(Tool tool) {
  const char* base = tool == Tool::kPub ? "mosquitto_pub" : tool == Tool::kSub ? "mosquitto_sub"
                                                                               : "mosquitto_rr";
  if (const char* xdg = getenv("XDG_CONFIG_HOME")) return std::string(xdg) + "/" + base;
  if (const char* home = getenv("HOME")) return std::string(home) + "/.config/" + base;
  return "";
}

}  // namespace

bool OwnedProperties::has(uint8_t id) const {
  for (const OwnedProperty& p : items)
    if (p.id == id) return true;
  return false;
}

codec::Properties OwnedProperties::view() const {
  codec::Properties out;
  order_.clear();
  for (const OwnedProperty& p : items) {
    switch (p.id) {
      case 0x01: out.payload_format_indicator = uint8_t(p.number); break;
      case 0x02: out.message_expiry_interval = p.number; break;
      case 0x03: out.content_type = p.value; break;
      case 0x08: out.response_topic = p.value; break;
      case 0x09: out.correlation_data = p.value; break;
      case 0x0B: out.subscription_identifiers.push_back(p.number); break;
      case 0x11: out.session_expiry_interval = p.number; break;
      case 0x15: out.authentication_method = p.value; break;
      case 0x16: out.authentication_data = p.value; break;
      case 0x17: out.request_problem_information = uint8_t(p.number); break;
      case 0x18: out.will_delay_interval = p.number; break;
      case 0x19: out.request_response_information = uint8_t(p.number); break;
      case 0x21: out.receive_maximum = uint16_t(p.number); break;
      case 0x22: out.topic_alias_maximum = uint16_t(p.number); break;
      case 0x23: out.topic_alias = uint16_t(p.number); break;
      case 0x27: out.maximum_packet_size = p.number; break;
      case 0x26: out.user_properties.emplace_back(p.key, p.value); break;
      default: continue;  // not allowed in any packet a client sends
    }
    order_.push_back(codec::PropertyId(p.id));  // sent in command-line order, as libmosquitto
  }
  out.order = order_;
  return out;
}

std::string apply_property(ClientConfig& cfg, std::span<char* const> args, size_t* i) {
  const size_t n = args.size();
  size_t idx = *i;
  if (idx + 2 > n - 1) return "Error: --property argument given but not enough arguments specified.\n\n";
  const char* cmdname = args[idx];
  const CommandInfo* cmd = nullptr;
  for (const CommandInfo& c : kCommands)
    if (strcasecmp(c.name, cmdname) == 0) cmd = &c;
  if (!cmd) return "Error: Invalid command given in --property argument.\n\n";
  const char* propname = args[idx + 1];
  const PropInfo* prop = nullptr;
  for (const PropInfo& p : kProps)
    if (strcasecmp(p.name, propname) == 0) prop = &p;
  if (!prop) return "Error: Invalid property name given in --property argument.\n\n";
  if (!codec::property_allowed(codec::PropertyId(prop->id), cmd->scope))
    return std::string("Error: ") + propname + " property not allowed for " + cmdname +
           " in --property argument.\n\n";
  OwnedProperty out;
  out.id = prop->id;
  const char* value;
  if (prop->type == PropType::kPair) {
    if (idx + 3 > n - 1)
      return "Error: --property argument given but not enough arguments specified.\n\n";
    out.key = args[idx + 2];
    value = args[idx + 3];
    *i = idx + 3;
  } else {
    value = args[idx + 2];
    *i = idx + 2;
  }
  std::string not_supported = std::string("Error: ") + propname + " property not supported for " +
                              cmdname + " in --property argument.\n\n";
  OwnedProperties* list = nullptr;
  switch (cmd->scope) {
    case codec::PropertyScope::kConnect: list = &cfg.connect_props; break;
    case codec::PropertyScope::kPublish:
      if (prop->id == 0x0B) return not_supported;
      list = &cfg.publish_props;
      break;
    case codec::PropertyScope::kSubscribe:
      if (prop->id != 0x0B && prop->id != 0x26) return not_supported;
      list = &cfg.subscribe_props;
      break;
    case codec::PropertyScope::kUnsubscribe: list = &cfg.unsubscribe_props; break;
    case codec::PropertyScope::kDisconnect: list = &cfg.disconnect_props; break;
    case codec::PropertyScope::kWill: list = &cfg.will_props; break;
    default: return not_supported;
  }
  long long num = 0;
  long long max = 0;
  switch (prop->type) {
    case PropType::kByte: max = 255; break;
    case PropType::kInt16: max = 65535; break;
    case PropType::kInt32: max = 4294967295LL; break;
    case PropType::kVarint: max = 268435455; break;
    default: break;
  }
  if (max != 0) {
    num = strtoll(value, nullptr, 10);
    if (num < 0 || num > max)
      return "Error: Property value (" + std::to_string(num) + ") out of range for property " +
             propname + ".\n\n";
    out.number = uint32_t(num);
  } else {
    out.value = value;
  }
  list->items.push_back(std::move(out));
  return "";
}

std::string apply_url(ClientConfig& cfg, std::string_view url) {
  std::string_view rest;
  if (url.size() >= 7 && strncasecmp(url.data(), "mqtt://", 7) == 0) {
    rest = url.substr(7);
    cfg.port = 1883;
  } else if (url.size() >= 8 && strncasecmp(url.data(), "mqtts://", 8) == 0) {
    rest = url.substr(8);
    cfg.port = 8883;
    cfg.tls_use_os_certs = true;
  } else if (url.size() >= 5 && strncasecmp(url.data(), "ws://", 5) == 0) {
    rest = url.substr(5);
    cfg.port = 80;
    cfg.websockets = true;
  } else if (url.size() >= 6 && strncasecmp(url.data(), "wss://", 6) == 0) {
    rest = url.substr(6);
    cfg.port = 443;
    cfg.websockets = true;
    cfg.tls_use_os_certs = true;
  } else {
    return "Error: unsupported URL scheme.\n\n";
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos)
    return "Error: Invalid URL for -L argument specified - topic missing.\n";
  std::string topic(rest.substr(slash + 1));
  std::string_view authority = rest.substr(0, slash);
  // ws:// and wss:// (Mosquitto 2.1): ws://host:port/mqtt/a/b is the WebSocket path "/mqtt"
  // and the topic "a/b"; with a single level (ws://host/t) the topic is "t" on the default path.
  if (cfg.websockets) {
    if (size_t cut = topic.find('/'); cut != std::string::npos) {
      cfg.ws_path = "/" + topic.substr(0, cut);
      topic.erase(0, cut + 1);
    }
  }
  bool saved_is_sub = cfg.tool == Tool::kSub;
  std::string err;
  // -L adds a subscription for sub, sets the publish topic for pub and rr.
  if (!valid_utf8_arg(topic)) return "Error: Malformed UTF-8 in -L topic argument.\n\n";
  if (saved_is_sub) {
    if (!sub_topic_ok(topic))
      return "Error: Invalid subscription topic '" + topic +
             "', are all '+' and '#' wildcards correct?\n";
    cfg.topics.push_back(topic);
  } else {
    if (!pub_topic_ok(topic))
      return "Error: Invalid publish topic '" + topic + "', does it contain '+' or '#'?\n";
    cfg.topic = topic;
  }
  if (size_t at = authority.find('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      cfg.password = std::string(userinfo.substr(colon + 1));
      userinfo = userinfo.substr(0, colon);
    }
    cfg.username = std::string(userinfo);
  }
  if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    cfg.port = atoi(std::string(authority.substr(colon + 1)).c_str());
    authority = authority.substr(0, colon);
  }
  cfg.host = std::string(authority);
  return "";
}

ParseResult load_config(ClientConfig& cfg, Tool tool, int argc, char** argv, bool mq_extras) {
  cfg = ClientConfig{};
  cfg.tool = tool;
  cfg.mq_names = mq_extras;
  if (tool == Tool::kRr) {
    cfg.version = codec::ProtocolVersion::kV5;
    cfg.msg_count = 1;
  }
  bool have_o = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-o") != 0) continue;
    if (have_o) return ParseResult{ParseStatus::kError, "Error: Duplicate -o argument given.\n\n", true};
    if (i == argc - 1)  // the option table's text, as parse_args would give
      return ParseResult{ParseStatus::kError,
                         missing_argument_text(*find_option("-o", tool, false)), true};
    cfg.options_file = argv[i + 1];
    have_o = true;
  }
  std::string path = have_o ? cfg.options_file : default_options_path(tool);
  if (!path.empty()) {
    if (FILE* f = fopen(path.c_str(), "r")) {
      char line[1024];
      while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char* save = nullptr;
        char* opt = strtok_r(line, " ", &save);
        if (!opt) continue;
        char* value = strtok_r(nullptr, "", &save);
        char* args[3] = {nullptr, opt, value};
        ParseResult r = parse_args(cfg, std::span<char* const>(args, value ? 3 : 2), mq_extras);
        if (r.status != ParseStatus::kOk) {
          fclose(f);
          return r;
        }
      }
      fclose(f);
    } else if (have_o) {
      return ParseResult{ParseStatus::kError,
                         "Error: Unable to open options file \"" + path + "\".\n", true};
    }
  }
  ParseResult r = parse_args(cfg, std::span<char* const>(argv, size_t(argc)), mq_extras);
  if (r.status != ParseStatus::kOk) return r;
  return finish_config(cfg);
}

ParseResult finish_config(ClientConfig& cfg) {
  auto fail = [](std::string text, bool hint = true) {
    return ParseResult{ParseStatus::kError, std::move(text), hint};
  };
  if (cfg.will_payload && !cfg.will_topic)
    return fail("Error: Will payload given, but no will topic given.\n");
  if (cfg.will_retain && !cfg.will_topic)
    return fail("Error: Will retain given, but no will topic given.\n");
  if (cfg.certfile.empty() != cfg.keyfile.empty())
    return fail("Error: Both certfile and keyfile must be provided if one of them is set.\n");
  if (!cfg.keyform.empty() && cfg.keyfile.empty())
    return fail("Error: If keyform is set, keyfile must be also specified.\n");
  if (!cfg.tls_engine_kpass_sha1.empty() && (cfg.keyform.empty() || cfg.tls_engine.empty()))
    return fail("Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.\n");
  if ((!cfg.cafile.empty() || !cfg.capath.empty()) && !cfg.psk.empty())
    return fail("Error: Only one of --psk or --cafile/--capath may be used at once.\n");
  if (!cfg.psk.empty() && cfg.psk_identity.empty())
    return fail("Error: --psk-identity required if --psk used.\n");

  if (cfg.version == codec::ProtocolVersion::kV5) {
    if (!cfg.clean_session && cfg.session_expiry == -1) cfg.session_expiry = UINT32_MAX;
    if (cfg.session_expiry > 0) {
      if (cfg.session_expiry == UINT32_MAX && (cfg.id_prefix || !cfg.id))
        return fail("Error: You must provide a client id if you are using an infinite session expiry interval.\n");
      if (!cfg.connect_props.has(0x11))
        cfg.connect_props.items.push_back(OwnedProperty{0x11, uint32_t(cfg.session_expiry), "", ""});
    }
  } else if (!cfg.clean_session && (cfg.id_prefix || !cfg.id)) {
    return fail("Error: You must provide a client id if you are using the -c option.\n");
  }
  if (cfg.tool == Tool::kSub && cfg.topics.empty() && cfg.unsub_topics.empty())
    return fail("Error: You must specify a topic to subscribe to.\n");
  if (cfg.watch && cfg.message_rate)
    return fail("Error: --watch and --message-rate cannot be used together.\n");

  struct Named {
    const char* what;
    const OwnedProperties* props;
  };
  const Named lists[] = {{"CONNECT", &cfg.connect_props},         {"PUBLISH", &cfg.publish_props},
                         {"SUBSCRIBE", &cfg.subscribe_props},     {"UNSUBSCRIBE", &cfg.unsubscribe_props},
                         {"DISCONNECT", &cfg.disconnect_props},   {"Will", &cfg.will_props}};
  for (const Named& l : lists) {
    std::string problem = property_problem(*l.props);
    if (!problem.empty()) return fail(std::string("Error in ") + l.what + " properties: " + problem + "\n");
  }

  if (!cfg.pw_env.empty()) {
    const char* v = getenv(cfg.pw_env.c_str());
    if (!v) return fail("Error: environment variable " + cfg.pw_env + " is not set.\n", false);
    cfg.password = v;
  }
  if (!cfg.pw_file.empty()) {
    std::ifstream in(cfg.pw_file);
    std::string line;
    if (!in || !std::getline(in, line))
      return fail("Error: Unable to read password file \"" + cfg.pw_file + "\".\n", false);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    cfg.password = line;
  }
  return ParseResult{};
}

}  // namespace mq::client
