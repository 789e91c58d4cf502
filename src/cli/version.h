// The version string every subcommand prints.
#pragma once

namespace mq::cli {
inline constexpr const char* kVersion = "0.1.0";
}
