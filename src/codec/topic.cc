#include "codec/topic.h"

#include "codec/utf8.h"

namespace mq::codec {

namespace {

constexpr std::string_view kSharePrefix = "$share/";

bool valid_length(std::string_view s) {
  return !s.empty() && s.size() <= 0xFFFF;
}

}  // namespace

bool valid_topic_name(std::string_view topic) {
  if (!valid_length(topic)) return false;                                 // [MQTT-4.7.3-1]
  if (has_wildcard(topic)) return false;  // [MQTT-3.3.2-2]
  return valid_utf8(topic);
}

bool valid_topic_filter(std::string_view filter) {
  if (!valid_length(filter)) return false;  // [MQTT-4.7.3-1]
  size_t n = filter.size();
  for (size_t i = 0; i < n; ++i) {
    char c = filter[i];
    if (c != '+' && c != '#') continue;
    bool level_start = i == 0 || filter[i - 1] == '/';
    bool level_end = i + 1 == n || filter[i + 1] == '/';
    if (!level_start || !level_end) return false;  // [MQTT-4.7.1-2] wildcard fills its level
    if (c == '#' && i + 1 != n) return false;      // [MQTT-4.7.1-1] `#` is the last level
  }
  return valid_utf8(filter);
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty()) return false;
  if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;  // [MQTT-4.7.2-1]
  size_t fi = 0;
  size_t ti = 0;
  for (;;) {
    size_t fe = filter.find('/', fi);
    if (fe == std::string_view::npos) fe = filter.size();
    size_t te = topic.find('/', ti);
    if (te == std::string_view::npos) te = topic.size();
    std::string_view flevel = filter.substr(fi, fe - fi);
    if (flevel == "#") return true;  // the rest of the topic, however long
    if (flevel != "+" && flevel != topic.substr(ti, te - ti)) return false;
    bool filter_done = fe == filter.size();
    bool topic_done = te == topic.size();
    if (filter_done) return topic_done;
    // `sport/#` matches `sport`: the parent level is included [section 4.7.1.2].
    if (topic_done) return filter.substr(fe) == "/#";
    fi = fe + 1;
    ti = te + 1;
  }
}

Result<std::optional<SharedSubscription>> parse_shared(std::string_view filter) {
  if (filter.substr(0, kSharePrefix.size()) != kSharePrefix) {
    return std::optional<SharedSubscription>();
  }
  auto bad = [](const char* why) {
    return make_error(ErrorKind::kProtocol, std::string("shared subscription: ") + why, 0x8F);
  };
  std::string_view rest = filter.substr(kSharePrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no '/' after the share name");
  std::string_view group = rest.substr(0, slash);
  std::string_view inner = rest.substr(slash + 1);
  if (group.empty()) return bad("empty share name");  // [MQTT-4.8.2-1]
  if (group.find_first_of("+#") != std::string_view::npos) {
    return bad("wildcard in share name");  // [MQTT-4.8.2-2]
  }
  if (inner.empty()) return bad("empty topic filter");
  if (!valid_topic_filter(inner)) return bad("invalid topic filter");
  return std::optional<SharedSubscription>(SharedSubscription{group, inner});
}

}  // namespace mq::codec
