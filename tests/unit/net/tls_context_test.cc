// TlsContext building: option parsing (tls_version, ciphers, PSK files) and errors that name
// the file and the reason.
#include "net/tls_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mbedtls/ssl.h>

#include <fstream>
#include <sstream>

#include "tls_test_util.h"

namespace mq::net {
namespace {

using ::testing::HasSubstr;

// TlsClientOptions with a few fields set (designated initializers warn under -Wextra).
TlsClientOptions client(const std::string& cafile, const std::string& psk = "",
                        const std::string& psk_identity = "") {
  TlsClientOptions o;
  o.cafile = cafile;
  o.psk = psk;
  o.psk_identity = psk_identity;
  return o;
}

// tls_version is the lowest version, as in Mosquitto 2.0; mbedTLS 3.6 has nothing below 1.2.
TEST(TlsVersion, Values) {
  auto v = parse_tls_version("tlsv1.2");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->min_minor, 2);
  EXPECT_EQ(v->max_minor, 3);
  v = parse_tls_version("");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->min_minor, 2);
  EXPECT_EQ(v->max_minor, 3);
  v = parse_tls_version("tlsv1.1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->min_minor, 2);
  EXPECT_EQ(v->max_minor, 3);
  v = parse_tls_version("tlsv1.3");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->min_minor, 3);
  EXPECT_EQ(v->max_minor, 3);
  v = parse_tls_version("", "tlsv1.2");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->min_minor, 2);
  EXPECT_EQ(v->max_minor, 2);
  v = parse_tls_version("tlsv1.3", "tlsv1.2");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.error().context, HasSubstr("above the highest version"));
  v = parse_tls_version("sslv3");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.error().context, HasSubstr("'sslv3'"));
}

TEST(CipherList, Tls13NamesAndDefaults) {
  auto d = parse_tls13_suites("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 3u);  // OpenSSL's default three, no terminating 0 here
  auto l = parse_tls13_suites("TLS_CHACHA20_POLY1305_SHA256:TLS1-3-AES-128-GCM-SHA256");
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0], (*d)[1]);
  EXPECT_EQ((*l)[1], (*d)[2]);
  auto bad = parse_tls13_suites("ECDHE-RSA-AES128-GCM-SHA256");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().context, HasSubstr("ciphers_tls1.3"));
  // The context lists the TLS 1.3 suites first, then the TLS 1.2 ones.
  TlsClientOptions o = client("", "0102", "x");
  o.ciphers_tls13 = "TLS_AES_128_GCM_SHA256";
  auto ctx = TlsContext::client(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().to_string();
  auto names = (*ctx)->cipher_suites();
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], "TLS1-3-AES-128-GCM-SHA256");
  EXPECT_THAT(names[1], HasSubstr("PSK"));
}

TEST(CipherList, OpensslAndIanaNames) {
  auto l =
      parse_cipher_list("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", true, false);
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  EXPECT_EQ(l->size(), 3u);  // two suites and the terminating 0
  EXPECT_EQ(l->back(), 0);
  auto m = parse_cipher_list(
      "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", true, false);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(*m, *l);
  auto n = parse_cipher_list("PSK-AES128-GCM-SHA256,ECDHE-PSK-CHACHA20-POLY1305:!aNULL:@STRENGTH",
                             false, true);
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(n->size(), 3u);
}

TEST(CipherList, DefaultsAreEcdheAead) {
  auto l = parse_cipher_list("", true, false);
  ASSERT_TRUE(l.ok());
  auto ctx = TlsContext::client(client(kOsCaBundle));
  if (!ctx.ok()) GTEST_SKIP() << ctx.error().to_string();
  // TLS 1.3 suites are all AEAD and name no key exchange; the TLS 1.2 ones must be ECDHE.
  for (const std::string& s : (*ctx)->cipher_suites()) {
    if (s.rfind("TLS1-3-", 0) != 0) {
      EXPECT_THAT(s, HasSubstr("ECDHE"));
    }
    EXPECT_THAT(s, ::testing::AnyOf(HasSubstr("GCM"), HasSubstr("CHACHA20-POLY1305")));
  }
  auto psk = TlsContext::client(client("", "0102", "x"));
  ASSERT_TRUE(psk.ok()) << psk.error().to_string();
  for (const std::string& s : (*psk)->cipher_suites()) {
    if (s.rfind("TLS1-3-", 0) != 0) {
      EXPECT_THAT(s, HasSubstr("PSK"));
    }
  }
}

TEST(CipherList, UnknownNameIsNamed) {
  auto l = parse_cipher_list("ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER", true, false);
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.error().context, HasSubstr("'NOT-A-CIPHER'"));
  TlsClientOptions o = client(kOsCaBundle);
  o.ciphers = "RC4-SHA-PLEASE";
  auto ctx = TlsContext::client(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(ctx.error().context, HasSubstr("RC4-SHA-PLEASE"));
}

class TlsContextFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir();
    testing::TestPki pki(dir_);
    pki.make_ca("ca");
    pki.make_server("server", "localhost", {"localhost"}, {});
    pki.make_server("server2", "localhost", {"localhost"}, {});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string f(const std::string& n) { return dir_ + "/" + n; }
  std::string dir_;
};

TEST_F(TlsContextFiles, ServerBuildsAndErrorsNameTheFile) {
  TlsServerOptions o;
  o.certfile = f("server.crt");
  o.keyfile = f("server.key");
  o.cafile = f("ca.crt");
  auto ok = TlsContext::server(o);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_TRUE((*ok)->is_server());

  struct Case {
    std::string TlsServerOptions::*field;
    std::string value;
    std::string want;
  } cases[] = {
      {&TlsServerOptions::certfile, f("missing.crt"),
       "certfile " + f("missing.crt") + ": No such file or directory"},
      {&TlsServerOptions::keyfile, f("nope.key"),
       "keyfile " + f("nope.key") + ": No such file or directory"},
      {&TlsServerOptions::cafile, f("none.crt"),
       "cafile " + f("none.crt") + ": No such file or directory"},
      {&TlsServerOptions::capath, f("nodir"),
       "capath " + f("nodir") + ": No such file or directory"},
      {&TlsServerOptions::crlfile, f("x.crl"),
       "crlfile " + f("x.crl") + ": No such file or directory"},
      {&TlsServerOptions::certfile, f("server.key"), "certfile " + f("server.key") + ": not a"},
      {&TlsServerOptions::keyfile, f("server.crt"), "keyfile " + f("server.crt") + ": not an"},
      {&TlsServerOptions::keyfile, f("server2.key"),
       "keyfile " + f("server2.key") + " does not belong to certfile"},
      {&TlsServerOptions::cafile, dir_, "cafile " + dir_ + ": is a directory"},
      {&TlsServerOptions::tls_version, "tlsv1.4", "expected tlsv1.3, tlsv1.2 or tlsv1.1"},
      {&TlsServerOptions::ciphers_tls13, "TLS_AES_512", "'TLS_AES_512'"},
      {&TlsServerOptions::ciphers, "FOO-BAR", "'FOO-BAR'"},
  };
  for (const Case& c : cases) {
    TlsServerOptions bad = o;
    bad.*c.field = c.value;
    auto r = TlsContext::server(bad);
    ASSERT_FALSE(r.ok()) << c.value;
    EXPECT_THAT(r.error().context, HasSubstr(c.want));
  }

  TlsServerOptions capath = o;
  capath.cafile.clear();
  capath.capath = dir_;  // holds keys too: any certificate that parses is enough
  capath.require_certificate = true;
  EXPECT_TRUE(TlsContext::server(capath).ok());

  TlsServerOptions nothing;
  auto r = TlsContext::server(nothing);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("needs certfile and keyfile, or PSK"));
  TlsServerOptions need_ca = o;
  need_ca.cafile.clear();
  need_ca.require_certificate = true;
  r = TlsContext::server(need_ca);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("require_certificate needs cafile or capath"));
  TlsServerOptions bad_psk = o;
  bad_psk.psk = {{"dev", "xyz"}};
  r = TlsContext::server(bad_psk);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("identity 'dev'"));
}

TEST_F(TlsContextFiles, ClientErrors) {
  auto r = TlsContext::client({});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("cafile, capath or use_os_certs"));
  TlsClientOptions o = client(f("ca.crt"));
  o.certfile = f("server.crt");
  r = TlsContext::client(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("without a keyfile"));
  r = TlsContext::client(client("", "abcd"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("psk_identity"));
  o = client(f("ca.crt"));
  o.tls_version = "tlsv1.1";
  r = TlsContext::client(o);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE((*r)->is_server());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// mbedTLS sends the own certificate chain in one record of at most MBEDTLS_SSL_OUT_CONTENT_LEN
// bytes (8 KiB in mq's own mbedTLS build, 16 KiB in Debian's): a longer chain is refused when the
// file is loaded, for servers and clients alike; a leaf with its CA is far below either limit.
TEST_F(TlsContextFiles, CertificateChainMustFitOneRecord) {
  const std::string leaf = read_text(f("server.crt"));
  const std::string ca = read_text(f("ca.crt"));
  ASSERT_FALSE(leaf.empty());
  ASSERT_FALSE(ca.empty());
  testing::write_file(f("chain.crt"), leaf + ca);
  TlsServerOptions o;
  o.certfile = f("chain.crt");
  o.keyfile = f("server.key");
  auto ok = TlsContext::server(o);
  EXPECT_TRUE(ok.ok()) << ok.error().to_string();

  // PEM is a third larger than the DER that travels, so twice the limit in PEM is over it.
  std::string big = leaf;
  while (big.size() < 2 * size_t{MBEDTLS_SSL_OUT_CONTENT_LEN}) big += ca;
  testing::write_file(f("big.crt"), big);
  o.certfile = f("big.crt");
  auto r = TlsContext::server(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("certfile " + f("big.crt") + ": the certificate chain"));
  EXPECT_THAT(r.error().context, HasSubstr(std::to_string(MBEDTLS_SSL_OUT_CONTENT_LEN) + " bytes"));

  TlsClientOptions c = client(f("ca.crt"));
  c.certfile = f("big.crt");
  c.keyfile = f("server.key");
  auto rc = TlsContext::client(c);
  ASSERT_FALSE(rc.ok());
  EXPECT_THAT(rc.error().context, HasSubstr("the certificate chain"));
}

TEST_F(TlsContextFiles, PskFile) {
  testing::write_file(f("psk"), "# devices\n\ndev1:00112233\r\n  dev2:abcdef01\n");
  auto m = load_psk_file(f("psk"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("dev1"), "00112233");
  EXPECT_EQ(m->at("dev2"), "abcdef01");

  testing::write_file(f("psk2"), "dev1:0011\nbroken line\n");
  m = load_psk_file(f("psk2"));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().context, HasSubstr("psk_file " + f("psk2") + " line 2"));
  testing::write_file(f("psk3"), "dev1:zz\n");
  m = load_psk_file(f("psk3"));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().context, HasSubstr("line 1: the key for 'dev1' is not hexadecimal"));
  m = load_psk_file(f("absent"));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().context, HasSubstr(f("absent") + ": No such file"));
}

}  // namespace
}  // namespace mq::net
