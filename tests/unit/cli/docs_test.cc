// Man pages and completion scripts are generated from the option declarations: every option of
// the client table (what the pub/sub/rr parser walks) appears in each, for each tool.
#include "cli/docs.h"

#include <gtest/gtest.h>

#include <cxxopts.hpp>

#include "client/option_table.h"

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::cli::docs_test {
namespace {

int no_run(int, char**, const Invocation&) { return 0; }

const Subcommand kTable[] = {
    {"pub", "mosquitto_pub", "publish",
     [](cxxopts::Options& o) { client::add_cxxopts(o, client::Tool::kPub); }, no_run},
    {"rr", "mosquitto_rr", "request / response",
     [](cxxopts::Options& o) { client::add_cxxopts(o, client::Tool::kRr); }, no_run},
    {"sub", "mosquitto_sub", "subscribe",
     [](cxxopts::Options& o) { client::add_cxxopts(o, client::Tool::kSub); }, no_run},
};

// The option as each output spells it: roff escapes '-' as "\-".
std::string roff_dashes(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

TEST(Docs, EveryClientOptionIsInTheManPageAndEveryCompletion) {
  const client::Tool tools[] = {client::Tool::kPub, client::Tool::kRr, client::Tool::kSub};
  std::string bash = completion_script(kTable, "bash");
  std::string zsh = completion_script(kTable, "zsh");
  std::string fish = completion_script(kTable, "fish");
  size_t checked = 0;
  for (size_t i = 0; i < 3; i++) {
    std::string man = man_page(kTable[i]);
    // This tool's line of the bash script: "    pub|mosquitto_pub) echo '-u --username ...' ;;"
    std::string key = "    " + std::string(kTable[i].name) + "|" + std::string(kTable[i].mosquitto_name) + ") echo '";
    size_t at = bash.find(key);
    ASSERT_NE(at, std::string::npos);
    std::string words = " " + bash.substr(at + key.size(), bash.find('\'', at + key.size()) - at - key.size()) + " ";
    for (const client::OptionSpec& o : client::client_options()) {
      if (!client::applies_to(o, tools[i], true) || o.group == client::Group::kInfo) continue;
      std::vector<std::string> names;
      if (o.short_name) names.push_back(std::string("-") + o.short_name);
      if (o.long_name) names.push_back(std::string("--") + o.long_name);
      for (const std::string& n : names) {
        std::string in_man = "\\fB" + roff_dashes(n) + "\\fR";
        EXPECT_NE(man.find(in_man), std::string::npos) << n << " missing from " << kTable[i].name;
        EXPECT_NE(words.find(" " + n + " "), std::string::npos) << n << " (bash, " << kTable[i].name << ")";
        EXPECT_NE(zsh.find("'" + n + "["), std::string::npos) << n << " (zsh)";
        std::string fish_flag = o.long_name && n[1] == '-' ? "-l '" + n.substr(2) + "'"
                                                           : "-s '" + n.substr(1) + "'";
        EXPECT_NE(fish.find("__fish_seen_subcommand_from " + std::string(kTable[i].name) + "'"),
                  std::string::npos);
        EXPECT_NE(fish.find(fish_flag), std::string::npos) << n << " (fish)";
        checked++;
      }
    }
  }
  EXPECT_GT(checked, 150u);  // about 60 options per tool, most with two spellings
}

TEST(Docs, ManPagesNameTheMosquittoToolAndTheOverviewEverySubcommand) {
  EXPECT_NE(man_page(kTable[0]).find(".B mosquitto_pub"), std::string::npos);
  std::string overview = overview_man_page(kTable);
  for (const Subcommand& s : kTable)
    EXPECT_NE(overview.find("\\fB" + std::string(s.name) + "\\fR"), std::string::npos) << s.name;
  EXPECT_EQ(completion_script(kTable, "tcsh"), "");
  // Every Mosquitto name gets completion in bash.
  EXPECT_NE(completion_script(kTable, "bash").find("complete -F _mq mq mosquitto_pub mosquitto_rr "
                                                   "mosquitto_sub"),
            std::string::npos);
}

}  // namespace
}  // namespace mq::cli::docs_test
