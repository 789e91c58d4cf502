#include "crypto/primitives.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha512.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace mq::crypto {

namespace {

// mbedTLS entropy callback reading the kernel's CSPRNG directly.
int os_entropy(void* /*unused*/, unsigned char* out, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(out + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    }
    done += size_t(n);
  }
  return 0;
}

class Drbg {
 public:
  Drbg() { mbedtls_ctr_drbg_init(&ctx_); }
  ~Drbg() { mbedtls_ctr_drbg_free(&ctx_); }
  Drbg(const Drbg&) = delete;
  Drbg& operator=(const Drbg&) = delete;

  Status fill(std::span<uint8_t> out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!seeded_) {
      static const char kPersonal[] = "mq password salt";
      int rc = mbedtls_ctr_drbg_seed(&ctx_, os_entropy, nullptr,
                                     reinterpret_cast<const unsigned char*>(kPersonal),
                                     sizeof kPersonal - 1);
      if (rc != 0) return make_error(ErrorKind::kIo, "random generator: no entropy from the OS");
      seeded_ = true;
    }
    while (!out.empty()) {  // one request is limited to MBEDTLS_CTR_DRBG_MAX_REQUEST bytes
      size_t n = std::min<size_t>(out.size(), MBEDTLS_CTR_DRBG_MAX_REQUEST);
      if (mbedtls_ctr_drbg_random(&ctx_, out.data(), n) != 0) {
        return make_error(ErrorKind::kIo, "random generator failed");
      }
      out = out.subspan(n);
    }
    return {};
  }

 private:
  std::mutex mu_;
  bool seeded_ = false;
  mbedtls_ctr_drbg_context ctx_;
};

}  // namespace

Sha512Digest sha512(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  Sha512Digest digest;
  mbedtls_sha512_context ctx;
  mbedtls_sha512_init(&ctx);
  mbedtls_sha512_starts(&ctx, 0);
  mbedtls_sha512_update(&ctx, a.data(), a.size());
  mbedtls_sha512_update(&ctx, b.data(), b.size());
  mbedtls_sha512_finish(&ctx, digest.data());
  mbedtls_sha512_free(&ctx);
  return digest;
}

Status pbkdf2_hmac_sha512(std::string_view password, std::span<const uint8_t> salt,
                          uint32_t iterations, std::span<uint8_t> out) {
  if (iterations == 0) return make_error(ErrorKind::kInternal, "pbkdf2: zero iterations");
  auto pw = reinterpret_cast<const unsigned char*>(password.data());
  int rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA512, pw, password.size(), salt.data(),
                                         salt.size(), iterations, uint32_t(out.size()), out.data());
  if (rc != 0)
    return make_error(ErrorKind::kInternal, "pbkdf2 failed (" + std::to_string(rc) + ")");
  return {};
}

Status random_bytes(std::span<uint8_t> out) {
  static Drbg drbg;
  return drbg.fill(out);
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

void secure_zero(void* p, size_t n) {
  volatile unsigned char* v = static_cast<volatile unsigned char*>(p);
  while (n--) *v++ = 0;
}

}  // namespace mq::crypto
