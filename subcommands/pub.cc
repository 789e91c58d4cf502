// `mq pub` / `mosquitto_pub`: the Mosquitto client command line, run by the client engine
// (src/client/tools.h).
#include <cxxopts.hpp>
#include <string>

#include "cli/subcommand.h"
#include "client/options.h"
#include "client/tools.h"

namespace mq::subcommands {

namespace {

void add_options(cxxopts::Options& o) { client::add_cxxopts(o, client::Tool::kPub); }

int run(int argc, char** argv, const cli::Invocation& how) {
  std::string prog = how.as_mosquitto ? std::string(how.prog) : "mq " + std::string(how.prog);
  return client::client_main(client::Tool::kPub, argc, argv, prog, how.as_mosquitto);
}

}  // namespace

extern const cli::Subcommand kPub = {"pub", "mosquitto_pub", "publish one message, a file, or stdin lines", add_options, run};

}  // namespace mq::subcommands
