// The option table against the parser, `mq help` and Mosquitto's usage texts: every option the
// parser takes is in the table with a description, `mq help` lists every row, and each usage text
// has a paragraph for every option the tool takes under its Mosquitto name, but for a short list
// of options Mosquitto 2.0.11's own text leaves out.
#include "client/option_table.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cxxopts.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/options.h"

namespace mq::client {
namespace {

constexpr Tool kTools[] = {Tool::kPub, Tool::kSub, Tool::kRr};

std::string long_name(const OptionSpec& o) { return std::string("--") + o.long_name; }

// Every name of every row that applies to the tool.
std::set<std::string> names_for(Tool tool, bool mq_names) {
  std::set<std::string> out;
  for (const OptionSpec& o : client_options()) {
    if (!applies_to(o, tool, mq_names)) continue;
    if (o.short_name) out.insert(std::string("-") + o.short_name);
    if (o.long_name) out.insert(long_name(o));
  }
  return out;
}

// Runs the parser on `args` (argv[0] added) for a fresh config of the tool.
ParseResult parse(Tool tool, std::vector<std::string> args, bool mq_names) {
  args.insert(args.begin(), "x");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ClientConfig cfg;
  cfg.tool = tool;
  return parse_args(cfg, argv, mq_names);
}

bool unknown(const ParseResult& r) {
  return r.status == ParseStatus::kError && r.error.starts_with("Error: Unknown option");
}

// What pub, sub and rr take, written out independently of the table (Mosquitto 2.0.11's
// client_config_line_proc, the 2.1 additions, and mq's own).
const std::set<std::string> kCommon = {
    "-A", "-c", "--disable-clean-session", "-d", "--debug", "-D", "--property", "-h", "--host",
    "--help", "-i", "--id", "-I", "--id-prefix", "-k", "--keepalive", "-L", "--url", "-M",
    "--nodelay", "-o", "-p", "--port", "-P", "--pw", "--proxy", "-q", "--qos", "--quiet", "-t",
    "--topic", "-u", "--username", "--unix", "-V", "--protocol-version", "--version", "-x",
    "--will-payload", "--will-qos", "--will-retain", "--will-topic", "--cafile", "--capath",
    "--cert", "--key", "--keyform", "--ciphers", "--insecure", "--psk", "--psk-identity",
    "--tls-alpn", "--tls-engine", "--tls-engine-kpass-sha1", "--tls-version", "--tls-keylog",
    "--tls-use-os-certs", "--no-tls", "--ws", "--ws-path"};
const std::set<std::string> kPubOnly = {"-f", "--file", "-l", "--stdin-line", "-m", "--message",
    "-n", "--null-message", "-r", "--retain", "--repeat", "--repeat-delay", "-s", "--stdin-file"};
const std::set<std::string> kSubOnly = {"-C", "-E", "-F", "-N", "--pretty", "-R",
    "--random-filter", "--remove-retained", "--retain-as-published", "--retain-handling",
    "--retained-only", "-T", "--filter-out", "-U", "--unsubscribe", "-v", "--verbose", "-W", "-w",
    "--watch", "--message-rate"};
const std::set<std::string> kRrOnly = {"-e", "--latency", "-f", "--file", "-m", "--message", "-n",
    "--null-message", "-s", "--stdin-file", "-F", "-N", "--pretty", "-R", "--retain-as-published",
    "--retain-handling", "-v", "--verbose", "-W"};
const std::set<std::string> kMqOnly[] = {{"--pw-env", "--pw-file"},
                                         {"--pw-env", "--pw-file", "--json"},
                                         {"--pw-env", "--pw-file"}};

std::set<std::string> expected_names(Tool tool, bool mq_names) {
  std::set<std::string> out = kCommon;
  const std::set<std::string>& own =
      tool == Tool::kPub ? kPubOnly : tool == Tool::kSub ? kSubOnly : kRrOnly;
  out.insert(own.begin(), own.end());
  if (mq_names) out.insert(kMqOnly[int(tool)].begin(), kMqOnly[int(tool)].end());
  return out;
}

TEST(OptionTableTest, TableHasWhatEachToolTakes) {
  for (Tool tool : kTools)
    for (bool mq : {false, true}) EXPECT_EQ(names_for(tool, mq), expected_names(tool, mq));
}

TEST(OptionTableTest, ParserTakesExactlyTheTable) {
  for (Tool tool : kTools) {
    for (bool mq : {false, true}) {
      const std::set<std::string> names = names_for(tool, mq);
      for (const std::string& name : names) {
        // A value that every option accepts, so only an unknown option can fail here.
        const OptionSpec* o = find_option(name, tool, mq);
        ASSERT_NE(o, nullptr) << name;
        std::vector<std::string> args = {name};
        if (o->arg == ArgKind::kProperty) args = {name, "connect", "receive-maximum", "5"};
        else if (name == "--ws-path") args.push_back("/p");
        else if (name == "--retain-handling") args.push_back("new");
        else if (name == "-V" || name == "--protocol-version") args.push_back("5");
        else if (name == "--proxy") args.push_back("socks5h://h");
        else if (name == "-L" || name == "--url") args.push_back("mqtt://h/t");
        else if (name == "-k" || name == "--keepalive") args.push_back("60");
        else if (name == "-F") args.push_back("%p");
        else if (o->arg != ArgKind::kNone) args.push_back("1");
        ParseResult r = parse(tool, args, mq);
        EXPECT_FALSE(unknown(r)) << name;
        EXPECT_TRUE(r.status != ParseStatus::kError) << name << ": " << r.error;
      }
      // Every other one-letter option, and a few long ones from elsewhere, are unknown.
      std::vector<std::string> others = {"--json", "--pw-env", "--pw-file", "--nope", "--",
                                         "-hh", "---host", "--h", "-host"};
      for (char c = '0'; c <= 'z'; c++)
        if (isalnum(static_cast<unsigned char>(c))) others.push_back(std::string("-") + c);
      for (const std::string& name : others) {
        if (names.count(name)) continue;
        ParseResult r = parse(tool, {name, "1"}, mq);
        EXPECT_TRUE(unknown(r)) << name;
        EXPECT_EQ(r.error, "Error: Unknown option '" + name + "'.\n");
      }
    }
  }
}

TEST(OptionTableTest, RowsAreComplete) {
  for (const OptionSpec& o : client_options()) {
    const std::string name = primary_name(o);
    EXPECT_TRUE(o.help && *o.help) << name << " has no `mq help` description";
    EXPECT_NE(o.tools, ToolSet::kNone) << name;
    EXPECT_EQ(o.arg != ArgKind::kNone, o.metavar != nullptr) << name;
    bool takes_value = o.arg == ArgKind::kString || o.arg == ArgKind::kInt ||
                       o.arg == ArgKind::kDecimal;
    EXPECT_EQ(takes_value, o.missing != nullptr) << name;
    EXPECT_FALSE(takes_value && o.flag) << name;
    if (o.stops == ParseStatus::kOk && o.arg != ArgKind::kProperty) {
      EXPECT_TRUE(o.text || o.flag || o.handler || o.short_name == 'o') << name << " does nothing";
    }
    // Usage paragraphs start with the name Mosquitto's texts use for the option.
    for (const TextVariant& v : o.usage.variants) {
      if (!v.text) continue;
      EXPECT_TRUE(std::string(v.text).starts_with(" " + name + " : ")) << v.text;
    }
  }
}

// A name means one row per tool; rows split for `mq help` parse alike.
TEST(OptionTableTest, SplitRowsAgree) {
  auto rows = client_options();
  for (size_t i = 0; i < rows.size(); i++) {
    for (size_t j = i + 1; j < rows.size(); j++) {
      const OptionSpec& a = rows[i];
      const OptionSpec& b = rows[j];
      bool same_name = (a.short_name && a.short_name == b.short_name) ||
                       (a.long_name && b.long_name && std::string(a.long_name) == b.long_name);
      if (!same_name) continue;
      EXPECT_EQ(uint8_t(a.tools) & uint8_t(b.tools), 0) << primary_name(a);
      EXPECT_EQ(a.short_name, b.short_name);
      EXPECT_STREQ(a.long_name, b.long_name);
      EXPECT_EQ(a.arg, b.arg);
      EXPECT_STREQ(a.missing, b.missing);
      EXPECT_EQ(a.before, b.before);
      EXPECT_EQ(a.text, b.text);
      EXPECT_EQ(a.flag, b.flag);
      EXPECT_EQ(a.handler, b.handler);
      EXPECT_EQ(a.mq_only, b.mq_only);
    }
  }
}

// Mosquitto's "no argument" texts, written out: "-A address" stands for
// "Error: -A argument given but no address specified.\n\n".
const std::map<std::string, std::string> kMissing = {
    {"-A", "address"}, {"--cafile", "file"}, {"--capath", "directory"}, {"--cert", "file"},
    {"--ciphers", "ciphers"}, {"--key", "file"}, {"--keyform", "keyform"}, {"--psk", "key"},
    {"--psk-identity", "identity"}, {"--tls-alpn", "protocol"}, {"--tls-engine", "engine_id"},
    {"--tls-engine-kpass-sha1", "kpass sha1"}, {"--tls-version", "version"},
    {"--tls-keylog", "file"}, {"-h", "host"}, {"-C", "count"}, {"-e", "response topic"},
    {"-f", "file"}, {"-F", "format"}, {"-i", "id"}, {"-I", "id prefix"}, {"-k", "keepalive"},
    {"-L", "URL"}, {"-m", "message"}, {"-o", "options file"}, {"-p", "port"}, {"-P", "password"},
    {"--proxy", "proxy url"}, {"-q", "QoS"}, {"--random-filter", "chance"}, {"--repeat", "count"},
    {"--repeat-delay", "time"}, {"--retain-handling", "value"}, {"-t", "topic"},
    {"-T", "topic filter"}, {"-U", "unsubscribe topic"}, {"-u", "username"},
    {"--unix", "socket path"}, {"-W", "timeout"}, {"--will-payload", "will payload"},
    {"--will-qos", "will QoS"}, {"--will-topic", "will topic"}, {"-x", "session expiry interval"},
    {"--pw-env", "variable name"}, {"--pw-file", "file"}, {"--ws-path", "path"},
};

std::string expected_missing(const std::string& name) {
  if (name == "-M") return "Error: -M argument given but max_inflight not specified.\n\n";
  if (name == "-V")
    return "Error: --protocol-version argument given but no version specified.\n\n";
  auto it = kMissing.find(name);
  if (it == kMissing.end()) return "(no text for " + name + ")";
  return "Error: " + name + " argument given but no " + it->second + " specified.\n\n";
}

TEST(OptionTableTest, MissingArgumentTexts) {
  std::set<std::string> with_value;
  for (Tool tool : kTools) {
    for (const OptionSpec& o : client_options()) {
      if (!applies_to(o, tool, true) || !o.missing) continue;
      with_value.insert(primary_name(o));
      for (const std::string& name : {primary_name(o), o.long_name ? long_name(o) : ""}) {
        if (name.empty()) continue;
        ParseResult r = parse(tool, {name}, true);
        EXPECT_EQ(r.error, expected_missing(primary_name(o))) << name;
      }
    }
  }
  EXPECT_EQ(with_value.size(), kMissing.size() + 2);  // and -M, -V
}

TEST(OptionTableTest, MqHelpListsEveryRow) {
  for (Tool tool : kTools) {
    cxxopts::Options options("mq", "");
    add_cxxopts(options, tool);
    const std::string help = options.help();
    for (const OptionSpec& o : client_options()) {
      if (!applies_to(o, tool, true) || o.group == Group::kInfo) continue;
      std::string names = o.short_name ? std::string("-") + o.short_name : "    ";
      if (o.long_name) names += (o.short_name ? ", " : "") + long_name(o);
      EXPECT_NE(help.find("  " + names + " "), std::string::npos) << names;
      EXPECT_NE(help.find(std::string(o.help).substr(0, 30)), std::string::npos) << o.help;
      EXPECT_NE(help.find(std::string(" ") + group_name(o.group) + " options:"),
                std::string::npos)
          << group_name(o.group);
    }
  }
}

// Options a tool takes under its Mosquitto name that Mosquitto 2.0.11's usage text of that tool
// has no paragraph for, and why.
const std::set<std::string> kNoParagraphAll = {
    "-o", "--no-tls", "--tls-keylog",  // 2.1 additions
    "--ws", "--ws-path",               // mq's WebSocket client
    "--tls-alpn",                      // 2.0.11 names it in the synopsis only
    "--version",                       // 2.0.11 has no paragraph for it
};
const std::set<std::string> kNoParagraph[] = {
    {},
    {"-M",                                 // taken but not documented by mosquitto_sub
     "--retain-as-published",              // the same
     "--retain-handling", "-w", "--message-rate"},  // 2.1
    {"-M", "-f", "-m", "-n", "-s", "--retain-as-published",  // taken but not documented
     "-I", "--keyform", "--tls-engine", "--tls-engine-kpass-sha1",  // in rr's synopsis only
     "--retain-handling", "--latency"},                          // 2.1
};

TEST(OptionTableTest, UsageHasAParagraphPerMosquittoOption) {
  for (Tool tool : kTools) {
    const std::string usage = usage_text(tool);
    std::set<std::string> primaries;
    for (const OptionSpec& o : client_options())
      if (applies_to(o, tool, false)) primaries.insert(primary_name(o));
    for (const std::string& name : primaries) {
      bool has = usage.find("\n " + name + " : ") != std::string::npos;
      bool omitted = kNoParagraphAll.count(name) || kNoParagraph[int(tool)].count(name);
      EXPECT_NE(has, omitted) << tool_name(tool) << " " << name;
    }
    for (const std::string& name : kNoParagraph[int(tool)]) EXPECT_TRUE(primaries.count(name));
    // mq-only options never appear in Mosquitto's text.
    EXPECT_EQ(usage.find("--json"), std::string::npos);
    EXPECT_EQ(usage.find("--pw-"), std::string::npos);
    EXPECT_TRUE(usage.starts_with(std::string(tool_name(tool)) + " is ")) << usage;
    EXPECT_TRUE(usage.ends_with("\nSee https://mosquitto.org/ for more information.\n\n"));
  }
  EXPECT_NE(usage_text(Tool::kRr).find(
                " -i : id to use for this client. Defaults to mosquitto_rr_ appended with the"),
            std::string::npos);
}

}  // namespace
}  // namespace mq::client
