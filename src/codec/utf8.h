// UTF-8 validation as MQTT requires of every UTF-8 Encoded String (section 1.5.4).
// Pure function; safe on any thread.
#pragma once

#include <string_view>

namespace mq::codec {

// True when s is well-formed UTF-8 (RFC 3629: no overlong forms, nothing above U+10FFFF, no
// UTF-16 surrogates U+D800..U+DFFF [MQTT-1.5.4-1]) and contains no U+0000 [MQTT-1.5.4-2] (3.1.1:
// [MQTT-1.5.3-1], [-2]). Other control characters and non-characters are allowed; a BOM (U+FEFF) is
// kept as data [MQTT-1.5.4-3].
bool valid_utf8(std::string_view s);

}  // namespace mq::codec
