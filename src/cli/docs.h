// Manual pages and shell completion, generated from the subcommands' own option declarations
// (Subcommand::add_options; for pub, sub and rr those come from the client option table that
// their parser walks), so the documentation cannot drift from the options. `mq help --man
// NAME` and `mq help --completion SHELL` print them; packaging/ installs what they print.
// Pure text building; single-threaded use.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cli/subcommand.h"

namespace mq::cli {

// roff for mq(1), the overview of every subcommand.
std::string overview_man_page(std::span<const Subcommand> table);
// roff for mq-NAME(1); its NAME section also names the Mosquitto tool it replaces.
std::string man_page(const Subcommand& sub);
// A completion script for `shell` ("bash", "zsh" or "fish") covering `mq SUBCOMMAND` and the
// Mosquitto names; empty for an unknown shell.
std::string completion_script(std::span<const Subcommand> table, std::string_view shell);

}  // namespace mq::cli
