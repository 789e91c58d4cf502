#include "broker/auth/acl.h"

#include "base/file.h"
#include "base/log.h"
#include "base/text.h"

namespace mq::broker {

namespace {

// Splits the next level off `*rest`; `*done` when it was the last one.
std::string_view next_level(std::string_view* rest, bool* done) {
  size_t slash = rest->find('/');
  std::string_view level = rest->substr(0, slash);
  *done = slash == std::string_view::npos;
  *rest = *done ? std::string_view() : rest->substr(slash + 1);
  return level;
}

// Mosquitto's mosquitto_sub_topic_check: wildcards fill whole levels, '#' only last.
bool valid_acl_filter(std::string_view f) {
  if (f.size() > 65535) return false;
  for (size_t i = 0; i < f.size(); i++) {
    if (f[i] != '+' && f[i] != '#') continue;
    bool start = i == 0 || f[i - 1] == '/';
    bool end = i + 1 == f.size() || f[i + 1] == '/';
    if (!start || (f[i] == '+' && !end) || (f[i] == '#' && i + 1 != f.size())) return false;
  }
  return true;
}

// Counts "%c" / "%u" the way 2.0 scans them (used for the warning and to skip %u patterns).
bool contains_marker(std::string_view f, char which) {
  for (size_t i = 0; i + 1 < f.size(); i++) {
    if (f[i] == '%' && f[i + 1] == which) return true;
  }
  return false;
}

// 2.0 substitution: every %c and %u anywhere in the filter, scanning left to right.
void substitute(std::string_view filter, const AclClient& client, std::string* out) {
  out->clear();
  for (size_t i = 0; i < filter.size(); i++) {
    if (filter[i] == '%' && i + 1 < filter.size()) {
      if (filter[i + 1] == 'c') {
        out->append(client.client_id);
        i++;
        continue;
      }
      if (filter[i + 1] == 'u' && client.username) {
        out->append(*client.username);
        i++;
        continue;
      }
    }
    *out += filter[i];
  }
}

}  // namespace

bool acl_filter_matches(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty()) return false;
  if ((filter[0] == '$') != (topic[0] == '$')) return false;
  for (;;) {
    bool filter_done = false;
    bool topic_done = false;
    std::string_view fl = next_level(&filter, &filter_done);
    if (fl == "#") return true;
    std::string_view tl = next_level(&topic, &topic_done);
    if (fl != "+" && fl != tl) return false;
    if (filter_done || topic_done) {
      if (filter_done) return topic_done;
      return filter == "#";  // `a/#` also matches `a`
    }
  }
}

bool acl_filter_covers(std::string_view filter, std::string_view subscription) {
  if (filter.empty() || subscription.empty()) return false;
  if ((filter[0] == '$') != (subscription[0] == '$')) return false;
  for (;;) {
    bool filter_done = false;
    bool sub_done = false;
    std::string_view fl = next_level(&filter, &filter_done);
    if (fl == "#") return true;
    std::string_view sl = next_level(&subscription, &sub_done);
    if (sl == "#") return false;  // matches this level's parent and any depth: needs a '#'
    if (fl != "+" && fl != sl) return false;  // a literal covers only itself (not '+')
    if (filter_done || sub_done) {
      if (filter_done) return sub_done;
      return filter == "#";
    }
  }
}

Result<std::shared_ptr<const AclFile>> AclFile::load(const std::string& path, AclOptions options) {
  auto fail = [&] {
    return make_error(ErrorKind::kIo, "Error: Unable to open acl_file \"" + path + "\".");
  };
  std::string text;
  if (!read_file(path, &text)) return fail();
  return parse(text, path, options);
}

Result<std::shared_ptr<const AclFile>> AclFile::parse(std::string_view content,
                                                      std::string_view path, AclOptions options) {
  std::shared_ptr<AclFile> acl(new AclFile());
  acl->options_ = options;
  const std::string where(path);
  size_t line_no = 0;
  // Mosquitto's message, then (beyond Mosquitto, which names no line) where it is, in the
  // format of its configuration errors.
  auto error = [&](const std::string& what) {
    return make_error(ErrorKind::kConfig, "Error: " + what + "\nError found at " + where + ":" +
                                              std::to_string(line_no) + ".");
  };
  std::optional<std::string> user;  // nullopt: still in the anonymous section
  while (!content.empty()) {
    line_no++;
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl == std::string_view::npos ? content.size() : nl + 1);
    while (!line.empty() && is_c_space(line.back())) line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;

    // Tokens are separated by spaces only (strtok " "); TABs belong to a token.
    size_t kw_start = line.find_first_not_of(' ');
    if (kw_start == std::string_view::npos) continue;
    size_t kw_end = std::min(line.find(' ', kw_start), line.size());
    std::string_view keyword = line.substr(kw_start, kw_end - kw_start);
    std::string_view after = kw_end < line.size() ? line.substr(kw_end + 1) : std::string_view();

    if (keyword == "topic" || keyword == "pattern") {
      size_t a_start = after.find_first_not_of(' ');
      if (a_start == std::string_view::npos) {
        return error("Empty topic in acl_file \"" + where + "\".");
      }
      size_t a_end = std::min(after.find(' ', a_start), after.size());
      std::string_view access_word = after.substr(a_start, a_end - a_start);
      std::string_view topic;
      uint8_t access = uint8_t(AclAccess::kRead) | uint8_t(AclAccess::kWrite);
      if (a_end < after.size()) {
        topic = trim_c_space(after.substr(a_end + 1));
        if (access_word == "read") {
          access = uint8_t(AclAccess::kRead);
        } else if (access_word == "write") {
          access = uint8_t(AclAccess::kWrite);
        } else if (access_word == "deny") {
          access = 0;
        } else if (access_word != "readwrite") {
          return error("Invalid topic access type \"" + std::string(access_word) +
                       "\" in acl_file \"" + where + "\".");
        }
      } else {
        topic = access_word;  // `topic foo`: no access word, readwrite
      }
      if (!valid_acl_filter(topic)) {
        return error("Invalid ACL topic \"" + std::string(topic) + "\" in acl_file \"" + where +
                     "\".");
      }
      Rule rule{std::string(topic), access, false};
      if (keyword == "topic") {
        if (!user && !acl->anonymous_) acl->anonymous_.emplace();
        add(user ? &acl->users_[*user] : &*acl->anonymous_, std::move(rule));
      } else {
        rule.uses_username = contains_marker(topic, 'u');
        if (!rule.uses_username && !contains_marker(topic, 'c')) {
          MQ_LOG(kLogWarning, "Warning: ACL pattern '%.*s' does not contain '%%c' or '%%u'.",
                 int(topic.size()), topic.data());
        }
        add(&acl->patterns_, std::move(rule));
      }
    } else if (keyword == "user") {
      std::string_view name = trim_c_space(after);
      if (name.empty()) return error("Missing username in acl_file \"" + where + "\".");
      user = std::string(name);
    } else {
      return error("Invalid line in acl_file \"" + where +
                   "\": " + std::string(line.substr(0, kw_end)) + ".");
    }
  }
  return std::shared_ptr<const AclFile>(std::move(acl));
}

void AclFile::add(RuleList* list, Rule rule) {
  if (rule.access == 0) {
    list->insert(list->begin(), std::move(rule));
  } else {
    list->push_back(std::move(rule));
  }
}

bool AclFile::check(const AclClient& client, std::string_view topic, AclAccess access) const {
  switch (access) {
    case AclAccess::kUnsubscribe:
      return true;
    case AclAccess::kSubscribe: {
      if (!options_.subscribe_check)
        return true;  // Mosquitto: "FIXME - implement ACL subscription strings"
      std::string_view filter = topic;
      if (filter.substr(0, 7) == "$share/") {
        size_t slash = filter.find('/', 7);
        if (slash == std::string_view::npos) return false;
        filter.remove_prefix(slash + 1);
      }
      return check_topic(client, filter, uint8_t(AclAccess::kRead), /*covers=*/true);
    }
    case AclAccess::kRead:
    case AclAccess::kWrite:
      return check_topic(client, topic, uint8_t(access), /*covers=*/false);
  }
  return false;
}

bool AclFile::check_topic(const AclClient& client, std::string_view topic, uint8_t want,
                          bool covers) const {
  auto matches = [covers](std::string_view filter, std::string_view t) {
    return covers ? acl_filter_covers(filter, t) : acl_filter_matches(filter, t);
  };
  const RuleList* own = nullptr;
  if (client.username) {
    auto it = users_.find(*client.username);
    if (it != users_.end()) own = &it->second;
  } else if (anonymous_) {
    own = &*anonymous_;
  }
  if (own != nullptr) {
    for (const Rule& r : *own) {
      if (!matches(r.filter, topic)) continue;
      if (r.access == 0) return false;
      if (r.access & want) return true;
    }
  }
  if (patterns_.empty()) return false;
  // Without this a client could pick an id like "#" to widen `clients/%c/...` patterns.
  if (client.username && client.username->find_first_of("+#") != std::string_view::npos) {
    MQ_LOG(kLogNotice, "ACL denying access to client with dangerous username \"%.*s\"",
           int(client.username->size()), client.username->data());
    return false;
  }
  if (client.client_id.find_first_of("+#") != std::string_view::npos) {
    MQ_LOG(kLogNotice, "ACL denying access to client with dangerous client id \"%.*s\"",
           int(client.client_id.size()), client.client_id.data());
    return false;
  }
  thread_local std::string filter;  // reused: no allocation per check once warm
  for (const Rule& r : patterns_) {
    if (r.uses_username && !client.username) continue;
    substitute(r.filter, client, &filter);
    if (!matches(filter, topic)) continue;
    if (r.access == 0) return false;
    if (r.access & want) return true;
  }
  return false;
}

bool acl_dollar_allowed(std::string_view topic, AclAccess access) {
  if (topic.empty() || topic[0] != '$') return true;
  if (topic.substr(0, 4) == "$SYS") {
    if (access != AclAccess::kWrite) return true;
    return acl_filter_matches("$SYS/broker/connection/+/state", topic);
  }
  if (topic.substr(0, 6) == "$share") {
    return access == AclAccess::kSubscribe || access == AclAccess::kUnsubscribe;
  }
  return true;
}

bool acl_allows(const AclFile* acl, const AclClient& client, std::string_view topic,
                AclAccess access) {
  if (!acl_dollar_allowed(topic, access)) return false;
  return acl == nullptr || acl->check(client, topic, access);
}

}  // namespace mq::broker
