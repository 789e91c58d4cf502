#include <gtest/gtest.h>

#include <cxxopts.hpp>
#include <string>
#include <vector>

#include "cli/subcommand.h"

namespace mq::cli {
namespace {

struct Call {
  std::string sub;
  std::vector<std::string> args;
  bool as_mosquitto = false;
  std::string prog;
};
Call g_last;

template <int N>
int record(int argc, char** argv, const Invocation& how) {
  g_last = Call{};
  g_last.sub = N == 0 ? "pub" : "serve";
  for (int i = 0; i < argc; i++) g_last.args.emplace_back(argv[i]);
  g_last.as_mosquitto = how.as_mosquitto;
  g_last.prog = std::string(how.prog);
  return 40 + N;
}

void pub_options(cxxopts::Options& o) {
  o.add_options()("t,topic", "topic to publish to", cxxopts::value<std::string>());
}

const Subcommand kTable[] = {
    {"pub", "mosquitto_pub", "publish a message", pub_options, record<0>},
    {"serve", "mosquitto", "run the broker", nullptr, record<1>},
};

int run(std::vector<std::string> argv) {
  std::vector<char*> ptrs;
  for (auto& a : argv) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  return dispatch(kTable, int(argv.size()), ptrs.data());
}

TEST(Dispatch, MosquittoNameRunsSubcommandWithAllArgs) {
  EXPECT_EQ(run({"/usr/local/bin/mosquitto_pub", "-t", "a"}), 40);
  EXPECT_EQ(g_last.sub, "pub");
  EXPECT_TRUE(g_last.as_mosquitto);
  EXPECT_EQ(g_last.prog, "mosquitto_pub");
  EXPECT_EQ(g_last.args, (std::vector<std::string>{"/usr/local/bin/mosquitto_pub", "-t", "a"}));
}

TEST(Dispatch, LeadingDashInArgv0IsStripped) {
  EXPECT_EQ(run({"-mosquitto", "-v"}), 41);
  EXPECT_EQ(g_last.sub, "serve");
}

TEST(Dispatch, MqTakesSubcommandFromArgv1) {
  EXPECT_EQ(run({"./mq", "serve", "-p", "0"}), 41);
  EXPECT_FALSE(g_last.as_mosquitto);
  EXPECT_EQ(g_last.args, (std::vector<std::string>{"serve", "-p", "0"}));
}

TEST(Dispatch, UnknownNamesExit127) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run({"mq", "frobnicate"}), 127);
  EXPECT_EQ(run({"mosquitto_rr", "-t", "x"}), 127);  // not in this table
  EXPECT_EQ(run({"mq", "help", "nope"}), 127);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unknown subcommand 'frobnicate'"), std::string::npos) << err;
}

TEST(Dispatch, ListPrintsOneNameALine) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(run({"mq", "--list"}), 0);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "pub\nserve\n");
}

TEST(Dispatch, HelpAndVersionExitZero) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(run({"mq", "--help"}), 0);
  EXPECT_EQ(run({"mq", "--version"}), 0);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("publish a message (mosquitto_pub)"), std::string::npos) << out;
  EXPECT_NE(out.find("mq version "), std::string::npos) << out;
}

TEST(Dispatch, SubcommandHelpComesFromOptionDeclarations) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(run({"mq", "help", "pub"}), 0);
  EXPECT_EQ(run({"mq", "pub", "--help"}), 0);
  std::string out = testing::internal::GetCapturedStdout();
  size_t first = out.find("topic to publish to");
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find("topic to publish to", first + 1), std::string::npos) << out;
  g_last = Call{};
  // Under the Mosquitto name --help belongs to the tool itself.
  EXPECT_EQ(run({"mosquitto_pub", "--help"}), 40);
  EXPECT_EQ(g_last.args.back(), "--help");
}

TEST(Dispatch, NoArgumentsIsUsageError) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run({"mq"}), 1);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("Usage: mq"), std::string::npos);
}

TEST(Dispatch, InstallRejectsBadArguments) {
  testing::internal::CaptureStderr();
  EXPECT_NE(run({"mq", "--install"}), 0);
  EXPECT_NE(run({"mq", "--install", "--bogus", "/tmp"}), 0);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("Usage: mq --install"), std::string::npos);
}

}  // namespace
}  // namespace mq::cli
