// The multicall entry point: dispatch on the table (subcommands/table.cc).
#include "cli/subcommand.h"
#include "subcommands/table.h"

int main(int argc, char** argv) { return mq::cli::dispatch(mq::subcommands::table(), argc, argv); }
