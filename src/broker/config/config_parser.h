// Internal to the mosquitto.conf reader: the line tokenizer and the parser state shared by
// config_parse.cc (files, general and listener options) and config_bridge.cc (bridge options).
// Tokens follow Mosquitto's strtok_r(" ") rules: only the space character separates.
// One ConfigParser parses one configuration on one thread; it writes into the Config it is given.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "broker/config/config.h"

namespace mq::broker::detail {

// Splits one line the way Mosquitto does.
class LineTokens {
 public:
  explicit LineTokens(std::string_view line) : line_(line) {}

  // The next space-separated token (runs of spaces skipped); nullopt at the end of the line.
  std::optional<std::string_view> next();
  // Everything after the delimiter that ended the previous token (strtok_r(NULL, "")),
  // untrimmed; nullopt when nothing is left.
  std::optional<std::string_view> rest();

 private:
  std::string_view line_;
  size_t pos_ = 0;
};

// atoi(): leading white space, optional sign, digits; stops at the first other character;
// saturates instead of overflowing.
long long parse_atoi(std::string_view s);

// Trims spaces, tabs, CR and LF at both ends (misc__trimblanks).
std::string_view trim_blanks(std::string_view s);

// A topic name usable for PUBLISH: no '+' or '#', valid UTF-8, at most 65535 bytes.
bool valid_publish_topic(std::string_view topic);

bool valid_utf8(std::string_view s);

// persistent_client_expiration: N[s|h|d|w|m|y] in seconds (defined in config.cc).
Result<int64_t> parse_expiration_value(std::string_view value);

// "Error: <message>" as a kConfig error.
Error config_error(std::string message);

class ConfigParser {
 public:
  explicit ConfigParser(Config& config) : config_(config) {}

  // Parses one file's text. level 0 is the main file (include_dir only honoured there).
  // On error *error_line holds the line of `name` where it happened (0 if none).
  Status parse_text(std::string_view text, std::string_view name, int level, int* error_line);
  // Applies defaults and checks that need the whole file (bridges, default listener, ...).
  Status finish();
  Status check_thread_count() const;

  // --- used by the option handlers ---
  Status parse_bool(LineTokens& t, std::string_view name, bool* value);
  Status parse_int(LineTokens& t, std::string_view name, long long* value);
  // A string option: rest of the line, trimmed. `*value` non-empty = duplicate.
  Status parse_string(LineTokens& t, std::string_view name, std::string* value);
  // A global string option whose field has a default: duplicates tracked by name.
  Status parse_global_string(LineTokens& t, std::string_view name, std::string* value);

  void note(uint32_t type, std::string text) { config_.notes.push_back({type, std::move(text)}); }
  void use_feature(Feature f, std::string option) {
    config_.feature_uses.push_back({f, std::move(option), where()});
  }
  SourceLocation where() const { return {file_, line_}; }

  // Returns the handled status, or nullopt when `key` is not a bridge option.
  std::optional<Status> bridge_option(std::string_view key, LineTokens& t);

 private:
  Status parse_line(std::string_view line, int level);
  std::optional<Status> general_option(std::string_view key, LineTokens& t, int level);
  std::optional<Status> listener_option(std::string_view key, LineTokens& t);
  std::optional<Status> security_option(std::string_view key, LineTokens& t);
  std::optional<Status> logging_option(std::string_view key, LineTokens& t);
  Status include_dir(LineTokens& t, int level);
  Status listener_line(LineTokens& t);
  ListenerConfig& cur_listener();
  SecurityOptions& cur_security();
  PluginConfig* cur_plugin();
  bool default_listener_used() const;
  Status finish_bridges();

  Config& config_;
  std::string file_;
  int line_ = 0;
  ListenerConfig default_listener_;
  int cur_listener_ = -1;  // index into config_.listeners; -1 = the default listener
  bool default_touched_ = false;
  bool security_touched_ = false;
  // The plugin that plugin_opt_* lines apply to: its owner (a listener index, -1 for the
  // default listener, kGlobalPlugin, or kNoPlugin) and its index in that owner's list.
  static constexpr int kNoPlugin = -3;
  static constexpr int kGlobalPlugin = -2;
  int plugin_owner_ = kNoPlugin;
  size_t plugin_index_ = 0;
  std::set<std::string, std::less<>> seen_strings_;
  uint32_t log_type_ = 0;
  bool log_type_set_ = false;
  std::vector<LogDest> log_dest_;
  bool log_dest_set_ = false;

 public:
  int cur_bridge_ = -1;  // index into config_.bridges; -1 = none yet
};

}  // namespace mq::broker::detail
