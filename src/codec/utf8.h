// UTF-8 validation as MQTT requires of every UTF-8 Encoded String (section 1.5.4).
// Pure function; safe on any thread.
#pragma once

#include <string_view>

namespace mq::codec {

// True when s is well-formed UTF-8 (RFC 3629: no overlong forms, nothing above U+10FFFF, no
// UTF-16 surrogates U+D800..U+DFFF [MQTT-1.5.4-1]) and contains no U+0000 [MQTT-1.5.4-2] (3.1.1:
// [MQTT-1.5.3-1], [-2]). Also refused, as MQTT allows [MQTT-1.5.4-1 note] and Mosquitto does
// (checked with 2.0.11: DISCONNECT 0x81): the control characters U+0001..U+001F and
// U+007F..U+009F, and the non-characters U+FDD0..U+FDEF and U+xxFFFE/U+xxFFFF. A broker that
// passed them on would get libmosquitto subscribers disconnected for a malformed packet.
// A BOM (U+FEFF) is kept as data [MQTT-1.5.4-3].
bool valid_utf8(std::string_view s);

}  // namespace mq::codec
