// The cryptographic primitives the password code needs, and the only place that includes
// mbedTLS headers outside the TLS transport: Debian 13 moves to mbedTLS 3.6, whose API differs
// (no *_ret functions, PBKDF2 takes an md type), so version differences stay in primitives.cc.
// Threading: every function is safe on any thread. random_bytes() shares one CTR-DRBG behind a
// mutex, seeded from getrandom(2) on first use and reseeded by mbedTLS on its own interval.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"

namespace mq::crypto {

using Sha512Digest = std::array<uint8_t, 64>;

// SHA-512 over the concatenation a || b (Mosquitto's `$6$`: password then salt).
Sha512Digest sha512(std::span<const uint8_t> a, std::span<const uint8_t> b = {});

// PBKDF2-HMAC-SHA512 (RFC 8018 section 5.2) filling all of `out`.
// REQUIRES: iterations >= 1.
[[nodiscard]] Status pbkdf2_hmac_sha512(std::string_view password, std::span<const uint8_t> salt,
                                        uint32_t iterations, std::span<uint8_t> out);

// Fills `out` from the process-wide CTR-DRBG. Fails only if the OS gives no entropy.
[[nodiscard]] Status random_bytes(std::span<uint8_t> out);

// True when a and b have the same length and bytes; the time taken depends on the length only.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Overwrites memory in a way the compiler may not remove (passwords, derived keys).
void secure_zero(void* p, size_t n);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace mq::crypto
