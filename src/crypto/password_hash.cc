#include "crypto/password_hash.h"

#include <argon2.h>

#include <charconv>

#include "crypto/base64.h"
#include "crypto/primitives.h"

namespace mq::crypto {

namespace {

constexpr size_t kSha512Bytes = 64;
constexpr size_t kMinSaltBytes = ARGON2_MIN_SALT_LENGTH;  // 8; Mosquitto writes 12 or 64
constexpr size_t kMaxSaltBytes = 1024;
constexpr uint32_t kMaxArgon2Lanes = 64;
constexpr uint32_t kMaxArgon2MemoryKib = 4u * 1024 * 1024;  // 4 GiB

Error bad(const char* why) {
  return make_error(ErrorKind::kConfig, why);
}

// Splits on every '$' (empty fields kept); `s` starts with '$', so fields[0] is empty.
std::vector<std::string_view> split_dollar(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t d = s.find('$', start);
    if (d == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, d - start));
    start = d + 1;
  }
}

bool parse_u32(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > UINT32_MAX) return false;
  *out = uint32_t(v);
  return true;
}

// "m=47104,t=1,p=1" in that order (the PHC string format for Argon2).
bool parse_argon2_params(std::string_view s, uint32_t* m, uint32_t* t, uint32_t* p) {
  const std::string_view keys[3] = {"m=", "t=", "p="};
  uint32_t* outs[3] = {m, t, p};
  for (int i = 0; i < 3; i++) {
    if (s.substr(0, 2) != keys[i]) return false;
    s.remove_prefix(2);
    size_t comma = s.find(',');
    std::string_view num = s.substr(0, comma);
    if (!parse_u32(num, outs[i])) return false;
    if (i < 2 && comma == std::string_view::npos) return false;
    if (i == 2 && comma != std::string_view::npos) return false;
    s.remove_prefix(i < 2 ? comma + 1 : num.size());
  }
  return true;
}

bool argon2_params_ok(uint32_t m, uint32_t t, uint32_t p) {
  return t >= 1 && p >= 1 && p <= kMaxArgon2Lanes && m >= 8 * p && m <= kMaxArgon2MemoryKib;
}

}  // namespace

const char* hash_kind_name(HashKind kind) {
  switch (kind) {
    case HashKind::kSha512:
      return "sha512";
    case HashKind::kSha512Pbkdf2:
      return "sha512-pbkdf2";
    case HashKind::kArgon2id:
      return "argon2id";
  }
  return "?";
}

bool parse_hash_kind(std::string_view name, HashKind* kind) {
  for (HashKind k : {HashKind::kSha512, HashKind::kSha512Pbkdf2, HashKind::kArgon2id}) {
    if (name == hash_kind_name(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

Result<PasswordHash> PasswordHash::parse(std::string_view encoded) {
  if (encoded.size() < 2 || encoded[0] != '$') {
    // Mosquitto: no '$' fields at all is a bad hash, a first field other than 6/7 a bad type.
    if (encoded.empty()) return bad("Invalid password hash");
    return bad("Invalid password hash type");
  }
  std::vector<std::string_view> f = split_dollar(encoded);
  PasswordHash h;
  size_t salt_field = 0;
  if (f[1] == "6") {
    h.kind_ = HashKind::kSha512;
    salt_field = 2;
  } else if (f[1] == "7") {
    h.kind_ = HashKind::kSha512Pbkdf2;
    if (f.size() < 3 || !parse_u32(f[2], &h.cost_) || h.cost_ == 0 || h.cost_ > INT32_MAX) {
      return bad("Invalid hash iterations");
    }
    salt_field = 3;
  } else if (f[1] == "argon2id") {
    h.kind_ = HashKind::kArgon2id;
    if (f.size() != 6 || f[2] != "v=19" ||
        !parse_argon2_params(f[3], &h.memory_kib_, &h.cost_, &h.lanes_) ||
        !argon2_params_ok(h.memory_kib_, h.cost_, h.lanes_)) {
      return bad("Invalid argon2id parameters");
    }
    salt_field = 4;
  } else {
    return bad("Invalid password hash type");
  }
  if (f.size() <= salt_field || f[salt_field].empty()) return bad("Invalid password hash");
  auto salt = base64_decode(f[salt_field]);
  if (!salt || salt->size() < kMinSaltBytes || salt->size() > kMaxSaltBytes) {
    return bad("Unable to decode password salt");
  }
  h.salt_ = std::move(*salt);
  if (f.size() != salt_field + 2 || f[salt_field + 1].empty()) return bad("Invalid password hash");
  auto hash = base64_decode(f[salt_field + 1]);
  if (!hash) return bad("Unable to decode password");
  if (h.kind_ == HashKind::kArgon2id ? (hash->size() < ARGON2_MIN_OUTLEN || hash->size() > 1024)
                                     : hash->size() != kSha512Bytes) {
    return bad("Unable to decode password");
  }
  h.hash_ = std::move(*hash);
  return h;
}

Result<PasswordHash> PasswordHash::create(std::string_view password, const HashParams& params) {
  PasswordHash h;
  h.kind_ = params.kind;
  size_t salt_bytes = kMosquittoSaltBytes;
  size_t hash_bytes = kSha512Bytes;
  if (params.kind == HashKind::kSha512Pbkdf2) {
    if (params.iterations == 0 || params.iterations > INT32_MAX) {
      return make_error(ErrorKind::kConfig, "Number of iterations must be > 0.");
    }
    h.cost_ = params.iterations;
  } else if (params.kind == HashKind::kArgon2id) {
    if (!argon2_params_ok(params.argon2_memory_kib, params.argon2_time_cost,
                          params.argon2_parallelism)) {
      return make_error(ErrorKind::kConfig, "Invalid argon2id parameters.");
    }
    h.cost_ = params.argon2_time_cost;
    h.memory_kib_ = params.argon2_memory_kib;
    h.lanes_ = params.argon2_parallelism;
    salt_bytes = kArgon2SaltBytes;
    hash_bytes = kArgon2HashBytes;
  }
  h.salt_.resize(salt_bytes);
  if (Status st = random_bytes(h.salt_); !st) return st.error();
  h.hash_.resize(hash_bytes);
  if (!h.compute(password, &h.hash_)) {
    return make_error(ErrorKind::kInternal, "Unable to hash password.");
  }
  return h;
}

bool PasswordHash::compute(std::string_view password, std::vector<uint8_t>* out) const {
  out->resize(hash_.size());
  switch (kind_) {
    case HashKind::kSha512: {
      Sha512Digest d = sha512(as_bytes(password), salt_);
      std::copy(d.begin(), d.end(), out->begin());
      secure_zero(d.data(), d.size());
      return true;
    }
    case HashKind::kSha512Pbkdf2:
      return pbkdf2_hmac_sha512(password, salt_, cost_, *out).ok();
    case HashKind::kArgon2id:
      return argon2id_hash_raw(cost_, memory_kib_, lanes_, password.data(), password.size(),
                               salt_.data(), salt_.size(), out->data(), out->size()) == ARGON2_OK;
  }
  return false;
}

bool PasswordHash::verify(std::string_view password) const {
  std::vector<uint8_t> candidate;
  bool ok = compute(password, &candidate) && constant_time_equal(candidate, hash_);
  secure_zero(candidate.data(), candidate.size());
  return ok;
}

std::string PasswordHash::encode() const {
  switch (kind_) {
    case HashKind::kSha512:
      return "$6$" + base64_encode(salt_) + "$" + base64_encode(hash_);
    case HashKind::kSha512Pbkdf2:
      return "$7$" + std::to_string(cost_) + "$" + base64_encode(salt_) + "$" +
             base64_encode(hash_);
    case HashKind::kArgon2id:
      return "$argon2id$v=19$m=" + std::to_string(memory_kib_) + ",t=" + std::to_string(cost_) +
             ",p=" + std::to_string(lanes_) + "$" + base64_encode(salt_, Base64Padding::kNoPad) +
             "$" + base64_encode(hash_, Base64Padding::kNoPad);
  }
  return {};
}

Result<std::string> hash_password(std::string_view password, const HashParams& params) {
  Result<PasswordHash> h = PasswordHash::create(password, params);
  if (!h) return h.error();
  return h->encode();
}

}  // namespace mq::crypto
