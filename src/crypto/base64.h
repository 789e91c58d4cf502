// Standard base64 (RFC 4648 section 4: alphabet `A-Z a-z 0-9 + /`), as Mosquitto's password file
// (with `=` padding) and the Argon2 PHC string (without padding) use it. No line breaks.
// Pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mq::crypto {

enum class Base64Padding : uint8_t { kPad, kNoPad };

std::string base64_encode(std::span<const uint8_t> bytes, Base64Padding pad = Base64Padding::kPad);

// Decodes `text`; nullopt on any character outside the alphabet, on a length that cannot be
// base64, or on padding in the wrong place. Padding is optional unless `require_padding`;
// either way unused low bits of the last character must be zero (one encoding per value).
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text,
                                                  bool require_padding = false);

}  // namespace mq::crypto
