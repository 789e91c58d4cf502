// Certificate policy (crypto/cert.h) and the mbedTLS backend beneath it: names and addresses,
// what a CA / server / client certificate contains, CA checks, renewal and CSR parsing.
#include "crypto/cert.h"

#include <gtest/gtest.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509.h>
#include <sys/types.h>

#include <ctime>
#include <string>

namespace mq::crypto {
namespace {

// Real time: mbedTLS checks validity against the system clock when verifying chains.
int64_t now() { return int64_t(time(nullptr)); }

CertInfo parse_one(const std::string& pem) {
  auto certs = parse_certificates(pem);
  EXPECT_TRUE(certs.ok()) << (certs.ok() ? "" : certs.error().to_string());
  EXPECT_EQ(certs->size(), 1u);
  return certs->front();
}

struct Ca {
  KeyAndCert files;
  CertAuthority authority;
};

Ca make_ca(KeyType type = KeyType::kEcP256, std::string cn = "") {
  IssueRequest req{CertKind::kCa, std::move(cn), {}, {}, false, 0};
  auto made = create_ca(req, type, now());
  EXPECT_TRUE(made.ok()) << made.error().to_string();
  auto loaded = load_authority(made->cert_pem, made->key_pem);
  EXPECT_TRUE(loaded.ok()) << loaded.error().to_string();
  return Ca{*made, *loaded};
}

// The lifetime asked for: not_after - not_before, less the backdating.
int64_t lifetime_days(const CertInfo& c) {
  return (c.not_after - c.not_before - kBackdateSeconds) / 86400;
}

KeyInfo fresh_key(KeyType type = KeyType::kEcP256, std::string* pem_out = nullptr) {
  auto pem = generate_key_pem(type);
  EXPECT_TRUE(pem.ok());
  auto info = inspect_private_key(*pem);
  EXPECT_TRUE(info.ok());
  if (pem_out) *pem_out = *pem;
  return *info;
}

// --- names and addresses -------------------------------------------------------------------

TEST(CertNames, ParseIp) {
  EXPECT_EQ(*parse_ip("127.0.0.1"), std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(parse_ip("::1")->size(), 16u);
  EXPECT_EQ(parse_ip("[fe80::1]")->size(), 16u);
  EXPECT_EQ(format_ip(*parse_ip("::1")), "::1");
  EXPECT_EQ(format_ip(*parse_ip("10.1.2.3")), "10.1.2.3");
  for (const char* bad : {"", "1.2.3", "256.1.1.1", "localhost", "1.2.3.4/24", "::g"}) {
    auto r = parse_ip(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().context.find("is not an IP address"), std::string::npos);
  }
}

TEST(CertNames, DnsNames) {
  for (const char* good : {"localhost", "broker.example.com", "*.example.com", "a-b.c_d.x9"}) {
    EXPECT_TRUE(check_dns_name(good).ok()) << good;
  }
  for (const char* bad : {"", "a..b", ".a", "-a.b", "a-.b", "a b", "a*.b", "*", "x.*.b",
                          "1.2.3.4"}) {
    EXPECT_FALSE(check_dns_name(bad).ok()) << bad;
  }
  EXPECT_FALSE(check_dns_name(std::string(64, 'a') + ".com").ok());
  EXPECT_NE(check_dns_name("1.2.3.4").error().context.find("use --ip"), std::string::npos);
}

TEST(CertNames, AltNamesAddLocalAndDeduplicate) {
  auto names = build_alt_names({"Broker.Example.", "broker.example"}, {"10.0.0.1", "127.0.0.1"},
                               true);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(format_alt_names(*names),
            "DNS:broker.example, DNS:localhost, IP:10.0.0.1, IP:127.0.0.1, IP:::1");
  auto bare = build_alt_names({}, {"::1"}, false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(format_alt_names(*bare), "IP:::1");
  EXPECT_FALSE(build_alt_names({}, {"300.1.1.1"}, true).ok());
}

TEST(CertNames, Formatting) {
  EXPECT_EQ(format_oid(std::string("\x55\x04\x03", 3)), "2.5.4.3");
  EXPECT_EQ(format_oid(std::string("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9)),
            "1.2.840.113549.1.9.1");
  DistinguishedName dn = {{std::string("\x55\x04\x0a", 3), 12, "Acme"},
                          {std::string("\x55\x04\x03", 3), 12, "alice"}};
  EXPECT_EQ(format_dn(dn), "O=Acme, CN=alice");
  EXPECT_EQ(common_name_of(dn), "alice");
  EXPECT_EQ(format_serial(std::string("\x01\xab", 2)), "01:ab");
  EXPECT_EQ(format_time(0), "1970-01-01 00:00:00 UTC");
  EXPECT_EQ(days_left(86400 * 3, 0), 3);
  EXPECT_EQ(days_left(86400 * 3 - 1, 0), 2);
  EXPECT_EQ(days_left(-1, 0), -1);
  EXPECT_EQ(format_key_usage(key_usage::kKeyCertSign | key_usage::kCrlSign),
            "keyCertSign, cRLSign");
}

TEST(CertNames, KeyTypes) {
  EXPECT_EQ(*parse_key_type("rsa:3072"), KeyType::kRsa3072);
  EXPECT_EQ(*parse_key_type("ec:p384"), KeyType::kEcP384);
  auto bad = parse_key_type("dsa:1024");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().context.find("unknown key type 'dsa:1024'"), std::string::npos);
}

// --- issuing ---------------------------------------------------------------------------------

TEST(CertIssue, CaCertificate) {
  Ca ca = make_ca(KeyType::kEcP256, "Test Root");
  CertInfo c = parse_one(ca.files.cert_pem);
  EXPECT_EQ(format_dn(c.subject), "CN=Test Root");
  EXPECT_EQ(c.subject, c.issuer);
  EXPECT_TRUE(c.is_ca);
  EXPECT_EQ(c.path_len, 0);
  EXPECT_TRUE(c.has_key_usage);
  EXPECT_EQ(c.key_usage, key_usage::kKeyCertSign | key_usage::kCrlSign);
  EXPECT_FALSE(c.has_ext_key_usage);
  EXPECT_EQ(c.key.description, "EC P-256");
  EXPECT_EQ(lifetime_days(c), kCaDays);
  EXPECT_LE(c.not_before, now() - kBackdateSeconds + 5);
  EXPECT_EQ(c.serial.size(), 16u);
  EXPECT_EQ(uint8_t(c.serial[0]) & 0xc0, 0x40);  // positive, never a leading zero byte
  EXPECT_EQ(*verify_chain({c}, {c}), "");
  EXPECT_EQ(ca.files.key_pem.rfind("-----BEGIN EC PRIVATE KEY-----", 0), 0u);
}

TEST(CertIssue, DefaultCaNamesDiffer) {
  Ca a = make_ca(), b = make_ca();
  std::string cn = common_name_of(parse_one(a.files.cert_pem).subject);
  EXPECT_EQ(cn.rfind("mq CA ", 0), 0u);
  EXPECT_EQ(cn.size(), 14u);
  EXPECT_NE(cn, common_name_of(parse_one(b.files.cert_pem).subject));
}

TEST(CertIssue, ServerCertificate) {
  Ca ca = make_ca();
  KeyInfo key = fresh_key();
  IssueRequest req{CertKind::kServer, "", {"mqtt.example"}, {"192.0.2.7"}, true, 30};
  auto names = build_alt_names(req.dns, req.ip, true);
  std::vector<std::string> notes;
  auto pem = issue_leaf(req, key, *names, nullptr, ca.authority, now(), &notes);
  ASSERT_TRUE(pem.ok()) << pem.error().to_string();
  EXPECT_TRUE(notes.empty());
  CertInfo c = parse_one(*pem);
  EXPECT_EQ(format_dn(c.subject), "CN=mqtt.example");
  EXPECT_EQ(c.issuer, ca.authority.cert.subject);
  EXPECT_FALSE(c.is_ca);
  EXPECT_EQ(c.key_usage, key_usage::kDigitalSignature);
  EXPECT_TRUE(c.has_ext_key_usage);
  EXPECT_TRUE(c.server_auth);
  EXPECT_FALSE(c.client_auth);
  EXPECT_EQ(format_alt_names(c.alt_names),
            "DNS:mqtt.example, DNS:localhost, IP:192.0.2.7, IP:127.0.0.1, IP:::1");
  EXPECT_EQ(c.key.public_der, key.public_der);
  EXPECT_EQ(lifetime_days(c), 30);
  EXPECT_EQ(*verify_chain({c}, {ca.authority.cert}), "");
}

TEST(CertIssue, ServerCommonNameFallsBackToIpThenLocalhost) {
  Ca ca = make_ca();
  KeyInfo key = fresh_key();
  IssueRequest by_ip{CertKind::kServer, "", {}, {"10.9.8.7"}, true, 0};
  auto names = build_alt_names({}, by_ip.ip, true);
  auto pem = issue_leaf(by_ip, key, *names, nullptr, ca.authority, now(), nullptr);
  EXPECT_EQ(common_name_of(parse_one(*pem).subject), "10.9.8.7");
  IssueRequest local{CertKind::kServer, "", {}, {}, true, 0};
  names = build_alt_names({}, {}, true);
  pem = issue_leaf(local, key, *names, nullptr, ca.authority, now(), nullptr);
  CertInfo c = parse_one(*pem);
  EXPECT_EQ(common_name_of(c.subject), "localhost");
  EXPECT_EQ(lifetime_days(c), kLeafDays);
}

TEST(CertIssue, ClientCertificate) {
  Ca ca = make_ca();
  KeyInfo key = fresh_key();
  IssueRequest req{CertKind::kClient, "alice", {}, {}, false, 0};
  auto pem = issue_leaf(req, key, AltNames{}, nullptr, ca.authority, now(), nullptr);
  ASSERT_TRUE(pem.ok()) << pem.error().to_string();
  CertInfo c = parse_one(*pem);
  EXPECT_EQ(format_dn(c.subject), "CN=alice");
  EXPECT_TRUE(c.client_auth);
  EXPECT_FALSE(c.server_auth);
  EXPECT_TRUE(c.alt_names.empty());
  IssueRequest nameless{CertKind::kClient, "", {}, {}, false, 0};
  EXPECT_FALSE(issue_leaf(nameless, key, AltNames{}, nullptr, ca.authority, now(), nullptr).ok());
}

TEST(CertIssue, LeafNeverOutlivesItsCa) {
  IssueRequest short_ca{CertKind::kCa, "Short", {}, {}, false, 10};
  auto made = create_ca(short_ca, KeyType::kEcP256, now());
  auto ca = load_authority(made->cert_pem, made->key_pem);
  ASSERT_TRUE(ca.ok());
  IssueRequest req{CertKind::kClient, "bob", {}, {}, false, 365};
  std::vector<std::string> notes;
  auto pem = issue_leaf(req, fresh_key(), AltNames{}, nullptr, *ca, now(), &notes);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(parse_one(*pem).not_after, ca->cert.not_after);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("shortened"), std::string::npos);
}

TEST(CertIssue, RejectsBadRequests) {
  Ca ca = make_ca(KeyType::kEcP256, "Same");
  KeyInfo key = fresh_key();
  IssueRequest days{CertKind::kClient, "x", {}, {}, false, 40000};
  EXPECT_FALSE(issue_leaf(days, key, {}, nullptr, ca.authority, now(), nullptr).ok());
  IssueRequest same{CertKind::kClient, "Same", {}, {}, false, 0};
  auto r = issue_leaf(same, key, {}, nullptr, ca.authority, now(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().context.find("the CA's own"), std::string::npos);
  IssueRequest long_cn{CertKind::kClient, std::string(65, 'x'), {}, {}, false, 0};
  EXPECT_FALSE(issue_leaf(long_cn, key, {}, nullptr, ca.authority, now(), nullptr).ok());
}

// Dates past January 2038, where a 32-bit time_t ends: mq's own conversions (validity_time's
// gmtime_r, the parser's timegm) and mbedTLS's. The 32-bit ARM build uses 64-bit time_t
// (packaging/cross/arm-linux-gnueabihf.ini), and the mbedTLS it links must have been built the
// same way, as mbedtls_time_t crosses the API: a library with a 32-bit time_t would read the low
// half of 2100-01-01 and answer 1963.
TEST(CertTime, DatesAfter2038) {
  EXPECT_EQ(sizeof(time_t), 8u);
  EXPECT_EQ(sizeof(off_t), 8u);
  const int64_t y2040 = 2208988800;  // 2040-01-01 00:00:00 UTC
  IssueRequest req{CertKind::kCa, "Late", {}, {}, false, 0};
  auto made = create_ca(req, KeyType::kEcP256, y2040);
  ASSERT_TRUE(made.ok()) << made.error().to_string();
  CertInfo c = parse_one(made->cert_pem);
  EXPECT_EQ(c.not_before, y2040 - kBackdateSeconds);
  EXPECT_EQ(c.not_after, y2040 + int64_t(kCaDays) * 86400);
  EXPECT_EQ(format_time(c.not_after), "2049-12-29 00:00:00 UTC");

  const mbedtls_time_t y2100 = 4102444800;  // 2100-01-01 00:00:00 UTC
  mbedtls_x509_time x{};
  ASSERT_EQ(mbedtls_x509_time_gmtime(y2100, &x), 0);
  EXPECT_EQ(x.year, 2100);
  EXPECT_EQ(x.mon, 1);
  EXPECT_EQ(x.day, 1);
  struct tm tm {};
  ASSERT_NE(mbedtls_platform_gmtime_r(&y2100, &tm), nullptr);
  EXPECT_EQ(tm.tm_year + 1900, 2100);
  EXPECT_EQ(tm.tm_yday, 0);
}

TEST(CertIssue, P384CaSignsWithSha384AndRsaServerGetsKeyEncipherment) {
  Ca ca = make_ca(KeyType::kEcP384);
  EXPECT_EQ(ca.authority.cert.key.description, "EC P-384");
  EXPECT_NE(ca.authority.cert.signature_algorithm.find("SHA384"), std::string::npos);
  KeyInfo rsa = fresh_key(KeyType::kRsa2048);
  EXPECT_TRUE(rsa.rsa);
  EXPECT_EQ(rsa.description, "RSA 2048");
  IssueRequest req{CertKind::kServer, "", {}, {}, true, 0};
  auto pem = issue_leaf(req, rsa, *build_alt_names({}, {}, true), nullptr, ca.authority, now(),
                        nullptr);
  ASSERT_TRUE(pem.ok()) << pem.error().to_string();
  CertInfo c = parse_one(*pem);
  EXPECT_EQ(c.key_usage, key_usage::kDigitalSignature | key_usage::kKeyEncipherment);
  EXPECT_EQ(c.key.description, "RSA 2048");
  EXPECT_EQ(*verify_chain({c}, {ca.authority.cert}), "");
}

// --- CA checks ---------------------------------------------------------------------------------

TEST(CertAuthorityTest, KeyMustMatchAndCertMustBeCa) {
  Ca a = make_ca(), b = make_ca();
  auto mismatch = load_authority(a.files.cert_pem, b.files.key_pem);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().context.find("does not match"), std::string::npos);

  std::string leaf_key;
  KeyInfo key = fresh_key(KeyType::kEcP256, &leaf_key);
  IssueRequest req{CertKind::kClient, "carol", {}, {}, false, 0};
  auto leaf = issue_leaf(req, key, {}, nullptr, a.authority, now(), nullptr);
  auto not_ca = load_authority(*leaf, leaf_key);
  ASSERT_FALSE(not_ca.ok());
  EXPECT_NE(not_ca.error().context.find("not a CA certificate"), std::string::npos);

  EXPECT_FALSE(load_authority("garbage", a.files.key_pem).ok());
  EXPECT_FALSE(load_authority(a.files.cert_pem, "garbage").ok());
}

TEST(CertAuthorityTest, ChainFailsAgainstAnotherCa) {
  Ca a = make_ca(), b = make_ca();
  IssueRequest req{CertKind::kClient, "dave", {}, {}, false, 0};
  auto leaf = issue_leaf(req, fresh_key(), {}, nullptr, a.authority, now(), nullptr);
  auto verdict = verify_chain({parse_one(*leaf)}, {b.authority.cert});
  ASSERT_TRUE(verdict.ok());
  EXPECT_NE(verdict->find("not signed by the given CA"), std::string::npos);
}

// --- renewal -----------------------------------------------------------------------------------

TEST(CertRenew, KeepsNamesKeyAndUsage) {
  Ca ca = make_ca();
  KeyInfo key = fresh_key();
  IssueRequest req{CertKind::kServer, "", {"renew.example"}, {"198.51.100.1"}, false, 20};
  auto names = build_alt_names(req.dns, req.ip, false);
  CertInfo old = parse_one(*issue_leaf(req, key, *names, nullptr, ca.authority, now(), nullptr));
  auto renewed = renew_certificate(old, key, ca.authority, 0, now(), nullptr);
  ASSERT_TRUE(renewed.ok()) << renewed.error().to_string();
  CertInfo c = parse_one(*renewed);
  EXPECT_EQ(c.subject, old.subject);
  EXPECT_EQ(format_alt_names(c.alt_names), format_alt_names(old.alt_names));
  EXPECT_EQ(c.key.public_der, old.key.public_der);
  EXPECT_TRUE(c.server_auth);
  EXPECT_NE(c.serial, old.serial);
  EXPECT_EQ(lifetime_days(c), 20);  // the old lifetime again
  auto longer = renew_certificate(old, key, ca.authority, 90, now(), nullptr);
  EXPECT_EQ(lifetime_days(parse_one(*longer)), 90);
}

TEST(CertRenew, SelfSignedCaKeepsItsChains) {
  Ca ca = make_ca();
  IssueRequest req{CertKind::kClient, "erin", {}, {}, false, 0};
  CertInfo leaf = parse_one(*issue_leaf(req, fresh_key(), {}, nullptr, ca.authority, now(),
                                        nullptr));
  auto renewed = renew_certificate(ca.authority.cert, ca.authority.cert.key, ca.authority, 0,
                                   now(), nullptr);
  ASSERT_TRUE(renewed.ok());
  CertInfo c = parse_one(*renewed);
  EXPECT_TRUE(c.is_ca);
  EXPECT_EQ(c.path_len, 0);
  EXPECT_EQ(c.subject, c.issuer);
  EXPECT_EQ(*verify_chain({leaf}, {c}), "");  // old leaves verify against the renewed CA
}

// --- CSRs ----------------------------------------------------------------------------------------

// openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Acme/CN=device7"
//   -addext "subjectAltName=DNS:device7.local,IP:192.168.1.7"
const char kCsr[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIBDTCBtAIBADAhMQ0wCwYDVQQKDARBY21lMRAwDgYDVQQDDAdkZXZpY2U3MFkw\n"
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUtC1xnE+LcXyNFidTMGxTy8Lc9eMQiCr\n"
    "zIhvlb/DA7zXfHff7m45EMH6w8zz7C5dkRyMWazg+BUOycFUhEZN9KAxMC8GCSqG\n"
    "SIb3DQEJDjEiMCAwHgYDVR0RBBcwFYINZGV2aWNlNy5sb2NhbIcEwKgBBzAKBggq\n"
    "hkjOPQQDAgNIADBFAiEAtXQogRYgHKmCcJBAvgkiEeF/xNj6QZM4JeI4+s+rZB4C\n"
    "IDEYGA2diWs12wIqAj/e39LlerGrWu/5TP7PBnGXsgZO\n"
    "-----END CERTIFICATE REQUEST-----\n";

TEST(CertCsr, ParsesSubjectKeyAndRequestedNames) {
  auto csr = parse_csr(kCsr);
  ASSERT_TRUE(csr.ok()) << csr.error().to_string();
  EXPECT_EQ(format_dn(csr->subject), "O=Acme, CN=device7");
  EXPECT_EQ(csr->key.description, "EC P-256");
  EXPECT_EQ(format_alt_names(csr->alt_names), "DNS:device7.local, IP:192.168.1.7");

  Ca ca = make_ca();
  IssueRequest req{CertKind::kClient, "", {}, {}, false, 0};
  auto pem = issue_leaf(req, csr->key, csr->alt_names, &csr->subject, ca.authority, now(),
                        nullptr);
  ASSERT_TRUE(pem.ok()) << pem.error().to_string();
  CertInfo c = parse_one(*pem);
  EXPECT_EQ(c.subject, csr->subject);  // attribute order and string types survive
  EXPECT_EQ(c.key.public_der, csr->key.public_der);
}

TEST(CertCsr, RejectsABadSignature) {
  std::string tampered = kCsr;
  size_t at = tampered.find("sgZO");
  ASSERT_NE(at, std::string::npos);
  tampered[at + 2] = 'Y';
  EXPECT_FALSE(parse_csr(tampered).ok());
  EXPECT_FALSE(parse_csr("not a csr").ok());
}

}  // namespace
}  // namespace mq::crypto
