// Mosquitto's `acl_file`: parsing with its exact syntax and error messages, and the access
// decision of Mosquitto 2.0 (src/security.c acl__check_dollar, src/security_default.c
// mosquitto_acl_check_default), checked against Debian's 2.0.11 by tests/integration/test_acl_matrix.py.
//   - A client's own list is the `user <name>` block of its username, or the anonymous block
//     (topic lines before the first `user` line) when it has no username. `deny` entries come
//     first; the first matching entry decides: deny -> denied, grants the access -> allowed,
//     otherwise the search goes on.
//   - Then `pattern` lines (deny first), with %c -> client id and %u -> username substituted
//     anywhere in the filter; patterns using %u are skipped for clients without a username; a
//     username or client id containing '+' or '#' is denied as soon as patterns are consulted.
//   - Nothing matched -> denied. Filters starting with '$' only match topics starting with '$',
//     and wildcards at the start never match a '$' topic.
//   - SUBSCRIBE and UNSUBSCRIBE are always allowed, as in Mosquitto (a subscriber just never
//     receives what it may not read) -- unless the beyond-Mosquitto broker option
//     `acl_subscribe_check true` is set: then a SUBSCRIBE needs an entry granting read whose
//     filter covers every topic the subscription can match (the inner filter of
//     `$share/<group>/<filter>`), found with the same order and deny rules as a read check,
//     where "matches" means "covers". Per-message read checks still apply.
// Threading: an AclFile is immutable after parse(); share it as shared_ptr<const AclFile> and
// call check() from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mq::broker {

enum class AclAccess : uint8_t {
  kRead = 1,       // a message is delivered to the client (and retained messages on subscribe)
  kWrite = 2,      // the client publishes (also its will message)
  kSubscribe = 4,  // `topic` is the topic filter of the SUBSCRIBE
  kUnsubscribe = 8,
};

struct AclOptions {
  bool subscribe_check = false;  // the `acl_subscribe_check` broker option (see above)
};

struct AclClient {
  std::string_view client_id;
  std::optional<std::string_view> username;  // nullopt: connected without a username
};

class AclFile {
 public:
  // Reads and parses `path`. Errors (kConfig) carry Mosquitto's log line, e.g.
  // `Error: Invalid topic access type "x" in acl_file "/etc/acl".` (Mosquitto then also logs
  // `Error opening acl file "/etc/acl".`); an unreadable file:
  // `Error: Unable to open acl_file "/etc/acl".`
  [[nodiscard]] static Result<std::shared_ptr<const AclFile>> load(const std::string& path,
                                                                   AclOptions options = {});
  // Parses file text; `path` only names the file in messages. Warnings (a pattern without %c
  // or %u) are logged.
  [[nodiscard]] static Result<std::shared_ptr<const AclFile>> parse(std::string_view content,
                                                                    std::string_view path,
                                                                    AclOptions options = {});

  // The acl_file decision for one access. `topic` is a topic name for kRead and kWrite, the
  // topic filter for kSubscribe and kUnsubscribe. Does not apply the `$SYS` rules: see
  // acl_allows().
  bool check(const AclClient& client, std::string_view topic, AclAccess access) const;

 private:
  struct Rule {
    std::string filter;
    uint8_t access = 0;          // kRead | kWrite bits; 0 = deny
    bool uses_username = false;  // contains %u (patterns only)
  };
  using RuleList = std::vector<Rule>;

  AclFile() = default;
  static void add(RuleList* list, Rule rule);  // deny rules go to the front
  bool check_topic(const AclClient& client, std::string_view topic, uint8_t want,
                   bool covers) const;

  AclOptions options_;
  std::optional<RuleList> anonymous_;
  std::map<std::string, RuleList, std::less<>> users_;
  RuleList patterns_;
};

// Mosquitto's fixed rules for '$' topics (acl__check_dollar), applied with or without an ACL
// file: writes to `$SYS/...` are denied except `$SYS/broker/connection/+/state` (bridge state);
// topics starting with `$share` may only be subscribed and unsubscribed.
bool acl_dollar_allowed(std::string_view topic, AclAccess access);

// The whole decision for a client that is not a bridge (bridges bypass ACLs): the '$' rules,
// then `acl` if one is configured (nullptr: no ACL, everything else allowed).
bool acl_allows(const AclFile* acl, const AclClient& client, std::string_view topic,
                AclAccess access);

// Mosquitto's topic_matches_sub for ACL filters: `+` one level, `#` the rest (and the parent:
// `a/#` matches `a`), a '$' topic never matched by a leading wildcard.
bool acl_filter_matches(std::string_view filter, std::string_view topic);

// True when every topic `subscription` can match is also matched by `filter`.
bool acl_filter_covers(std::string_view filter, std::string_view subscription);

}  // namespace mq::broker
