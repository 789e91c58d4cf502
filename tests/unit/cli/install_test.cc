#include "cli/install.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mq::cli {
namespace {

class InstallTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mq-install-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    exe_ = dir_ + "/fake-mq";
    std::ofstream(exe_) << "binary";
    ASSERT_EQ(mkdir((dir_ + "/bin").c_str(), 0755), 0);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  int install(bool symlink, bool force) {
    InstallOptions o{dir_ + "/bin", symlink, force};
    out_ = tmpfile();
    int rc = install_links(o, exe_, {"mosquitto", "mosquitto_pub"}, out_, out_);
    rewind(out_);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, out_);
    text_.assign(buf, n);
    fclose(out_);
    return rc;
  }
  ino_t inode(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
  }

  std::string dir_, exe_, text_;
  FILE* out_ = nullptr;
};

TEST_F(InstallTest, HardLinksPointAtTheExecutable) {
  EXPECT_EQ(install(false, false), 0);
  EXPECT_EQ(inode(dir_ + "/bin/mosquitto"), inode(exe_));
  EXPECT_EQ(inode(dir_ + "/bin/mosquitto_pub"), inode(exe_));
  EXPECT_NE(text_.find("created hard link"), std::string::npos) << text_;
  // Running it again is not an error: they are already in place.
  EXPECT_EQ(install(false, false), 0);
  EXPECT_NE(text_.find("already a hard link"), std::string::npos) << text_;
}

TEST_F(InstallTest, SymlinksWithS) {
  EXPECT_EQ(install(true, false), 0);
  char buf[4096];
  ssize_t n = readlink((dir_ + "/bin/mosquitto").c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, size_t(n)), exe_);
}

TEST_F(InstallTest, NeverReplacesWithoutForce) {
  std::ofstream(dir_ + "/bin/mosquitto") << "the real mosquitto";
  EXPECT_EQ(install(false, false), 1);
  EXPECT_NE(text_.find("exists, not replaced"), std::string::npos) << text_;
  EXPECT_NE(inode(dir_ + "/bin/mosquitto"), inode(exe_));
  EXPECT_EQ(inode(dir_ + "/bin/mosquitto_pub"), inode(exe_));  // the others still installed
  EXPECT_EQ(install(false, true), 0);
  EXPECT_EQ(inode(dir_ + "/bin/mosquitto"), inode(exe_));
  EXPECT_NE(text_.find("replaced"), std::string::npos) << text_;
}

TEST_F(InstallTest, MissingDirectoryIsAnError) {
  InstallOptions o{dir_ + "/nope", false, false};
  FILE* f = tmpfile();
  EXPECT_EQ(install_links(o, exe_, {"mosquitto"}, f, f), 1);
  fclose(f);
}

}  // namespace
}  // namespace mq::cli
