// Argument checks Mosquitto's clients apply to topics on the command line (libmosquitto's
// mosquitto_pub_topic_check / mosquitto_sub_topic_check / mosquitto_validate_utf8): looser than
// the codec's, e.g. an empty topic passes here and fails later. Pure functions.
#pragma once

#include <string_view>

namespace mq::client {

bool valid_utf8_arg(std::string_view s);  // well-formed UTF-8, at most 65535 bytes
bool pub_topic_ok(std::string_view topic);  // no '+' or '#', at most 65535 bytes
bool sub_topic_ok(std::string_view filter); // '+' a whole level, '#' a whole last level

}  // namespace mq::client
