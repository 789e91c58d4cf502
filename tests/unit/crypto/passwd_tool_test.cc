#include "crypto/passwd_tool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/password_file.h"

namespace mq::crypto {
namespace {

namespace fs = std::filesystem;

class PasswdToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mq_passwd_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/pw.txt";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read() {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(const std::string& text) { std::ofstream(path_) << text; }

  // Runs with scripted answers to the prompts; stderr captured into err_.
  int run(PasswdCommand cmd, std::deque<std::string> answers = {}) {
    if (cmd.file.empty()) cmd.file = path_;
    cmd.params.kind = HashKind::kSha512;  // fast
    PasswordReader reader = [&](const char*) -> std::optional<std::string> {
      if (answers.empty()) return std::nullopt;
      std::string a = answers.front();
      answers.pop_front();
      return a;
    };
    testing::internal::CaptureStderr();
    int rc = run_passwd(cmd, reader);
    err_ = testing::internal::GetCapturedStderr();
    return rc;
  }

  static PasswdCommand set(std::string user, std::optional<std::string> pw) {
    PasswdCommand c;
    c.username = std::move(user);
    c.password = std::move(pw);
    return c;
  }

  bool verifies(const std::string& user, const std::string& password) {
    auto f = PasswordFile::parse(read());
    if (!f.ok()) return false;
    for (const auto& l : f->lines()) {
      if (l.username == user) {
        auto h = PasswordHash::parse(l.password);
        return h.ok() && h->verify(password);
      }
    }
    return false;
  }

  std::string dir_, path_, err_;
};

TEST_F(PasswdToolTest, CreateNewFileIs0600) {
  PasswdCommand c = set("alice", "secret");
  c.create = true;
  ASSERT_EQ(run(c), 0) << err_;
  EXPECT_TRUE(verifies("alice", "secret"));
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(fs::directory_iterator(dir_)->path(), path_) << "no temporary file left";
}

TEST_F(PasswdToolTest, CreateRefusesExistingFileUnlessOverwrite) {
  write("old:x\n");
  PasswdCommand c = set("alice", "secret");
  c.create = true;
  EXPECT_EQ(run(c), 1);
  EXPECT_NE(err_.find("use --force"), std::string::npos) << err_;
  EXPECT_EQ(read(), "old:x\n");
  c.overwrite = true;
  chmod(path_.c_str(), 0640);
  ASSERT_EQ(run(c), 0) << err_;
  EXPECT_TRUE(verifies("alice", "secret"));
  EXPECT_EQ(read().find("old:"), std::string::npos);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "the mode of the replaced file is kept";
}

TEST_F(PasswdToolTest, UpdateAddsAndReplaces) {
  write("# keep me\nalice:$6$abc$def\n");
  ASSERT_EQ(run(set("bob", "b1")), 0) << err_;
  ASSERT_EQ(run(set("alice", "a2")), 0) << err_;
  EXPECT_TRUE(verifies("alice", "a2"));
  EXPECT_TRUE(verifies("bob", "b1"));
  EXPECT_EQ(read().substr(0, 10), "# keep me\n");
}

TEST_F(PasswdToolTest, UpdateOfMissingFileFails) {
  EXPECT_EQ(run(set("a", "b")), 1);
  EXPECT_EQ(err_,
            "Error: Unable to open password file " + path_ + ". No such file or directory.\n");
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(PasswdToolTest, PromptsTwice) {
  write("");
  EXPECT_EQ(run(set("a", std::nullopt), {"one", "two"}), 2);
  EXPECT_EQ(err_, "Error: Passwords do not match.\n");
  EXPECT_EQ(run(set("a", std::nullopt), {""}), 1);
  EXPECT_EQ(err_, "Error: Empty password.\n");
  EXPECT_EQ(run(set("a", std::nullopt), {"one"}), 1);  // end of input at the second prompt
  EXPECT_EQ(read(), "");
  ASSERT_EQ(run(set("a", std::nullopt), {"same", "same"}), 0);
  EXPECT_TRUE(verifies("a", "same"));
}

TEST_F(PasswdToolTest, Delete) {
  write("a:$6$x$y\nb:$6$x$y\n");
  PasswdCommand c;
  c.action = PasswdCommand::Action::kDelete;
  c.username = "zz";
  EXPECT_EQ(run(c), 1);
  EXPECT_EQ(err_, "Warning: User zz not found in password file.\n");
  c.username = "a";
  ASSERT_EQ(run(c), 0) << err_;
  EXPECT_EQ(read(), "b:$6$x$y\n");
}

TEST_F(PasswdToolTest, UpgradeHashesPlainTextOnce) {
  write("a:one\n# c\nb:two\n");
  PasswdCommand c;
  c.action = PasswdCommand::Action::kUpgrade;
  ASSERT_EQ(run(c), 0) << err_;
  EXPECT_TRUE(verifies("a", "one"));
  EXPECT_TRUE(verifies("b", "two"));
  std::string hashed = read();
  EXPECT_EQ(run(c), 1);
  EXPECT_NE(err_.find("already holds hashed passwords (line 1)"), std::string::npos) << err_;
  EXPECT_EQ(read(), hashed);
}

TEST_F(PasswdToolTest, CorruptFileIsLeftAlone) {
  write("a:one\nbroken\n");
  EXPECT_EQ(run(set("b", "x")), 1);
  EXPECT_EQ(err_, "Error: Corrupt password file at line 2.\n");
  EXPECT_EQ(read(), "a:one\nbroken\n");
}

TEST_F(PasswdToolTest, BadUsernames) {
  write("");
  EXPECT_EQ(run(set("a:b", "x")), 1);
  EXPECT_EQ(err_, "Error: Username must not contain the ':' character.\n");
  EXPECT_EQ(run(set("a", std::string(65536, 'p'))), 1);
  EXPECT_EQ(err_, "Error: Password must be less than 65536 characters long.\n");
}

TEST_F(PasswdToolTest, WritesThroughASymlink) {
  write("a:$6$x$y\n");
  std::string link = dir_ + "/link.txt";
  ASSERT_EQ(symlink(path_.c_str(), link.c_str()), 0);
  PasswdCommand c = set("b", "x");
  c.file = link;
  ASSERT_EQ(run(c), 0) << err_;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(verifies("b", "x"));
}

}  // namespace
}  // namespace mq::crypto
