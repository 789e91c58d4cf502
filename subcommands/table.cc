// One line per subcommand, sorted by name.
#include "subcommands/table.h"

namespace mq::subcommands {

extern const cli::Subcommand kCertgen;
extern const cli::Subcommand kCheck;
extern const cli::Subcommand kDb;
extern const cli::Subcommand kPasswd;
extern const cli::Subcommand kPub;
extern const cli::Subcommand kRr;
extern const cli::Subcommand kServe;
extern const cli::Subcommand kSub;

std::span<const cli::Subcommand> table() {
  static const cli::Subcommand kTable[] = {
      kCertgen, kCheck, kDb, kPasswd, kPub, kRr, kServe, kSub,
  };
  return kTable;
}

}  // namespace mq::subcommands
