#include "broker/auth/acl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/log.h"

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::broker::acl_test {
namespace {

struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    logger().set_destinations({});
    logger().set_timestamp(false);
    logger().set_capture([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~LogCapture() {
    logger().set_capture(nullptr);
    logger().set_destinations({LogDest::kStderr});
    logger().set_timestamp(true);
  }
};

std::shared_ptr<const AclFile> parse_ok(const std::string& text, AclOptions o = {}) {
  auto acl = AclFile::parse(text, "/etc/acl", o);
  EXPECT_TRUE(acl.ok()) << (acl.ok() ? "" : acl.error().context);
  return acl.ok() ? *acl : nullptr;
}

// The first line of the error: Mosquitto's message.
std::string parse_error(const std::string& text) {
  auto acl = AclFile::parse(text, "/etc/acl");
  if (acl.ok()) return "(parsed)";
  const std::string& c = acl.error().context;
  return c.substr(0, c.find('\n'));
}

// The second line: where (mq's addition).
std::string parse_error_where(const std::string& text) {
  auto acl = AclFile::parse(text, "/etc/acl");
  if (acl.ok()) return "(parsed)";
  const std::string& c = acl.error().context;
  size_t nl = c.find('\n');
  return nl == std::string::npos ? "" : c.substr(nl + 1);
}

AclClient anon(std::string_view id) {
  return {id, std::nullopt};
}
AclClient user(std::string_view id, std::string_view name) {
  return {id, name};
}

constexpr AclAccess R = AclAccess::kRead;
constexpr AclAccess W = AclAccess::kWrite;
constexpr AclAccess S = AclAccess::kSubscribe;

// Reference doc section 3.2 (plus an `admin` reader), checked against Debian's Mosquitto
// 2.0.11: every client subscribed to `#` while an anonymous client published, and these are
// the topics each one received.
const char* kExample =
    "topic write #\n"
    "user alice\n"
    "topic read foo/#\n"
    "topic deny foo/secret\n"
    "pattern readwrite clients/%c/#\n"
    "user admin\n"
    "topic read #\n";

TEST(Acl, MosquittoExampleReads) {
  auto acl = parse_ok(kExample);
  ASSERT_TRUE(acl);
  const std::vector<std::string> topics = {"foo/x",        "foo/secret",   "foo/secret/x",
                                           "clients/a1/x", "clients/b1/x", "clients/anon1/x",
                                           "x/y",          "foo"};
  auto received = [&](const AclClient& c) {
    std::vector<std::string> got;
    for (const auto& t : topics) {
      if (acl->check(c, t, R)) got.push_back(t);
    }
    return got;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(received(user("a1", "alice")), (V{"foo/x", "foo/secret/x", "clients/a1/x", "foo"}));
  EXPECT_EQ(received(user("b1", "bob")), (V{"clients/b1/x"}));
  EXPECT_EQ(received(anon("anon1")), (V{"clients/anon1/x"}));
  // A dangerous client id: its own list still applies, patterns are refused.
  EXPECT_EQ(received(user("a+b", "alice")), (V{"foo/x", "foo/secret/x", "foo"}));
  EXPECT_EQ(received(user("adm", "admin")),
            (V{"foo/x", "foo/secret", "foo/secret/x", "clients/a1/x", "clients/b1/x",
               "clients/anon1/x", "x/y", "foo"}));
}

TEST(Acl, MosquittoExampleWrites) {
  auto acl = parse_ok(kExample);
  ASSERT_TRUE(acl);
  EXPECT_TRUE(acl->check(anon("anon1"), "x/w", W));
  EXPECT_TRUE(acl->check(anon("anon1"), "foo/w", W));
  EXPECT_FALSE(acl->check(anon("anon1"), "$foo/w", W)) << "# never matches a $ topic";
  EXPECT_FALSE(acl->check(user("a1", "alice"), "foo/w", W)) << "a read entry lacks write";
  EXPECT_TRUE(acl->check(user("a1", "alice"), "clients/a1/w", W));
  EXPECT_FALSE(acl->check(user("a1", "alice"), "x/w", W));
  EXPECT_TRUE(acl->check(user("b1", "bob"), "clients/b1/w", W));
  EXPECT_FALSE(acl->check(user("b1", "bob"), "clients/a1/w", W));
  EXPECT_FALSE(acl->check(user("adm", "admin"), "x/w", W));
}

TEST(Acl, SubscribeIsAlwaysAllowedByDefault) {
  auto acl = parse_ok(kExample);
  EXPECT_TRUE(acl->check(user("b1", "bob"), "#", S));
  EXPECT_TRUE(acl->check(user("b1", "bob"), "$SYS/#", S));
  EXPECT_TRUE(acl->check(anon("x"), "foo/secret", AclAccess::kUnsubscribe));
}

TEST(Acl, SubscribeCheckNeedsACoveringReadEntry) {
  auto acl = parse_ok(kExample, AclOptions{.subscribe_check = true});
  const AclClient alice = user("a1", "alice");
  EXPECT_TRUE(acl->check(alice, "foo/#", S));
  EXPECT_TRUE(acl->check(alice, "foo/+/x", S));
  EXPECT_TRUE(acl->check(alice, "foo", S));
  EXPECT_TRUE(acl->check(alice, "clients/a1/#", S));
  EXPECT_TRUE(acl->check(alice, "$share/g/foo/bar", S));
  EXPECT_FALSE(acl->check(alice, "#", S));
  EXPECT_FALSE(acl->check(alice, "+/x", S));
  EXPECT_FALSE(acl->check(alice, "foo/secret", S)) << "covered by the deny entry";
  EXPECT_FALSE(acl->check(alice, "clients/+/x", S));
  EXPECT_FALSE(acl->check(alice, "$share/g/#", S));
  EXPECT_FALSE(acl->check(anon("anon1"), "x/y", S)) << "write-only entries do not grant it";
  EXPECT_TRUE(acl->check(user("adm", "admin"), "#", S));
  EXPECT_FALSE(acl->check(user("adm", "admin"), "$SYS/#", S));
  EXPECT_TRUE(acl->check(alice, "anything", AclAccess::kUnsubscribe));
}

TEST(Acl, DenyEntriesComeFirstWhateverTheirPosition) {
  auto acl = parse_ok("user u\ntopic readwrite a/#\ntopic deny a/b\ntopic read a/b\n");
  EXPECT_FALSE(acl->check(user("c", "u"), "a/b", R));
  EXPECT_FALSE(acl->check(user("c", "u"), "a/b", W));
  EXPECT_TRUE(acl->check(user("c", "u"), "a/c", W));
}

TEST(Acl, UserTopicAllowWinsOverPatternDeny) {
  auto acl = parse_ok("user u\ntopic read a/#\npattern deny a/%c\n");
  EXPECT_TRUE(acl->check(user("c1", "u"), "a/c1", R));
  EXPECT_FALSE(acl->check(user("c1", "v"), "a/c1", R));
}

TEST(Acl, AnonymousListAndUnknownUsers) {
  auto acl = parse_ok("topic read public/#\nuser u\ntopic read private/#\n");
  EXPECT_TRUE(acl->check(anon("c"), "public/x", R));
  EXPECT_FALSE(acl->check(anon("c"), "private/x", R));
  EXPECT_TRUE(acl->check(user("c", "u"), "private/x", R));
  EXPECT_FALSE(acl->check(user("c", "u"), "public/x", R)) << "the anonymous list is not shared";
  EXPECT_FALSE(acl->check(user("c", "nobody"), "public/x", R)) << "no own list, no patterns";
  EXPECT_FALSE(acl->check(user("c", ""), "public/x", R)) << "an empty username is a username";
}

TEST(Acl, UserBlocksMerge) {
  auto acl = parse_ok("user u\ntopic read a\nuser v\ntopic read b\nuser u\ntopic read c\n");
  EXPECT_TRUE(acl->check(user("x", "u"), "a", R));
  EXPECT_TRUE(acl->check(user("x", "u"), "c", R));
  EXPECT_FALSE(acl->check(user("x", "u"), "b", R));
}

TEST(Acl, PatternSubstitution) {
  auto acl = parse_ok(
      "pattern read users/%u/#\n"
      "pattern write dev/%c/out\n"
      "pattern read both/%u-%c\n");
  EXPECT_TRUE(acl->check(user("c1", "bob"), "users/bob/inbox", R));
  EXPECT_FALSE(acl->check(anon("c1"), "users/%u/inbox", R)) << "%u patterns skip anonymous clients";
  EXPECT_FALSE(acl->check(anon("c1"), "users//inbox", R));
  EXPECT_TRUE(acl->check(anon("c1"), "dev/c1/out", W));
  EXPECT_FALSE(acl->check(anon("c1"), "dev/c1/out", R));
  EXPECT_TRUE(acl->check(user("c1", "bob"), "both/bob-c1", R)) << "2.0 replaces inside a level";
  // A client id with '/' spans levels after plain replacement, as in 2.0.
  EXPECT_TRUE(acl->check(anon("a/b"), "dev/a/b/out", W));
}

TEST(Acl, DangerousIdsAreDeniedWhenPatternsExist) {
  LogCapture logs;
  auto acl = parse_ok("pattern readwrite clients/%c/#\n");
  EXPECT_FALSE(acl->check(anon("#"), "clients/x/y", R));
  EXPECT_FALSE(acl->check(anon("a+"), "clients/a+/y", R));
  EXPECT_FALSE(acl->check(user("ok", "bad#name"), "clients/ok/y", R));
  EXPECT_TRUE(acl->check(user("ok", "fine"), "clients/ok/y", R));
  ASSERT_EQ(logs.lines.size(), 3u);
  EXPECT_EQ(logs.lines[0], "ACL denying access to client with dangerous client id \"#\"");
  EXPECT_EQ(logs.lines[2], "ACL denying access to client with dangerous username \"bad#name\"");
}

TEST(Acl, DollarTopics) {
  auto acl = parse_ok("topic read #\ntopic read $SYS/broker/#\ntopic write #\n");
  EXPECT_TRUE(acl->check(anon("c"), "a/b", R));
  EXPECT_FALSE(acl->check(anon("c"), "$SYS/broker/uptime", W));
  EXPECT_TRUE(acl->check(anon("c"), "$SYS/broker/uptime", R));
  EXPECT_FALSE(acl->check(anon("c"), "$SYS/other", R)) << "topic read # never grants $SYS";

  EXPECT_FALSE(acl_dollar_allowed("$SYS/broker/uptime", W));
  EXPECT_TRUE(acl_dollar_allowed("$SYS/broker/connection/br1/state", W));
  EXPECT_FALSE(acl_dollar_allowed("$SYS/broker/connection/br1/other", W));
  EXPECT_TRUE(acl_dollar_allowed("$SYS/broker/uptime", R));
  EXPECT_TRUE(acl_dollar_allowed("$share/g/t", S));
  EXPECT_FALSE(acl_dollar_allowed("$share/g/t", W));
  EXPECT_TRUE(acl_dollar_allowed("$other/t", W));
  EXPECT_TRUE(acl_dollar_allowed("plain", W));

  // Without an ACL everything but the '$' rules is allowed.
  EXPECT_TRUE(acl_allows(nullptr, anon("c"), "any/topic", W));
  EXPECT_FALSE(acl_allows(nullptr, anon("c"), "$SYS/x", W));
  auto p = parse_ok("pattern write $SYS/broker/connection/%c/state\n");
  EXPECT_TRUE(acl_allows(p.get(), anon("br1"), "$SYS/broker/connection/br1/state", W));
  EXPECT_FALSE(acl_allows(p.get(), anon("br2"), "$SYS/broker/connection/br1/state", W));
}

TEST(Acl, SyntaxDetails) {
  // No access word: readwrite; the topic is the rest of the line after the access word.
  auto acl = parse_ok(
      "# comment\n"
      "\n"
      "   \n"
      "topic  a/b  \n"
      "   topic   read   with space/x   \n"
      "topic read\n"  // topic "read", readwrite
      "user   spaced name  \n"
      "topic deny secret\r\n");
  ASSERT_TRUE(acl);
  EXPECT_TRUE(acl->check(anon("c"), "a/b", W));
  EXPECT_TRUE(acl->check(anon("c"), "with space/x", R));
  EXPECT_FALSE(acl->check(anon("c"), "with space/x", W));
  EXPECT_TRUE(acl->check(anon("c"), "read", W));
  EXPECT_FALSE(acl->check(user("c", "spaced name"), "secret", R));
}

// Messages as Debian's Mosquitto 2.0.11 logged them for the same lines.
TEST(Acl, ParseErrorsLikeMosquitto) {
  EXPECT_EQ(parse_error("topic read foo\n  #indented\n"),
            "Error: Invalid line in acl_file \"/etc/acl\":   #indented.");
  EXPECT_EQ(parse_error("topic bogus foo/bar\n"),
            "Error: Invalid topic access type \"bogus\" in acl_file \"/etc/acl\".");
  EXPECT_EQ(parse_error("topic read foo/#/x\n"),
            "Error: Invalid ACL topic \"foo/#/x\" in acl_file \"/etc/acl\".");
  EXPECT_EQ(parse_error("topic read foo+\n"),
            "Error: Invalid ACL topic \"foo+\" in acl_file \"/etc/acl\".");
  EXPECT_EQ(parse_error("user\n"), "Error: Missing username in acl_file \"/etc/acl\".");
  EXPECT_EQ(parse_error("user   \n"), "Error: Missing username in acl_file \"/etc/acl\".");
  EXPECT_EQ(parse_error("topic\n"), "Error: Empty topic in acl_file \"/etc/acl\".");
  EXPECT_EQ(parse_error("blah x\n"), "Error: Invalid line in acl_file \"/etc/acl\": blah.");
  EXPECT_EQ(parse_error("topic\tread foo\n"),
            "Error: Invalid line in acl_file \"/etc/acl\": topic\tread.");
  EXPECT_EQ(parse_error("Topic read foo\n"),
            "Error: Invalid line in acl_file \"/etc/acl\": Topic.");
  EXPECT_EQ(parse_error("topic foo bar\n"),
            "Error: Invalid topic access type \"foo\" in acl_file \"/etc/acl\".");
}

TEST(Acl, ParseErrorsNameTheLine) {
  EXPECT_EQ(parse_error_where("topic read foo\n"), "(parsed)");
  EXPECT_EQ(parse_error_where("topic read foo/#/x\n"), "Error found at /etc/acl:1.");
  // The notes' file: a '#' after a topic is not a comment, so the topic is invalid.
  EXPECT_EQ(parse_error_where("# c\n\nuser junlin\ntopic write sensors/#   # comment\n"),
            "Error found at /etc/acl:4.");
}

TEST(Acl, PatternWithoutMarkersWarns) {
  LogCapture logs;
  auto acl = parse_ok("pattern read foo\n");
  ASSERT_EQ(logs.lines.size(), 1u);
  EXPECT_EQ(logs.lines[0], "Warning: ACL pattern 'foo' does not contain '%c' or '%u'.");
  EXPECT_TRUE(acl->check(anon("c"), "foo", R));
}

TEST(Acl, LoadFailsClosed) {
  auto acl = AclFile::load("/nonexistent/acl");
  ASSERT_FALSE(acl.ok());
  EXPECT_EQ(acl.error().context, "Error: Unable to open acl_file \"/nonexistent/acl\".");
}

TEST(Acl, EmptyFileDeniesEverything) {
  auto acl = parse_ok("");
  EXPECT_FALSE(acl->check(anon("c"), "a", R));
  EXPECT_FALSE(acl->check(user("c", "u"), "a", W));
  EXPECT_TRUE(acl->check(user("c", "u"), "a", S));
}

TEST(AclMatch, FilterMatches) {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  } cases[] = {
      {"a/b", "a/b", true},       {"a/+", "a/b", true},   {"a/+", "a", false},
      {"a/+", "a/", true},        {"a/#", "a", true},     {"a/#", "a/b/c", true},
      {"#", "a/b", true},         {"#", "$SYS/x", false}, {"+/x", "$SYS/x", false},
      {"$SYS/#", "$SYS/x", true}, {"$SYS/#", "a", false}, {"a/b", "a/b/c", false},
      {"+", "", false},           {"+/+", "/", true},     {"a/b/#", "a/b", true},
      {"a/+/#", "a", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(acl_filter_matches(c.filter, c.topic), c.match) << c.filter << " vs " << c.topic;
  }
}

TEST(AclMatch, FilterCovers) {
  struct Case {
    const char* filter;
    const char* sub;
    bool covers;
  } cases[] = {
      {"#", "a/#", true},         {"#", "+", true},        {"#", "$SYS/#", false},
      {"a/#", "a/#", true},       {"a/#", "a", true},      {"a/#", "a/+/c", true},
      {"a/+", "a/+", true},       {"a/+", "a/#", false},   {"a/+", "a/b", true},
      {"a/b", "a/+", false},      {"a/+/#", "a/#", false}, {"+/#", "#", false},
      {"$SYS/#", "$SYS/+", true}, {"a/b", "a/b", true},    {"a/b", "a/b/c", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(acl_filter_covers(c.filter, c.sub), c.covers) << c.filter << " covers " << c.sub;
  }
}

}  // namespace
}  // namespace mq::broker::acl_test
