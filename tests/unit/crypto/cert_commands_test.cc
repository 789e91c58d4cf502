// The certgen actions end to end on a temporary directory (crypto/cert_commands.h) and the file
// batch beneath them (crypto/cert_files.h): names, modes, refusing to overwrite, error texts.
#include "crypto/cert_commands.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/cert.h"
#include "crypto/cert_files.h"

namespace mq::crypto {
namespace {

namespace fs = std::filesystem;

class CertgenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mq_certgen_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  CertgenOptions opts() const {
    CertgenOptions o;
    o.dir = dir_;
    return o;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  mode_t mode(const std::string& name) const {
    struct stat st {};
    EXPECT_EQ(stat(path(name).c_str(), &st), 0) << name;
    return st.st_mode & 07777;
  }
  CertInfo cert(const std::string& name) const {
    auto data = read_cert_file(path(name));
    EXPECT_TRUE(data.ok());
    auto certs = parse_certificates(*data);
    EXPECT_TRUE(certs.ok());
    return certs->front();
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
  FakeClock clock_{1'000'000, int64_t(time(nullptr))};
};

TEST_F(CertgenTest, AllWritesSixFilesWithModesAndPrintsConfig) {
  CertgenOptions o = opts();
  o.dns = {"mqtt.example"};
  auto out = certgen_all(o, clock_);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(files(), (std::vector<std::string>{"ca.crt", "ca.key", "client.crt", "client.key",
                                               "server.crt", "server.key"}));
  for (const char* key : {"ca.key", "server.key", "client.key"}) EXPECT_EQ(mode(key), 0600u);
  for (const char* crt : {"ca.crt", "server.crt", "client.crt"}) EXPECT_EQ(mode(crt), 0644u);
  const std::string& t = out->text;
  EXPECT_NE(t.find("cafile " + cert_absolute_path(path("ca.crt")) + "\n"), std::string::npos);
  EXPECT_NE(t.find("certfile " + cert_absolute_path(path("server.crt")) + "\n"),
            std::string::npos);
  EXPECT_NE(t.find("keyfile " + cert_absolute_path(path("server.key")) + "\n"), std::string::npos);
  EXPECT_NE(t.find("require_certificate true\nuse_identity_as_username true\n"),
            std::string::npos);
  EXPECT_NE(t.find("mosquitto_pub -h mqtt.example -p 8883 --cafile "), std::string::npos);
  EXPECT_NE(t.find("--cert " + cert_absolute_path(path("client.crt"))), std::string::npos);

  CertInfo server = cert("server.crt"), client = cert("client.crt"), ca = cert("ca.crt");
  EXPECT_EQ(format_alt_names(server.alt_names),
            "DNS:mqtt.example, DNS:localhost, IP:127.0.0.1, IP:::1");
  EXPECT_TRUE(client.alt_names.empty());  // --dns/--ip are the server's names
  EXPECT_EQ(common_name_of(client.subject), "client");
  EXPECT_EQ(*verify_chain({server}, {ca}), "");
  EXPECT_EQ(*verify_chain({client}, {ca}), "");
}

TEST_F(CertgenTest, NothingIsOverwrittenWithoutForce) {
  ASSERT_TRUE(certgen_ca(opts(), clock_).ok());
  std::string before = *read_cert_file(path("ca.crt"));
  auto again = certgen_ca(opts(), clock_);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().context.find("not replacing existing"), std::string::npos);
  EXPECT_NE(again.error().context.find("--force"), std::string::npos);
  EXPECT_EQ(*read_cert_file(path("ca.crt")), before);

  auto all = certgen_all(opts(), clock_);  // ca.* exist: refused before anything is written
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(files(), (std::vector<std::string>{"ca.crt", "ca.key"}));

  CertgenOptions force = opts();
  force.force = true;
  ASSERT_TRUE(certgen_ca(force, clock_).ok());
  EXPECT_NE(*read_cert_file(path("ca.crt")), before);
  EXPECT_EQ(mode("ca.key"), 0600u);
  EXPECT_EQ(files(), (std::vector<std::string>{"ca.crt", "ca.key"}));  // no temp files left
}

TEST_F(CertgenTest, ServerAndClientsFromAnExistingCa) {
  CertgenOptions ca_opts = opts();
  ca_opts.dir = path("ca");
  ASSERT_TRUE(certgen_ca(ca_opts, clock_).ok());
  CertgenOptions o = opts();
  o.ca_dir = path("ca");
  o.ip = {"192.0.2.1"};
  o.no_local = true;
  o.days = 10;
  ASSERT_TRUE(certgen_server(o, clock_).ok());
  EXPECT_EQ(format_alt_names(cert("server.crt").alt_names), "IP:192.0.2.1");
  o.names = {"alice", "bob"};
  auto out = certgen_client(o, clock_);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(common_name_of(cert("alice.crt").subject), "alice");
  EXPECT_EQ(common_name_of(cert("bob.crt").subject), "bob");
  EXPECT_EQ(mode("bob.key"), 0600u);
}

TEST_F(CertgenTest, ClearErrors) {
  auto no_ca = certgen_server(opts(), clock_);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.error().context.find("CA certificate: cannot read " + path("ca.crt")),
            std::string::npos);
  EXPECT_NE(no_ca.error().context.find("mq certgen ca"), std::string::npos);

  ASSERT_TRUE(certgen_ca(opts(), clock_).ok());
  CertgenOptions bad_ip = opts();
  bad_ip.ip = {"10.0.0.300"};
  auto r = certgen_server(bad_ip, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().context.find("'10.0.0.300' is not an IP address"), std::string::npos);

  // A CA key that belongs to another CA.
  CertgenOptions other = opts();
  other.dir = path("other");
  ASSERT_TRUE(certgen_ca(other, clock_).ok());
  CertgenOptions mixed = opts();
  mixed.ca_cert = path("ca.crt");
  mixed.ca_key = path("other/ca.key");
  mixed.names = {"eve"};
  r = certgen_client(mixed, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, "CA key " + path("other/ca.key") + " does not match CA certificate " +
                                   path("ca.crt"));

  CertgenOptions clash = opts();
  clash.names = {"server"};
  EXPECT_FALSE(certgen_client(clash, clock_).ok());
  clash.names = {"../x"};
  EXPECT_FALSE(certgen_client(clash, clock_).ok());
  EXPECT_FALSE(cert_file_exists(path("eve.crt")));
}

TEST_F(CertgenTest, RenewKeepsKeyOrMakesANewOne) {
  ASSERT_TRUE(certgen_all(opts(), clock_).ok());
  CertInfo old = cert("server.crt");
  std::string old_key = *read_cert_file(path("server.key"));
  CertgenOptions o = opts();
  o.files = {"server"};
  auto out = certgen_renew(o, clock_);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  CertInfo renewed = cert("server.crt");
  EXPECT_NE(renewed.serial, old.serial);
  EXPECT_EQ(renewed.key.public_der, old.key.public_der);
  EXPECT_EQ(*read_cert_file(path("server.key")), old_key);

  o.files = {path("client.crt")};
  o.new_key = true;
  ASSERT_TRUE(certgen_renew(o, clock_).ok());
  EXPECT_NE(cert("client.crt").key.public_der, old.key.public_der);
  EXPECT_EQ(*verify_chain({cert("client.crt")}, {cert("ca.crt")}), "");
  EXPECT_EQ(mode("client.key"), 0600u);

  o.files = {"nobody"};
  o.new_key = false;
  EXPECT_FALSE(certgen_renew(o, clock_).ok());
}

TEST_F(CertgenTest, ShowWarnsNearExpiryAndChecksTheChain) {
  CertgenOptions o = opts();
  o.days = 20;
  ASSERT_TRUE(certgen_all(o, clock_).ok());
  CertgenOptions show = opts();
  show.files = {path("server.crt"), path("client.key")};
  show.ca_dir = dir_;
  auto out = certgen_show(show, clock_);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->problem);
  EXPECT_NE(out->text.find("chains to:  " + path("ca.crt") + ": yes"), std::string::npos);
  EXPECT_NE(out->text.find("names:      DNS:localhost, IP:127.0.0.1, IP:::1"), std::string::npos);
  EXPECT_NE(out->text.find("key:        EC P-256"), std::string::npos);
  EXPECT_NE(out->text.find("private key"), std::string::npos);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("expires in 20 days"), std::string::npos);

  // Against another CA: reported, and a problem.
  CertgenOptions other = opts();
  other.dir = path("other");
  ASSERT_TRUE(certgen_ca(other, clock_).ok());
  show.ca_dir = path("other");
  show.files = {path("server.crt")};
  out = certgen_show(show, clock_);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->problem);
  EXPECT_NE(out->text.find(": NO (not signed by the given CA)"), std::string::npos);

  show.files = {path("missing.crt")};
  show.ca_dir.clear();
  out = certgen_show(show, clock_);
  EXPECT_TRUE(out->problem);
}

TEST(CertFileBatchTest, CommitIsAllOrNothingForNewFiles) {
  char tmpl[] = "/tmp/mq_certfiles_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  CertFileBatch batch;
  batch.add(dir + "/a.key", "secret", kKeyMode);
  batch.add(dir + "/no/such/dir/b.crt", "public", kCertMode);
  EXPECT_FALSE(batch.commit(false).ok());
  EXPECT_FALSE(cert_file_exists(dir + "/a.key"));
  EXPECT_TRUE(fs::is_empty(dir));
  EXPECT_TRUE(make_cert_dir(dir + "/x/y").ok());
  EXPECT_TRUE(fs::is_directory(dir + "/x/y"));
  EXPECT_EQ(cert_path(".", "ca.crt"), "ca.crt");
  EXPECT_EQ(cert_path("d/", "ca.crt"), "d/ca.crt");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mq::crypto
