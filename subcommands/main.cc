// The multicall entry point and its table: one line per subcommand, sorted by name.
#include "cli/subcommand.h"

namespace mq::subcommands {
extern const cli::Subcommand kServe;
}

int main(int argc, char** argv) {
  using namespace mq;
  static const cli::Subcommand kTable[] = {
      subcommands::kServe,
  };
  return cli::dispatch(kTable, argc, argv);
}
