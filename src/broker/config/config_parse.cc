// The mosquitto.conf line parser: tokenizer, value helpers, file/include_dir handling and the
// option dispatch. Option handlers live in config_options.cc (general, security, logging,
// listener) and config_bridge.cc (bridges). Messages follow Mosquitto 2.0.11's wording.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <fstream>
#include <sstream>

#include "broker/config/config_parser.h"

namespace mq::broker::detail {

std::optional<std::string_view> LineTokens::next() {
  while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
  if (pos_ >= line_.size()) return std::nullopt;
  size_t end = line_.find(' ', pos_);
  std::string_view tok;
  if (end == std::string_view::npos) {
    tok = line_.substr(pos_);
    pos_ = line_.size();
  } else {
    tok = line_.substr(pos_, end - pos_);
    pos_ = end + 1;  // strtok_r overwrites only the first delimiter
  }
  return tok;
}

std::optional<std::string_view> LineTokens::rest() {
  if (pos_ >= line_.size()) return std::nullopt;
  std::string_view r = line_.substr(pos_);
  pos_ = line_.size();
  return r;
}

long long parse_atoi(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  long long v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v < (LLONG_MAX - 9) / 10) v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

std::string_view trim_blanks(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// Mosquitto's mosquitto_validate_utf8: well-formed, no surrogates, no non-characters
// U+xFFFE/U+xFFFF, and no control characters (U+0000..U+001F, U+007F..U+009F).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else
      return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
      return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if ((cp & 0xFFFF) >= 0xFFFE) return false;
    if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F)) return false;
    i += len;
  }
  return true;
}

bool valid_publish_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > 65535) return false;
  return topic.find_first_of("+#") == std::string_view::npos;
}

Error config_error(std::string message) {
  return make_error(ErrorKind::kConfig, "Error: " + std::move(message));
}

// ---- value helpers ----

Status ConfigParser::parse_bool(LineTokens& t, std::string_view name, bool* value) {
  auto tok = t.next();
  if (!tok) return config_error("Empty " + std::string(name) + " value in configuration.");
  if (*tok == "true" || *tok == "1") {
    *value = true;
  } else if (*tok == "false" || *tok == "0") {
    *value = false;
  } else {
    return config_error("Invalid " + std::string(name) + " value (" + std::string(*tok) + ").");
  }
  return {};
}

Status ConfigParser::parse_int(LineTokens& t, std::string_view name, long long* value) {
  auto tok = t.next();
  if (!tok) return config_error("Empty " + std::string(name) + " value in configuration.");
  long long v = parse_atoi(*tok);
  // atoi() returns an int; keep values that would not fit from wrapping into range checks.
  *value = std::clamp<long long>(v, INT_MIN, INT_MAX);
  return {};
}

Status ConfigParser::parse_string(LineTokens& t, std::string_view name, std::string* value) {
  auto rest = t.rest();
  if (!rest) return config_error("Empty " + std::string(name) + " value in configuration.");
  if (!value->empty()) {
    return config_error("Duplicate " + std::string(name) + " value in configuration.");
  }
  std::string_view v = trim_blanks(*rest);
  if (v.empty()) return config_error("Empty " + std::string(name) + " value in configuration.");
  if (v.size() > 65535) return config_error("Invalid " + std::string(name) + " value (too long).");
  if (!valid_utf8(v)) return config_error("Malformed UTF-8 in configuration.");
  *value = std::string(v);
  return {};
}

Status ConfigParser::parse_global_string(LineTokens& t, std::string_view name, std::string* value) {
  std::string fresh;
  if (seen_strings_.count(name) != 0) fresh = "x";  // makes parse_string report the duplicate
  Status st = parse_string(t, name, &fresh);
  if (!st) return st;
  seen_strings_.emplace(name);
  *value = std::move(fresh);
  return {};
}

// ---- files ----

namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> read_file(const std::string& path) {
  if (is_directory(path)) return config_error("Config file " + path + " is a directory.");
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error("Unable to open config file " + path + ".");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// include_dir order (conf_includedir.c scmp_p): compare letters case-insensitively first; at
// the first position where they differ only in case, the upper-case letter sorts first.
bool include_order(const std::string& a, const std::string& b) {
  size_t i = 0;
  for (; i < a.size() && i < b.size(); ++i) {
    int ua = std::toupper(static_cast<unsigned char>(a[i]));
    int ub = std::toupper(static_cast<unsigned char>(b[i]));
    if (ua != ub) return ua < ub;
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

}  // namespace

Status ConfigParser::include_dir(LineTokens& t, int level) {
  if (level != 0) return {};  // only the main file may include (Mosquitto ignores it silently)
  auto rest = t.rest();
  if (!rest) return config_error("Empty include_dir value in configuration.");
  std::string dir(*rest);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return config_error("Unable to open include_dir '" + dir + "'.");
  std::vector<std::string> files;
  while (const dirent* de = ::readdir(d)) {
    std::string_view n(de->d_name);
    if (n.size() > 5 && n.substr(n.size() - 5) == ".conf")
      files.push_back(dir + "/" + std::string(n));
  }
  ::closedir(d);
  std::sort(files.begin(), files.end(), include_order);

  const std::string saved_file = file_;
  const int saved_line = line_;
  for (const std::string& path : files) {
    note(kLogInformation, "Loading config file " + path);
    Result<std::string> text = read_file(path);
    if (!text) return text.error();
    int err_line = 0;
    Status st = parse_text(*text, path, level + 1, &err_line);
    file_ = saved_file;
    line_ = saved_line;
    if (!st) {
      Error e = st.error();
      if (err_line > 0)
        e.context += "\nError found at " + path + ":" + std::to_string(err_line) + ".";
      return e;
    }
  }
  return {};
}

Status ConfigParser::parse_text(std::string_view text, std::string_view name, int level,
                                int* error_line) {
  file_ = std::string(name);
  line_ = 0;
  *error_line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw =
        nl == std::string_view::npos ? text.substr(pos) : text.substr(pos, nl + 1 - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_;
    // Comments only when '#' is the very first character; blank lines skipped.
    if (raw.empty() || raw[0] == '#' || raw[0] == '\n' || raw[0] == '\r') continue;
    while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
    const int this_line = line_;
    const std::string this_file = file_;
    Status st = parse_line(raw, level);
    if (!st) {
      *error_line = this_line;
      return st;
    }
    file_ = this_file;
    line_ = this_line;
  }
  return {};
}

Status ConfigParser::parse_line(std::string_view line, int level) {
  LineTokens t(line);
  auto key = t.next();
  if (!key) return {};  // only spaces
  if (auto st = general_option(*key, t, level)) return std::move(*st);
  if (auto st = security_option(*key, t)) return std::move(*st);
  if (auto st = logging_option(*key, t)) return std::move(*st);
  if (auto st = listener_option(*key, t)) return std::move(*st);
  if (auto st = bridge_option(*key, t)) return std::move(*st);
  return config_error("Unknown configuration variable \"" + std::string(*key) + "\".");
}

// ---- listeners ----

ListenerConfig& ConfigParser::cur_listener() {
  if (cur_listener_ >= 0) return config_.listeners[size_t(cur_listener_)];
  if (default_listener_.where.line == 0) default_listener_.where = where();
  return default_listener_;
}

SecurityOptions& ConfigParser::cur_security() {
  security_touched_ = true;  // conf__set_cur_security_options was called
  return config_.per_listener_settings ? cur_listener().security : config_.security;
}

PluginConfig* ConfigParser::cur_plugin() {
  if (plugin_owner_ == kNoPlugin) return nullptr;
  SecurityOptions& s = plugin_owner_ == kGlobalPlugin ? config_.security
                       : plugin_owner_ == -1          ? default_listener_.security
                                             : config_.listeners[size_t(plugin_owner_)].security;
  return &s.plugins.at(plugin_index_);
}

Status ConfigParser::listener_line(LineTokens& t) {
  config_.local_only = false;
  auto tok = t.next();
  if (!tok) return config_error("Empty listener value in configuration.");
  long long port = parse_atoi(*tok);
  if (port < 0 || port > 65535) {
    return config_error("Invalid port value (" + std::to_string(port) + ").");
  }
  auto addr = t.next();
  if (addr && !addr->empty() && (*addr)[0] == '#') addr.reset();
  if (port == 0 && !addr)
    return config_error("A listener with port 0 must provide a Unix socket path.");
  ListenerConfig l;
  l.port = uint16_t(port);
  l.where = where();
  if (addr) {
    if (port == 0) {
      l.unix_socket_path = std::string(*addr);
      config_.feature_uses.push_back(
          {Feature::kUnixSocket, "listener 0 " + l.unix_socket_path, where()});
    } else {
      l.host = std::string(*addr);
    }
  }
  config_.listeners.push_back(std::move(l));
  cur_listener_ = int(config_.listeners.size()) - 1;
  return {};
}

// Mosquitto (config__parse_args) creates the default listener when any of these was set.
bool ConfigParser::default_listener_used() const {
  const ListenerConfig& d = default_listener_;
  return !d.bind_interface.empty() || !d.cafile.empty() || !d.capath.empty() ||
         !d.certfile.empty() || !d.keyfile.empty() || !d.tls_engine.empty() ||
         d.tls_keyform != TlsKeyform::kPem || !d.tls_engine_kpass_sha1.empty() ||
         !d.ciphers.empty() || !d.ciphers_tls13.empty() || !d.dhparamfile.empty() ||
         !d.psk_hint.empty() || d.require_certificate || !d.crlfile.empty() ||
         d.use_identity_as_username || d.use_subject_as_username || d.use_username_as_clientid ||
         !d.host.empty() || d.port != 0 || d.max_connections != -1 || d.max_qos != 2 ||
         !d.mount_point.empty() || d.protocol != ListenerProtocol::kMqtt ||
         d.socket_domain != SocketDomain::kAny || !d.security.password_file.empty() ||
         !d.security.psk_file.empty() || !d.security.plugins.empty() ||
         !d.security.allow_zero_length_clientid;
}

}  // namespace mq::broker::detail
