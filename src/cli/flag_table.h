// A subcommand's flags, declared once in a table: its parser looks each argument up there, and
// add_flags() declares the same rows to cxxopts, from which `mq help`, man pages and shell
// completion are made (cli/docs.cc). A subcommand that parses with cxxopts itself reads the
// values back by flag_key(). The client tools have their own, richer table
// (client/option_table.h). Tables are constant data; safe to read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cxxopts {
class Options;
}

namespace mq::cli {

// What follows the flag on the command line, as cxxopts is told to read it.
enum class FlagValue : uint8_t {
  kNone,
  kString,
  kInt,
  kUnsigned,
  kStrings,  // repeatable
  kInts,     // repeatable
};

// The part of a row that names and documents the flag.
struct FlagSpec {
  char short_name = 0;              // 'c' for -c; 0 when none
  const char* long_name = nullptr;  // "config-file" for --config-file; nullptr when none
  FlagValue value = FlagValue::kNone;
  const char* metavar = nullptr;  // the value's name in the docs; nullptr: cxxopts' default
  const char* help = "";          // the one-line description (man page, completion, --help)
  bool mq_only = false;           // refused when started under a Mosquitto name
};

// One row: the subcommand's own identifier (an enum class it switches on) and the flag.
template <class Id>
struct Flag {
  Id id;
  FlagSpec spec;
};

// Declares one flag to cxxopts, in the default group.
void declare_flag(cxxopts::Options& options, const FlagSpec& flag);

// Whether `arg` spells the flag ("-c", "--config-file"), and the flag applies under this name.
bool flag_matches(const FlagSpec& flag, std::string_view arg, bool as_mosquitto);

// The key cxxopts files the flag's value under: its long name, else its short one.
std::string flag_key(const FlagSpec& flag);

template <class Id, size_t N>
void add_flags(cxxopts::Options& options, const Flag<Id> (&flags)[N]) {
  for (const Flag<Id>& f : flags) declare_flag(options, f.spec);
}

// The row `arg` names, or nullptr.
template <class Id, size_t N>
const Flag<Id>* find_flag(const Flag<Id> (&flags)[N], std::string_view arg, bool as_mosquitto) {
  for (const Flag<Id>& f : flags)
    if (flag_matches(f.spec, arg, as_mosquitto)) return &f;
  return nullptr;
}

// For a subcommand that parses with cxxopts: calls take(id, value) for every row given on the
// command line, in table order. `Result` is cxxopts::ParseResult (a template parameter so that
// this header need not include cxxopts).
template <class Result, class Id, size_t N, class Take>
void for_each_given(const Result& parsed, const Flag<Id> (&flags)[N], Take take) {
  for (const Flag<Id>& f : flags) {
    std::string key = flag_key(f.spec);
    if (parsed.count(key)) take(f.id, parsed[key]);
  }
}

// Every row's FlagSpec, for Subcommand::flags.
template <const auto& Table>
std::vector<FlagSpec> flag_specs() {
  std::vector<FlagSpec> out;
  for (const auto& f : Table) out.push_back(f.spec);
  return out;
}

}  // namespace mq::cli
