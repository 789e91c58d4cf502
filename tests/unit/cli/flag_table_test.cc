// The flag table helpers: how an argument is matched against a row, the key cxxopts files a
// value under, and what add_flags() declares (names, value kinds, the value's name).
#include "cli/flag_table.h"

#include <gtest/gtest.h>

#include <cxxopts.hpp>

namespace mq::cli {
namespace {

enum class Opt { kConfig, kPort, kForce, kBatch, kMqOnly };
using V = FlagValue;
constexpr Flag<Opt> kFlags[] = {
    {Opt::kConfig, {'c', "config-file", V::kString, "FILE", "read this file"}},
    {Opt::kPort, {'p', "port", V::kInts, nullptr, "a port (repeatable)"}},
    {Opt::kForce, {0, "force", V::kNone, nullptr, "replace"}},
    {Opt::kBatch, {'b', nullptr, V::kNone, nullptr, "batch"}},
    {Opt::kMqOnly, {0, "port-file", V::kString, "FILE", "mq only", true}},
};

Opt id_of(std::string_view arg, bool as_mosquitto = false) {
  const Flag<Opt>* f = find_flag(kFlags, arg, as_mosquitto);
  EXPECT_NE(f, nullptr) << arg;
  return f ? f->id : Opt::kMqOnly;
}

TEST(FlagTable, MatchesExactSpellingsOnly) {
  EXPECT_EQ(id_of("-c"), Opt::kConfig);
  EXPECT_EQ(id_of("--config-file"), Opt::kConfig);
  EXPECT_EQ(id_of("--force"), Opt::kForce);
  EXPECT_EQ(id_of("-b"), Opt::kBatch);
  for (const char* other : {"", "-", "--", "c", "-cb", "-c=x", "--config-file=x", "--config",
                            "-config-file", "--c", "-force", "--b", "---force", "-B"})
    EXPECT_EQ(find_flag(kFlags, other, false), nullptr) << other;
}

TEST(FlagTable, MqOnlyRowsAreRefusedUnderMosquittoNames) {
  EXPECT_EQ(id_of("--port-file"), Opt::kMqOnly);
  EXPECT_EQ(find_flag(kFlags, "--port-file", true), nullptr);
  EXPECT_EQ(id_of("-c", true), Opt::kConfig);
}

TEST(FlagTable, KeyIsTheLongNameElseTheShortOne) {
  EXPECT_EQ(flag_key(kFlags[0].spec), "config-file");
  EXPECT_EQ(flag_key(kFlags[3].spec), "b");
}

TEST(FlagTable, DeclaresEveryRowToCxxopts) {
  cxxopts::Options o("t", "");
  add_flags(o, kFlags);
  std::string help = o.help();
  EXPECT_NE(help.find("-c, --config-file FILE  read this file"), std::string::npos) << help;
  EXPECT_NE(help.find("-p, --port arg"), std::string::npos) << help;
  EXPECT_NE(help.find("--force"), std::string::npos) << help;
  EXPECT_NE(help.find("-b "), std::string::npos) << help;
  EXPECT_NE(help.find("--port-file FILE"), std::string::npos) << help;

  // The value kinds reach the parser: a repeatable int, a string, booleans.
  const char* argv[] = {"t", "-p", "1", "--port", "2", "-c", "x", "-b", "--force"};
  cxxopts::ParseResult r = o.parse(9, argv);
  EXPECT_EQ(r["port"].as<std::vector<int>>(), (std::vector<int>{1, 2}));
  EXPECT_EQ(r["config-file"].as<std::string>(), "x");
  EXPECT_EQ(r.count("b"), 1u);
  EXPECT_EQ(r.count("force"), 1u);
  const char* bad[] = {"t", "-p", "x"};
  EXPECT_THROW(o.parse(3, bad), cxxopts::exceptions::exception);
}

TEST(FlagTable, FlagSpecsListsTheRowsInOrder) {
  std::vector<FlagSpec> specs = flag_specs<kFlags>();
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_STREQ(specs[0].long_name, "config-file");
  EXPECT_EQ(specs[3].short_name, 'b');
  EXPECT_TRUE(specs[4].mq_only);
}

}  // namespace
}  // namespace mq::cli
