// Known-answer tests of the public-key arithmetic behind mq's TLS handshakes, as linked into mq:
// packaging/mbedtls builds it at -O3 and patches it (prime-inverse.patch: Fermat inverses in
// elliptic-curve arithmetic and ECDSA; p256-reduction.patch: the P-256 fast reduction;
// x25519-everest-psa.patch: X25519 public keys through Everest). A deterministic ECDSA
// signature depends on every one of those steps, so a wrong inverse or reduction changes it.
#include <gtest/gtest.h>
#include <mbedtls/ecdsa.h>
extern "C" {  // psa_util.h has no C++ guards of its own
#include <mbedtls/psa_util.h>
}
#include <psa/crypto.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mq::net {
namespace {

std::vector<uint8_t> unhex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::string mpi_hex(const mbedtls_mpi& x) {
  uint8_t buf[66];
  size_t n = mbedtls_mpi_size(&x);
  if (n > sizeof buf || mbedtls_mpi_write_binary(&x, buf, n) != 0) return "?";
  return hex(buf, n);
}

// RFC 6979 A.2.5: P-256, SHA-256, message "sample".
TEST(TlsCrypto, DeterministicEcdsaP256MatchesRfc6979) {
  ASSERT_EQ(psa_crypto_init(), PSA_SUCCESS);  // the blinding values come from PSA's generator
  mbedtls_ecp_group grp;
  mbedtls_mpi d, r, s;
  mbedtls_ecp_group_init(&grp);
  mbedtls_mpi_init(&d);
  mbedtls_mpi_init(&r);
  mbedtls_mpi_init(&s);
  ASSERT_EQ(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1), 0);
  ASSERT_EQ(mbedtls_mpi_read_string(
                &d, 16, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"),
            0);
  const std::vector<uint8_t> hash =
      unhex("AF2BDBE1AA9B6EC1E2ADE1D694F41FC71A831D0268E9891562113D8A62ADD1BF");
  // Several rounds: the blinding differs every time, the signature must not.
  for (int round = 0; round < 4; round++) {
    ASSERT_EQ(mbedtls_ecdsa_sign_det_ext(&grp, &r, &s, &d, hash.data(), hash.size(),
                                         MBEDTLS_MD_SHA256, mbedtls_psa_get_random,
                                         MBEDTLS_PSA_RANDOM_STATE),
              0);
    EXPECT_EQ(mpi_hex(r), "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716");
    EXPECT_EQ(mpi_hex(s), "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
  }
  mbedtls_mpi_free(&s);
  mbedtls_mpi_free(&r);
  mbedtls_mpi_free(&d);
  mbedtls_ecp_group_free(&grp);
}

// RFC 7748 6.1: both public keys and the shared secret, through PSA as TLS 1.3 key shares go.
TEST(TlsCrypto, X25519MatchesRfc7748) {
  ASSERT_EQ(psa_crypto_init(), PSA_SUCCESS);
  const std::vector<uint8_t> alice_priv =
      unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const std::vector<uint8_t> bob_priv =
      unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
  psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
  psa_set_key_bits(&a, 255);
  psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
  psa_set_key_algorithm(&a, PSA_ALG_ECDH);
  psa_key_id_t alice = 0, bob = 0;
  ASSERT_EQ(psa_import_key(&a, alice_priv.data(), alice_priv.size(), &alice), PSA_SUCCESS);
  ASSERT_EQ(psa_import_key(&a, bob_priv.data(), bob_priv.size(), &bob), PSA_SUCCESS);
  uint8_t alice_pub[32], bob_pub[32], shared[32];
  size_t n = 0;
  ASSERT_EQ(psa_export_public_key(alice, alice_pub, sizeof alice_pub, &n), PSA_SUCCESS);
  EXPECT_EQ(hex(alice_pub, n), "8520F0098930A754748B7DDCB43EF75A0DBF3A0D26381AF4EBA4A98EAA9B4E6A");
  ASSERT_EQ(psa_export_public_key(bob, bob_pub, sizeof bob_pub, &n), PSA_SUCCESS);
  EXPECT_EQ(hex(bob_pub, n), "DE9EDB7D7B7DC1B4D35B61C2ECE435373F8343C85B78674DADFC7E146F882B4F");
  ASSERT_EQ(psa_raw_key_agreement(PSA_ALG_ECDH, alice, bob_pub, sizeof bob_pub, shared,
                                  sizeof shared, &n),
            PSA_SUCCESS);
  EXPECT_EQ(hex(shared, n), "4A5D9D5BA4CE2DE1728E3BF480350F25E07E21C947D19E3376F09B3C1E161742");
  ASSERT_EQ(psa_raw_key_agreement(PSA_ALG_ECDH, bob, alice_pub, sizeof alice_pub, shared,
                                  sizeof shared, &n),
            PSA_SUCCESS);
  EXPECT_EQ(hex(shared, n), "4A5D9D5BA4CE2DE1728E3BF480350F25E07E21C947D19E3376F09B3C1E161742");
  psa_destroy_key(alice);
  psa_destroy_key(bob);
}

}  // namespace
}  // namespace mq::net
