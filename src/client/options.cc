// Mosquitto's client option parser, one option at a time, with its messages. The order of checks
// follows client_config_line_proc so that the same command line fails with the same text.
#include "client/options.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "client/format.h"
#include "client/topic_check.h"

namespace mq::client {

namespace {

bool is(const char* a, const char* s) { return strcmp(a, s) == 0; }
bool is(const char* a, const char* s1, const char* s2) { return is(a, s1) || is(a, s2); }

int atoi_like(const char* s) { return static_cast<int>(strtol(s, nullptr, 10)); }

ParseResult fail(std::string text, bool hint = true) {
  return ParseResult{ParseStatus::kError, std::move(text), hint};
}

std::string add_topic(ClientConfig& cfg, bool as_response, const char* topic, const char* arg) {
  if (!valid_utf8_arg(topic)) return std::string("Error: Malformed UTF-8 in ") + arg + " argument.\n\n";
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

std::string set_pub_mode(ClientConfig& cfg, PubMode mode) {
  if (cfg.pub_mode != PubMode::kNone) return "Error: Only one type of message can be sent at once.\n\n";
  cfg.pub_mode = mode;
  return "";
}

// Splits socks5h://[user[:pass]@]host[:port], decoding %25 %3A %40 in user and password.
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

std::string parse_proxy(ClientConfig& cfg, const std::string& url) {
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

// Options that take one argument and just store it: name, message when it is missing, target.
struct StringOption {
  const char* name;
  const char* alias;
  const char* missing;
  std::string ClientConfig::*field;
};

const StringOption kStringOptions[] = {
    {"-A", nullptr, "Error: -A argument given but no address specified.\n\n", &ClientConfig::bind_address},
    {"--cafile", nullptr, "Error: --cafile argument given but no file specified.\n\n", &ClientConfig::cafile},
    {"--capath", nullptr, "Error: --capath argument given but no directory specified.\n\n", &ClientConfig::capath},
    {"--cert", nullptr, "Error: --cert argument given but no file specified.\n\n", &ClientConfig::certfile},
    {"--ciphers", nullptr, "Error: --ciphers argument given but no ciphers specified.\n\n", &ClientConfig::ciphers},
    {"--key", nullptr, "Error: --key argument given but no file specified.\n\n", &ClientConfig::keyfile},
    {"--keyform", nullptr, "Error: --keyform argument given but no keyform specified.\n\n", &ClientConfig::keyform},
    {"--psk", nullptr, "Error: --psk argument given but no key specified.\n\n", &ClientConfig::psk},
    {"--psk-identity", nullptr, "Error: --psk-identity argument given but no identity specified.\n\n", &ClientConfig::psk_identity},
    {"--tls-alpn", nullptr, "Error: --tls-alpn argument given but no protocol specified.\n\n", &ClientConfig::tls_alpn},
    {"--tls-engine", nullptr, "Error: --tls-engine argument given but no engine_id specified.\n\n", &ClientConfig::tls_engine},
    {"--tls-engine-kpass-sha1", nullptr, "Error: --tls-engine-kpass-sha1 argument given but no kpass sha1 specified.\n\n", &ClientConfig::tls_engine_kpass_sha1},
    {"--tls-version", nullptr, "Error: --tls-version argument given but no version specified.\n\n", &ClientConfig::tls_version},
    {"--tls-keylog", nullptr, "Error: --tls-keylog argument given but no file specified.\n\n", &ClientConfig::tls_keylog},
    {"-h", "--host", "Error: -h argument given but no host specified.\n\n", &ClientConfig::host},
};

}  // namespace

ParseResult parse_args(ClientConfig& cfg, std::span<char* const> args, bool mq_extras) {
  const Tool tool = cfg.tool;
  const bool pub = tool == Tool::kPub, sub = tool == Tool::kSub, rr = tool == Tool::kRr;
  const size_t n = args.size();
  for (size_t i = 1; i < n; i++) {
    const char* a = args[i];
    const bool last = i == n - 1;
    const char* next = last ? nullptr : args[i + 1];
    auto unknown = [&] { return fail(std::string("Error: Unknown option '") + a + "'.\n"); };

    bool matched = false;
    for (const StringOption& o : kStringOptions) {
      if (is(a, o.name) || (o.alias && is(a, o.alias))) {
        if (last) return fail(o.missing);
        cfg.*o.field = next;
        i++;
        matched = true;
        break;
      }
    }
    if (matched) continue;

    if (is(a, "-C")) {
      if (!sub) return unknown();
      if (last) return fail("Error: -C argument given but no count specified.\n\n");
      cfg.msg_count = atoi_like(next);
      if (cfg.msg_count < 1)
        return fail("Error: Invalid message count \"" + std::to_string(cfg.msg_count) + "\".\n\n");
      i++;
    } else if (is(a, "-c", "--disable-clean-session")) {
      cfg.clean_session = false;
    } else if (is(a, "-d", "--debug")) {
      cfg.debug = true;
    } else if (is(a, "-D", "--property")) {
      i++;
      std::string err = apply_property(cfg, args, &i);
      if (!err.empty()) return fail(err);
      cfg.version = codec::ProtocolVersion::kV5;
    } else if (is(a, "-e")) {
      if (!rr) return unknown();
      if (last) return fail("Error: -e argument given but no response topic specified.\n\n");
      if (std::string err = add_topic(cfg, true, next, "-e"); !err.empty()) return fail(err);
      i++;
    } else if (is(a, "-E")) {
      if (!sub) return unknown();
      cfg.exit_after_sub = true;
    } else if (is(a, "-f", "--file")) {
      if (sub) return unknown();
      if (std::string err = set_pub_mode(cfg, PubMode::kFile); !err.empty()) return fail(err);
      if (last) return fail("Error: -f argument given but no file specified.\n\n");
      cfg.file_input = next;
      i++;
    } else if (is(a, "-F")) {
      if (pub) return unknown();
      if (last) return fail("Error: -F argument given but no format specified.\n\n");
      std::string err = check_format_text(next);
      if (!err.empty()) return fail(err);
      cfg.format = next;
      i++;
    } else if (is(a, "--help")) {
      return ParseResult{ParseStatus::kHelp, "", false};
    } else if (is(a, "--insecure")) {
      cfg.insecure = true;
    } else if (is(a, "-i", "--id")) {
      if (cfg.id_prefix) return fail("Error: -i and -I argument cannot be used together.\n\n");
      if (last) return fail("Error: -i argument given but no id specified.\n\n");
      cfg.id = next;
      i++;
    } else if (is(a, "-I", "--id-prefix")) {
      if (cfg.id) return fail("Error: -i and -I argument cannot be used together.\n\n");
      if (last) return fail("Error: -I argument given but no id prefix specified.\n\n");
      cfg.id_prefix = next;
      i++;
    } else if (is(a, "-k", "--keepalive")) {
      if (last) return fail("Error: -k argument given but no keepalive specified.\n\n");
      cfg.keepalive = atoi_like(next);
      if (cfg.keepalive < 5 || cfg.keepalive > 65535)
        return fail("Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n");
      i++;
    } else if (is(a, "-L", "--url")) {
      if (last) return fail("Error: -L argument given but no URL specified.\n\n");
      if (std::string err = apply_url(cfg, next); !err.empty()) return fail(err);
      i++;
    } else if (is(a, "-l", "--stdin-line")) {
      if (!pub) return unknown();
      if (std::string err = set_pub_mode(cfg, PubMode::kStdinLine); !err.empty()) return fail(err);
    } else if (is(a, "-m", "--message")) {
      if (sub) return unknown();
      if (std::string err = set_pub_mode(cfg, PubMode::kMessage); !err.empty()) return fail(err);
      if (last) return fail("Error: -m argument given but no message specified.\n\n");
      cfg.message = next;
      if (cfg.message.size() > codec::kMaxVarint)
        return fail("Error: Message length must be less than 268435455 bytes.\n\n");
      i++;
    } else if (is(a, "-M")) {
      if (last) return fail("Error: -M argument given but max_inflight not specified.\n\n");
      int v = atoi_like(next);
      if (v < 1) return fail("Error: Maximum inflight messages must be greater than 0.\n\n");
      cfg.max_inflight = unsigned(v);
      i++;
    } else if (is(a, "--nodelay")) {
      cfg.nodelay = true;
    } else if (is(a, "--no-tls")) {
      cfg.no_tls = true;
    } else if (is(a, "--ws")) {
      cfg.websockets = true;
    } else if (is(a, "--ws-path")) {
      if (last) return fail("Error: --ws-path argument given but no path specified.\n\n");
      if (next[0] != '/') return fail("Error: --ws-path must start with '/'.\n\n");
      cfg.ws_path = next;
      cfg.websockets = true;
      i++;
    } else if (is(a, "-n", "--null-message")) {
      if (sub) return unknown();
      if (std::string err = set_pub_mode(cfg, PubMode::kNull); !err.empty()) return fail(err);
    } else if (is(a, "-N")) {
      if (pub) return unknown();
      cfg.eol = false;
    } else if (is(a, "-o")) {
      if (last) return fail("Error: -o argument given but no options file specified.\n\n");
      i++;  // read before argv by load_config
    } else if (is(a, "-p", "--port")) {
      if (last) return fail("Error: -p argument given but no port specified.\n\n");
      cfg.port = atoi_like(next);
      if (cfg.port < 0 || cfg.port > 65535)
        return fail("Error: Invalid port given: " + std::to_string(cfg.port) + "\n");
      i++;
    } else if (is(a, "--pretty")) {
      if (pub) return unknown();
      cfg.pretty = true;
    } else if (is(a, "-P", "--pw")) {
      if (last) return fail("Error: -P argument given but no password specified.\n\n");
      cfg.password = next;
      i++;
    } else if (is(a, "--proxy")) {
      if (last) return fail("Error: --proxy argument given but no proxy url specified.\n\n");
      if (std::string err = parse_proxy(cfg, next); !err.empty()) return fail(err);
      i++;
    } else if (is(a, "-q", "--qos")) {
      if (last) return fail("Error: -q argument given but no QoS specified.\n\n");
      cfg.qos = atoi_like(next);
      if (cfg.qos < 0 || cfg.qos > 2)
        return fail("Error: Invalid QoS given: " + std::to_string(cfg.qos) + "\n");
      i++;
    } else if (is(a, "--quiet")) {
      cfg.quiet = true;
    } else if (is(a, "-r", "--retain")) {
      if (!pub) return unknown();
      cfg.retain = true;
    } else if (is(a, "-R")) {
      if (pub) return unknown();
      cfg.no_retain = true;
    } else if (is(a, "--random-filter")) {
      if (!sub) return unknown();
      if (last) return fail("Error: --random-filter argument given but no chance specified.\n\n");
      cfg.random_filter = static_cast<int>(10.0 * atof(next));
      if (cfg.random_filter > 10000 || cfg.random_filter < 1)
        return fail("Error: --random-filter chance must be between 0.1-100.0\n\n");
      i++;
    } else if (is(a, "--remove-retained")) {
      if (!sub) return unknown();
      cfg.remove_retained = true;
    } else if (is(a, "--repeat")) {
      if (!pub) return unknown();
      if (last) return fail("Error: --repeat argument given but no count specified.\n\n");
      cfg.repeat_count = atoi_like(next);
      if (cfg.repeat_count < 1) return fail("Error: --repeat argument must be >0.\n\n");
      i++;
    } else if (is(a, "--repeat-delay")) {
      if (!pub) return unknown();
      if (last) return fail("Error: --repeat-delay argument given but no time specified.\n\n");
      double f = atof(next);
      if (f < 0.0) return fail("Error: --repeat-delay argument must be >=0.0.\n\n");
      cfg.repeat_delay_us = static_cast<int64_t>(f * 1e6);
      i++;
    } else if (is(a, "--retain-as-published")) {
      if (pub) return unknown();
      cfg.retain_as_published = true;
    } else if (is(a, "--retain-handling")) {
      if (pub) return unknown();
      if (last) return fail("Error: --retain-handling argument given but no value specified.\n\n");
      if (is(next, "always")) cfg.retain_handling = 0;
      else if (is(next, "new")) cfg.retain_handling = 1;
      else if (is(next, "never")) cfg.retain_handling = 2;
      else return fail("Error: --retain-handling must be one of always, new, never.\n\n");
      i++;
    } else if (is(a, "--retained-only")) {
      if (!sub) return unknown();
      cfg.retained_only = true;
    } else if (is(a, "-s", "--stdin-file")) {
      if (sub) return unknown();
      if (std::string err = set_pub_mode(cfg, PubMode::kStdinFile); !err.empty()) return fail(err);
    } else if (is(a, "-t", "--topic")) {
      if (last) return fail("Error: -t argument given but no topic specified.\n\n");
      if (std::string err = add_topic(cfg, false, next, "-t"); !err.empty()) return fail(err);
      i++;
    } else if (is(a, "-T", "--filter-out")) {
      if (!sub) return unknown();
      if (last) return fail("Error: -T argument given but no topic filter specified.\n\n");
      if (!valid_utf8_arg(next)) return fail("Error: Malformed UTF-8 in -T argument.\n\n");
      if (!sub_topic_ok(next))
        return fail(std::string("Error: Invalid filter topic '") + next +
                    "', are all '+' and '#' wildcards correct?\n");
      cfg.filter_outs.emplace_back(next);
      i++;
    } else if (is(a, "--tls-use-os-certs")) {
      cfg.tls_use_os_certs = true;
    } else if (is(a, "-U", "--unsubscribe")) {
      if (!sub) return unknown();
      if (last) return fail("Error: -U argument given but no unsubscribe topic specified.\n\n");
      if (!valid_utf8_arg(next)) return fail("Error: Malformed UTF-8 in -U argument.\n\n");
      if (!sub_topic_ok(next))
        return fail(std::string("Error: Invalid unsubscribe topic '") + next +
                    "', are all '+' and '#' wildcards correct?\n");
      cfg.unsub_topics.emplace_back(next);
      i++;
    } else if (is(a, "-u", "--username")) {
      if (last) return fail("Error: -u argument given but no username specified.\n\n");
      cfg.username = next;
      i++;
    } else if (is(a, "--unix")) {
      if (last) return fail("Error: --unix argument given but no socket path specified.\n\n");
      cfg.unix_path = next;
      cfg.port = 0;
      i++;
    } else if (is(a, "-V", "--protocol-version")) {
      if (last) return fail("Error: --protocol-version argument given but no version specified.\n\n");
      if (is(next, "mqttv31", "31")) cfg.version = codec::ProtocolVersion::kV31;
      else if (is(next, "mqttv311", "311")) cfg.version = codec::ProtocolVersion::kV311;
      else if (is(next, "mqttv5", "5")) cfg.version = codec::ProtocolVersion::kV5;
      else return fail("Error: Invalid protocol version argument given.\n\n");
      i++;
    } else if (is(a, "-v", "--verbose")) {
      if (pub) return unknown();
      cfg.verbose = true;
    } else if (is(a, "--version")) {
      return ParseResult{ParseStatus::kVersion, "", false};
    } else if (is(a, "-W")) {
      if (pub) return unknown();
      if (last) return fail("Error: -W argument given but no timeout specified.\n\n");
      int v = atoi_like(next);
      if (v < 1) return fail("Error: Invalid timeout \"" + std::to_string(v) + "\".\n\n");
      cfg.timeout = unsigned(v);
      i++;
    } else if (is(a, "--will-payload")) {
      if (last) return fail("Error: --will-payload argument given but no will payload specified.\n\n");
      cfg.will_payload = next;
      i++;
    } else if (is(a, "--will-qos")) {
      if (last) return fail("Error: --will-qos argument given but no will QoS specified.\n\n");
      cfg.will_qos = atoi_like(next);
      if (cfg.will_qos < 0 || cfg.will_qos > 2)
        return fail("Error: Invalid will QoS " + std::to_string(cfg.will_qos) + ".\n\n");
      i++;
    } else if (is(a, "--will-retain")) {
      cfg.will_retain = true;
    } else if (is(a, "--will-topic")) {
      if (last) return fail("Error: --will-topic argument given but no will topic specified.\n\n");
      if (!valid_utf8_arg(next)) return fail("Error: Malformed UTF-8 in --will-topic argument.\n\n");
      if (!pub_topic_ok(next))
        return fail(std::string("Error: Invalid will topic '") + next +
                    "', does it contain '+' or '#'?\n");
      cfg.will_topic = next;
      i++;
    } else if (is(a, "-x")) {
      if (last)
        return fail("Error: -x argument given but no session expiry interval specified.\n\n");
      if (is(next, "\xe2\x88\x9e")) {  // "∞"
        cfg.session_expiry = UINT32_MAX;
      } else {
        char* end = nullptr;
        errno = 0;
        long long v = strtoll(next, &end, 0);
        if (end == next || *end != '\0')
          return fail("Error: session-expiry-interval not a number.\n\n");
        if (v > int64_t(UINT32_MAX) || v < -1)
          return fail("Error: session-expiry-interval out of range.\n\n");
        cfg.session_expiry = v == -1 ? int64_t(UINT32_MAX) : v;
      }
      cfg.version = codec::ProtocolVersion::kV5;  // 2.1: -x implies MQTT 5
      i++;
    } else if (is(a, "-w", "--watch")) {
      if (!sub) return unknown();
      cfg.watch = true;
    } else if (is(a, "--message-rate")) {
      if (!sub) return unknown();
      cfg.message_rate = true;
    } else if (is(a, "--latency")) {
      if (!rr) return unknown();
      cfg.latency = true;
      cfg.nodelay = true;
    } else if (mq_extras && is(a, "--json")) {
      if (!sub) return unknown();
      cfg.json_lines = true;
    } else if (mq_extras && is(a, "--pw-env")) {
      if (last) return fail("Error: --pw-env argument given but no variable name specified.\n\n");
      cfg.pw_env = next;
      i++;
    } else if (mq_extras && is(a, "--pw-file")) {
      if (last) return fail("Error: --pw-file argument given but no file specified.\n\n");
      cfg.pw_file = next;
      i++;
    } else {
      return unknown();
    }
  }
  return ParseResult{};
}

const char* tool_name(Tool tool) {
  switch (tool) {
    case Tool::kPub: return "mosquitto_pub";
    case Tool::kSub: return "mosquitto_sub";
    case Tool::kRr: return "mosquitto_rr";
  }
  return "mosquitto";
}

}  // namespace mq::client
