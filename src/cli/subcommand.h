// The multicall table: each subcommand is one descriptor (BusyBox's applet in C++). The table
// itself lives in subcommands/main.cc; this layer only dispatches on it, so unit tests can pass
// their own table. No static self-registration: the linker would drop unreferenced objects.
// Single-threaded: dispatch runs once at process start.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cxxopts {
class Options;
}

namespace mq::cli {

struct FlagSpec;  // cli/flag_table.h

struct Invocation {
  std::string_view prog;   // the name to print in messages: "mosquitto_pub" or "mq pub"
  bool as_mosquitto;       // started under a Mosquitto name: behave exactly like that tool
};

struct Subcommand {
  std::string_view name;            // "pub"
  std::string_view mosquitto_name;  // "mosquitto_pub", or empty when there is none
  std::string_view summary;         // one line for `mq --help`
  // Declares the options, so `--help`, man pages and completion come from one source.
  void (*add_options)(cxxopts::Options& options);
  // argv[0] is the subcommand's own name; returns the process exit status.
  int (*run)(int argc, char** argv, const Invocation& how);
  // The rows of its flag table (cli/flag_table.h), which add_options declares; nullptr for the
  // client tools, whose table is client/option_table.h. Tests check each row reaches the docs.
  std::vector<FlagSpec> (*flags)() = nullptr;
};

// Dispatches on the basename of argv[0] (a leading '-' stripped), then on argv[1] for `mq`.
// Returns the exit status; 127 for an unknown name.
int dispatch(std::span<const Subcommand> table, int argc, char** argv);

// `mq help NAME` text for one subcommand, built from its option declarations.
std::string subcommand_help(const Subcommand& sub);

}  // namespace mq::cli
