// The version of mq, printed by every subcommand and published in $SYS.
#pragma once

namespace mq {
inline constexpr const char* kVersion = "0.1.0";
}
