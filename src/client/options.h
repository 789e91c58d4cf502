// The command line of mosquitto_pub / mosquitto_sub / mosquitto_rr (2.0, plus the 2.1 additions
// -o, --no-tls, --retain-handling, --latency, -x implying MQTT 5): the options file, argv, -L
// URLs, -D properties and the checks between options, with Mosquitto's error texts. Errors are
// returned as text (exactly what Mosquitto prints on stderr) for the caller to print, so the
// parser is testable without a process. Also the usage text and the option declarations for
// `mq help`, both generated from the option table.
// Pure apart from reading the options file and the environment; single-threaded use.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "client/config.h"

namespace cxxopts {
class Options;
}

namespace mq::client {

enum class ParseStatus : uint8_t {
  kOk,
  kError,    // print `error`, then "\nUse '<tool> --help' to see usage.\n" when usage_hint
  kHelp,     // --help
  kVersion,  // --version
};

struct ParseResult {
  ParseStatus status = ParseStatus::kOk;
  std::string error;       // text for stderr, with its newlines
  bool usage_hint = true;  // follow the error with the "--help" hint
};

// Parses one group of arguments into cfg (args[0] is skipped, as argv[0] is), as the option
// table (option_table.h) says. `mq_extras` enables the options only `mq` has (--json, --pw-env,
// --pw-file).
ParseResult parse_args(ClientConfig& cfg, std::span<char* const> args, bool mq_extras);

// The whole of Mosquitto's client_config_load: defaults for the tool, the options file (-o FILE,
// else $XDG_CONFIG_HOME/mosquitto_<tool>, else $HOME/.config/mosquitto_<tool>), then argv, then
// the checks between options.
ParseResult load_config(ClientConfig& cfg, Tool tool, int argc, char** argv, bool mq_extras);

// Checks run after all options are in (will, TLS pairs, -c/-x and client id, sub topics).
ParseResult finish_config(ClientConfig& cfg);

// Parses `-L` URLs: mqtt://[user[:pass]@]host[:port]/topic, mqtts://... Sets host, port,
// username, password and adds the topic. Returns error text or "".
std::string apply_url(ClientConfig& cfg, std::string_view url);

// Parses one `-D command property value` (or `... user-property key value`) starting at
// args[*i] (the command name); advances *i to the last argument consumed.
std::string apply_property(ClientConfig& cfg, std::span<char* const> args, size_t* i);

// Mosquitto's usage text for the tool (print_usage writes it to stdout), and the version line.
std::string usage_text(Tool tool);
void print_usage(Tool tool);
void print_version(Tool tool);
const char* tool_name(Tool tool);  // "mosquitto_pub"

// Declarations for `mq help pub|sub|rr`.
void add_cxxopts(cxxopts::Options& options, Tool tool);

}  // namespace mq::client
