// The multicall entry point and its table: one line per subcommand, sorted by name.
#include "cli/subcommand.h"

namespace mq::subcommands {
extern const cli::Subcommand kCertgen;
extern const cli::Subcommand kCheck;
extern const cli::Subcommand kDb;
extern const cli::Subcommand kPasswd;
extern const cli::Subcommand kPub;
extern const cli::Subcommand kRr;
extern const cli::Subcommand kServe;
extern const cli::Subcommand kSub;
}

int main(int argc, char** argv) {
  using namespace mq;
  static const cli::Subcommand kTable[] = {
      subcommands::kCertgen,
      subcommands::kCheck,
      subcommands::kDb,
      subcommands::kPasswd,
      subcommands::kPub,
      subcommands::kRr,
      subcommands::kServe,
      subcommands::kSub,
  };
  return cli::dispatch(kTable, argc, argv);
}
