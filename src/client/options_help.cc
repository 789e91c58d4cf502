// `mq help pub|sub|rr`: the option table (option_table.cc) as cxxopts declarations, so cxxopts
// builds the text. Parsing itself is options.cc, which follows Mosquitto's rules and messages.
#include <cxxopts.hpp>
#include <string>

#include "client/option_table.h"
#include "client/options.h"

namespace mq::client {

void add_cxxopts(cxxopts::Options& options, Tool tool) {
  for (const OptionSpec& o : client_options()) {
    if (!applies_to(o, tool, true) || o.group == Group::kInfo) continue;
    std::string names;  // cxxopts' "h,host", "A", "unix"
    if (o.short_name) names = std::string(1, o.short_name);
    if (o.short_name && o.long_name) names += ',';
    if (o.long_name) names += o.long_name;
    auto adder = options.add_options(group_name(o.group));
    switch (o.arg) {
      case ArgKind::kNone: adder(names, o.help); break;
      case ArgKind::kInt: adder(names, o.help, cxxopts::value<int>()); break;
      case ArgKind::kString:
      case ArgKind::kDecimal:
      case ArgKind::kProperty: adder(names, o.help, cxxopts::value<std::string>()); break;
    }
  }
}

}  // namespace mq::client
