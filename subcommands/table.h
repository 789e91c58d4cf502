// The multicall table: every subcommand, sorted by name (subcommands/table.cc). main.cc
// dispatches on it; tests read it to check what each subcommand declares.
#pragma once

#include <span>

#include "cli/subcommand.h"

namespace mq::subcommands {

std::span<const cli::Subcommand> table();

}  // namespace mq::subcommands
