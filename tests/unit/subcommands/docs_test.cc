// Every row of every subcommand's flag table reaches `mq help NAME`, its man page and the bash,
// zsh and fish completion, and nothing else does (an option declared beside the table would
// show up as an extra entry). The client tools' table is checked by tests/unit/cli/docs_test.cc.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cli/docs.h"
#include "cli/flag_table.h"
#include "subcommands/table.h"

namespace mq {
namespace {

std::vector<std::string> spellings(const cli::FlagSpec& f) {
  std::vector<std::string> out;
  if (f.short_name) out.push_back(std::string("-") + f.short_name);
  if (f.long_name) out.push_back(std::string("--") + f.long_name);
  return out;
}

std::string roff_dashes(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) n++;
  return n;
}

// The text between `start` and the next `end` after it ("" when absent).
std::string section(const std::string& text, const std::string& start, const std::string& end) {
  size_t a = text.find(start);
  if (a == std::string::npos) return "";
  a += start.size();
  return text.substr(a, text.find(end, a) - a);
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.starts_with(prefix)) out.push_back(line);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

TEST(SubcommandDocs, EveryFlagTableRowIsInHelpManPageAndEveryCompletion) {
  std::span<const cli::Subcommand> table = subcommands::table();
  std::string bash = cli::completion_script(table, "bash");
  std::string zsh = cli::completion_script(table, "zsh");
  std::string fish = cli::completion_script(table, "fish");
  std::set<std::string> with_table;
  size_t checked = 0;
  for (const cli::Subcommand& sub : table) {
    std::string name(sub.name);
    if (!sub.flags) {
      EXPECT_TRUE(name == "pub" || name == "sub" || name == "rr")
          << name << " has no flag table: its options would not be checked here";
      continue;
    }
    with_table.insert(name);
    std::vector<cli::FlagSpec> rows = sub.flags();
    ASSERT_FALSE(rows.empty()) << name;
    std::string man = cli::man_page(sub);
    std::string help = cli::subcommand_help(sub);
    std::string bash_key = "    " + name +
                           (sub.mosquitto_name.empty() ? "" : "|" + std::string(sub.mosquitto_name)) +
                           ") echo '";
    std::string bash_words = section(bash, bash_key, "'");
    std::string zsh_fn = section(zsh, "_mq_" + name + "() {", "\n}\n");
    std::vector<std::string> fish_mq =
        lines_starting(fish, "complete -c mq -n '__fish_seen_subcommand_from " + name + "'");
    std::vector<std::string> fish_mosquitto;
    if (!sub.mosquitto_name.empty())
      fish_mosquitto = lines_starting(fish, "complete -c " + std::string(sub.mosquitto_name) + " ");

    // One entry per row, no more.
    std::vector<std::string> all;
    for (const cli::FlagSpec& f : rows)
      for (const std::string& s : spellings(f)) all.push_back(s);
    EXPECT_EQ(count(man, ".TP\n"), rows.size()) << name << "\n" << man;
    EXPECT_EQ(count(" " + bash_words + " ", " -"), all.size()) << name << ": " << bash_words;
    EXPECT_EQ(count(zsh_fn, "\\\n    '-"), all.size()) << name << "\n" << zsh_fn;
    EXPECT_EQ(fish_mq.size(), rows.size()) << name;
    if (!sub.mosquitto_name.empty()) EXPECT_EQ(fish_mosquitto.size(), rows.size()) << name;

    for (size_t i = 0; i < rows.size(); i++) {
      const cli::FlagSpec& f = rows[i];
      EXPECT_TRUE(f.help && *f.help) << name << " row " << i << ": the docs skip an empty help";
      for (const std::string& n : spellings(f)) {
        EXPECT_NE(man.find("\\fB" + roff_dashes(n) + "\\fR"), std::string::npos) << name << " " << n;
        EXPECT_TRUE(help.find(" " + n + " ") != std::string::npos ||
                    help.find(" " + n + ",") != std::string::npos)
            << name << " " << n << " (mq help)\n" << help;
        EXPECT_NE((" " + bash_words + " ").find(" " + n + " "), std::string::npos)
            << name << " " << n << " (bash)";
        EXPECT_NE(zsh_fn.find("'" + n + "["), std::string::npos) << name << " " << n << " (zsh)";
        checked++;
      }
      std::string fish_flags;
      if (f.short_name) fish_flags += std::string(" -s '") + f.short_name + "'";
      if (f.long_name) fish_flags += std::string(" -l '") + f.long_name + "'";
      std::string after = (f.value == cli::FlagValue::kNone ? " -d " : " -r -d ");
      EXPECT_TRUE(fish_mq.size() > i && fish_mq[i].find(fish_flags + after) != std::string::npos)
          << name << " row " << i << " (fish): " << fish_flags;
      if (!sub.mosquitto_name.empty())
        EXPECT_TRUE(fish_mosquitto.size() > i &&
                    fish_mosquitto[i].find(fish_flags + after) != std::string::npos)
            << sub.mosquitto_name << " row " << i << " (fish)";
    }
  }
  EXPECT_EQ(with_table, (std::set<std::string>{"certgen", "check", "db", "passwd", "serve"}));
  EXPECT_GT(checked, 60u);
}

TEST(SubcommandDocs, OverviewNamesEverySubcommand) {
  std::string overview = cli::overview_man_page(subcommands::table());
  for (const cli::Subcommand& s : subcommands::table())
    EXPECT_NE(overview.find("\\fB" + std::string(s.name) + "\\fR"), std::string::npos) << s.name;
}

}  // namespace
}  // namespace mq
