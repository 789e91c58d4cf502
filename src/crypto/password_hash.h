// Password hashes as Mosquitto's password file stores them:
//   $6$<b64 salt>$<b64 SHA-512(password || salt)>                      (Mosquitto 1.x `-H sha512`)
//   $7$<iterations>$<b64 salt>$<b64 PBKDF2-HMAC-SHA512(password, salt, iterations, 64)>  (2.0)
//   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<b64 salt>$<b64 hash>  (PHC string, as 2.1)
// Reading accepts salts of 8 to 1024 bytes (2.0 only 12 bytes) and any Argon2id parameters within
// libargon2's limits. New `$6$`/`$7$` hashes get 12-byte salts so Debian's Mosquitto 2.0 broker
// accepts them; `$7$` defaults to 1000 iterations (2.1's default; 2.0 reads any count).
// A PasswordHash is an immutable value: verify() is const and safe on any thread. Argon2id
// verification costs ~0.1 s of CPU and megabytes of memory: never on an event-loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mq::crypto {

enum class HashKind : uint8_t { kSha512, kSha512Pbkdf2, kArgon2id };

// The `-H` names: "sha512", "sha512-pbkdf2", "argon2id".
const char* hash_kind_name(HashKind kind);
bool parse_hash_kind(std::string_view name, HashKind* kind);

inline constexpr uint32_t kDefaultPbkdf2Iterations = 1000;
// Argon2id defaults for small devices: 19 MiB, 2 passes, 1 lane (OWASP's lower Argon2id
// setting). One verification took ~140 ms on the 2-core EPYC dev VM with Debian's libargon2;
// Mosquitto 2.1's m=46 MiB, t=1 took ~265 ms there and needs 2.4x the memory per CONNECT.
inline constexpr uint32_t kDefaultArgon2MemoryKib = 19 * 1024;
inline constexpr uint32_t kDefaultArgon2TimeCost = 2;
inline constexpr uint32_t kDefaultArgon2Parallelism = 1;
inline constexpr size_t kMosquittoSaltBytes = 12;  // `$6$` and `$7$` salts (2.0 needs exactly 12)
inline constexpr size_t kArgon2SaltBytes = 16;
inline constexpr size_t kArgon2HashBytes = 32;

struct HashParams {
  HashKind kind = HashKind::kArgon2id;
  uint32_t iterations = kDefaultPbkdf2Iterations;  // sha512-pbkdf2 only
  uint32_t argon2_memory_kib = kDefaultArgon2MemoryKib;
  uint32_t argon2_time_cost = kDefaultArgon2TimeCost;
  uint32_t argon2_parallelism = kDefaultArgon2Parallelism;
};

class PasswordHash {
 public:
  // Parses the password field of a password file line (already trimmed). On failure the error
  // context is Mosquitto 2.0's wording, for "Error: <context> for user X, removing entry.":
  // "Invalid password hash", "Invalid password hash type", "Invalid hash iterations",
  // "Unable to decode password salt", "Unable to decode password", "Invalid argon2id parameters".
  [[nodiscard]] static Result<PasswordHash> parse(std::string_view encoded);

  // Hashes `password` with a fresh random salt.
  [[nodiscard]] static Result<PasswordHash> create(std::string_view password,
                                                   const HashParams& params);

  // Constant-time comparison of the recomputed hash. False also when Argon2 cannot allocate.
  bool verify(std::string_view password) const;

  // The password-file form (see the header comment); parse(encode()) gives the same value.
  std::string encode() const;

  HashKind kind() const { return kind_; }
  uint32_t iterations() const { return cost_; }  // PBKDF2 iterations or Argon2 passes
  const std::vector<uint8_t>& salt() const { return salt_; }

 private:
  PasswordHash() = default;
  // Recomputes the hash of `password` into `out` (sized like hash_). False on failure.
  bool compute(std::string_view password, std::vector<uint8_t>* out) const;

  HashKind kind_ = HashKind::kSha512;
  uint32_t cost_ = 0;        // `$7$` iterations; Argon2 t
  uint32_t memory_kib_ = 0;  // Argon2 m
  uint32_t lanes_ = 0;       // Argon2 p
  std::vector<uint8_t> salt_;
  std::vector<uint8_t> hash_;
};

// Hashes and encodes in one step: the text after "username:" in a password file.
[[nodiscard]] Result<std::string> hash_password(std::string_view password,
                                                const HashParams& params);

}  // namespace mq::crypto
