#include "cli/flag_table.h"

#include <cxxopts.hpp>
#include <vector>

namespace mq::cli {

namespace {

// cxxopts' spelling of the names: "c,config-file", "b", "force".
std::string cxxopts_names(const FlagSpec& f) {
  std::string names;
  if (f.short_name) names += f.short_name;
  if (f.short_name && f.long_name) names += ',';
  if (f.long_name) names += f.long_name;
  return names;
}

std::shared_ptr<const cxxopts::Value> cxxopts_value(FlagValue v) {
  switch (v) {
    case FlagValue::kNone:
      break;
    case FlagValue::kString:
      return cxxopts::value<std::string>();
    case FlagValue::kInt:
      return cxxopts::value<int>();
    case FlagValue::kUnsigned:
      return cxxopts::value<unsigned>();
    case FlagValue::kStrings:
      return cxxopts::value<std::vector<std::string>>();
    case FlagValue::kInts:
      return cxxopts::value<std::vector<int>>();
  }
  return cxxopts::value<bool>();
}

}  // namespace

void declare_flag(cxxopts::Options& options, const FlagSpec& flag) {
  options.add_options()(cxxopts_names(flag), flag.help, cxxopts_value(flag.value),
                        flag.metavar ? flag.metavar : "");
}

bool flag_matches(const FlagSpec& flag, std::string_view arg, bool as_mosquitto) {
  if (flag.mq_only && as_mosquitto) return false;
  if (flag.short_name && arg.size() == 2 && arg[0] == '-' && arg[1] == flag.short_name) return true;
  return flag.long_name && arg.size() > 2 && arg.starts_with("--") && arg.substr(2) == flag.long_name;
}

std::string flag_key(const FlagSpec& flag) {
  return flag.long_name ? std::string(flag.long_name) : std::string(1, flag.short_name);
}

}  // namespace mq::cli
