// Topic names, topic filters and shared subscriptions (sections 4.7 and 4.8): validation,
// matching a filter against a name, and splitting `$share/{group}/{filter}`.
// Views returned point into the caller's string. Pure functions; safe on any thread.
// Rule IDs are MQTT 5.0's (3.1.1 numbers section 4.7 differently).
#pragma once

#include <optional>
#include <string_view>

#include "base/result.h"

namespace mq::codec {

// True when the topic contains `+` or `#`. A plain loop: find_first_of("+#") calls memchr
// once per character, which showed up on the per-message path.
inline bool has_wildcard(std::string_view topic) {
  for (char c : topic) {
    if (c == '+' || c == '#') return true;
  }
  return false;
}

// A topic name a PUBLISH may carry: 1..65535 bytes of valid UTF-8 without `+` or `#`
// [MQTT-4.7.3-1] [MQTT-3.3.2-2] [MQTT-4.7.1-1].
bool valid_topic_name(std::string_view topic);

// A topic filter: 1..65535 bytes of valid UTF-8 where `+` fills a whole level [MQTT-4.7.1-2] and
// `#` fills the whole last level [MQTT-4.7.1-1]. Does not check the `$share/` syntax: see
// parse_shared.
bool valid_topic_filter(std::string_view filter);

// True when the topic name matches the (non-shared) topic filter. Topics starting with `$` are
// not matched by filters starting with `+` or `#` [MQTT-4.7.2-1]. `a/#` also matches `a`.
// Iterative: any number of levels is fine.
bool topic_matches(std::string_view filter, std::string_view topic);

struct SharedSubscription {
  std::string_view group;   // the ShareName: at least one character, no `/`, `+` or `#`
  std::string_view filter;  // the topic filter after the group, valid and non-empty
  bool operator==(const SharedSubscription&) const = default;
};

// Splits `$share/{group}/{filter}` [MQTT-4.8.2-1] [MQTT-4.8.2-2].
// Returns nullopt when the filter does not start with `$share/` (not shared), an error
// (kProtocol, reason 0x8F Topic Filter invalid) when it does but is malformed: `$share/ab`,
// `$share//t`, `$share/a+b/t`, `$share/g/`.
[[nodiscard]] Result<std::optional<SharedSubscription>> parse_shared(std::string_view filter);

}  // namespace mq::codec
