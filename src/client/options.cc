// Mosquitto's client option parser: walks argv and does what the option table says for each
// option (option_table.cc), with Mosquitto's messages. The order of checks within an option
// follows client_config_line_proc (see OptionSpec), so the same command line fails with the same
// text.
#include "client/options.h"

#include <string>

#include "client/option_table.h"

namespace mq::client {

namespace {

ParseResult fail(std::string text) {
  return ParseResult{ParseStatus::kError, std::move(text), true};
}

}  // namespace

ParseResult parse_args(ClientConfig& cfg, std::span<char* const> args, bool mq_extras) {
  const size_t n = args.size();
  for (size_t i = 1; i < n; i++) {
    const char* a = args[i];
    const OptionSpec* o = find_option(a, cfg.tool, mq_extras);
    if (!o) return fail(std::string("Error: Unknown option '") + a + "'.\n");
    if (o->stops != ParseStatus::kOk) return ParseResult{o->stops, "", false};
    if (o->arg == ArgKind::kProperty) {
      i++;
      std::string err = apply_property(cfg, args, &i);
      if (!err.empty()) return fail(err);
      cfg.version = codec::ProtocolVersion::kV5;
      continue;
    }
    if (o->before)
      if (std::string err = o->before(cfg); !err.empty()) return fail(err);
    const char* value = nullptr;
    if (o->arg != ArgKind::kNone) {
      if (i == n - 1) return fail(missing_argument_text(*o));
      value = args[++i];
    }
    if (o->text) cfg.*o->text = value;
    if (o->flag) cfg.*o->flag = o->flag_value;
    if (o->handler)
      if (std::string err = o->handler(cfg, value); !err.empty()) return fail(err);
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
