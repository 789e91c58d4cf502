// The one declaration of every option of pub, sub and rr: names, value, the tools that take it,
// its `mq help` group and line, its paragraph in Mosquitto's usage text, and what the parser does
// with it (a config field or a small handler). The parser (options.cc), `mq help`
// (options_help.cc) and the usage text (usage.cc) are all generated from it, and so can man pages
// and shell completion be. Constant data only; safe to read from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "client/config.h"
#include "client/options.h"

namespace mq::client {

// A set of tools, as bits.
enum class ToolSet : uint8_t {
  kNone = 0, kPub = 1, kSub = 2, kRr = 4, kPubRr = 5, kSubRr = 6, kAll = 7,
};

constexpr ToolSet operator|(ToolSet a, ToolSet b) { return ToolSet(uint8_t(a) | uint8_t(b)); }
constexpr ToolSet tool_bit(Tool t) { return ToolSet(1u << uint8_t(t)); }
constexpr bool has_tool(ToolSet set, Tool t) { return (uint8_t(set) & uint8_t(tool_bit(t))) != 0; }

// The `mq help` sections (cxxopts prints them sorted by name; rows keep table order within one).
enum class Group : uint8_t {
  kConnection, kAuth, kWill, kTls, kWebSockets, kMessage, kRequest, kSubscription, kOutput,
  kInfo,  // --help, --version: not listed by `mq help` (the dispatcher answers them)
};
const char* group_name(Group g);  // "connection"

// What follows the option on the command line.
enum class ArgKind : uint8_t {
  kNone,
  kString,
  kInt,       // read with strtol, as Mosquitto's atoi
  kDecimal,   // read with atof
  kProperty,  // -D: command identifier value (a user property takes one more word)
};

// A text for the tools in `tools`.
struct TextVariant {
  ToolSet tools = ToolSet::kNone;
  const char* text = nullptr;
};

// A text that may differ between the tools. Each variant names the tools it is for; a tool no
// variant names has no text (Mosquitto's usage of that tool has no paragraph for the option).
struct ToolText {
  TextVariant variants[3] = {};

  constexpr ToolText() = default;
  constexpr ToolText(const char* all) : variants{{ToolSet::kAll, all}} {}  // NOLINT: implicit
  constexpr ToolText(TextVariant a, TextVariant b = {}, TextVariant c = {}) : variants{a, b, c} {}
  // nullptr when the tool has no text.
  constexpr const char* for_tool(Tool t) const {
    for (const TextVariant& v : variants)
      if (v.text && has_tool(v.tools, t)) return v.text;
    return nullptr;
  }
};

// Run when the option is seen. `value` is its argument (nullptr for options without one). Returns
// the error text, exactly as Mosquitto prints it, or "".
using OptionHandler = std::string (*)(ClientConfig& cfg, const char* value);
// Checks Mosquitto makes before it looks for the argument (so they win over "no X specified").
using OptionCheck = std::string (*)(ClientConfig& cfg);

// One row of the table. An option whose `mq help` line or group differs between the tools has one
// row per variant, with disjoint tool sets (-t and -q); the parsing fields of such rows agree.
struct OptionSpec {
  char short_name = 0;              // 'h' for -h; 0 when none
  const char* long_name = nullptr;  // "host" for --host; nullptr when none
  ToolSet tools = ToolSet::kAll;    // tools that accept it
  bool mq_only = false;             // accepted only when started under an `mq` name
  Group group = Group::kConnection;
  ArgKind arg = ArgKind::kNone;
  const char* metavar = nullptr;  // what the argument is ("host"), as in Mosquitto's synopsis
  const char* help = nullptr;     // the one-line `mq help` description
  // Mosquitto's usage paragraph (lines joined by '\n', no final newline); "{tool}" stands for
  // the tool's name (mosquitto_pub).
  ToolText usage = {};

  // Parsing. In this order: `before`, the argument (missing: the error text below), `text`,
  // `flag`, `handler`.
  // The noun in "Error: -A argument given but no address specified.", or, when Mosquitto words
  // it differently, the whole text (it then starts with "Error:").
  const char* missing = nullptr;
  OptionCheck before = nullptr;
  std::string ClientConfig::* text = nullptr;  // stores the argument
  bool ClientConfig::* flag = nullptr;         // set to flag_value
  bool flag_value = true;
  OptionHandler handler = nullptr;
  ParseStatus stops = ParseStatus::kOk;  // --help, --version: parsing ends with this status
};

// The whole table, grouped as `mq help` shows it.
std::span<const OptionSpec> client_options();

// The row for `name` ("-h", "--host") that applies to the tool, or nullptr. Options only `mq`
// has are found only when mq_names.
const OptionSpec* find_option(std::string_view name, Tool tool, bool mq_names);

// Whether the row applies to the tool (under Mosquitto names unless mq_names).
constexpr bool applies_to(const OptionSpec& o, Tool tool, bool mq_names) {
  return has_tool(o.tools, tool) && (mq_names || !o.mq_only);
}

// The name Mosquitto's texts use for the option: "-h" when it has a short name, else "--cafile".
std::string primary_name(const OptionSpec& o);

// The error text for a missing argument.
std::string missing_argument_text(const OptionSpec& o);

}  // namespace mq::client
