// access_problem() names the missing permission and the user. Permission checks do not apply
// to root, so as root the checks run in a child process switched to user nobody (65534).
#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mq {
namespace {

class AccessProblem : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mq-file-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }

  std::string make(const std::string& name, mode_t mode) {
    std::string path = dir_ + "/" + name;
    FILE* f = fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    if (f) fclose(f);
    chmod(path.c_str(), mode);
    return path;
  }

  // access_problem(path, write) as an unprivileged user.
  std::string unprivileged(const std::string& path, bool write) {
    if (geteuid() != 0) return access_problem(path, write);
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
      std::string r = access_problem(path, write);
      (void)!::write(fds[1], r.data(), r.size());
      _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return out;
  }
  std::string who() {
    if (geteuid() != 0) return "user " + current_user_name() + " (uid " + std::to_string(getuid()) + ")";
    return "(uid 65534)";  // the name of 65534 differs between systems
  }

  std::string dir_;
};

TEST_F(AccessProblem, ReadableFileHasNone) {
  EXPECT_EQ(unprivileged(make("ok", 0644), false), "");
}

TEST_F(AccessProblem, MissingFileIsNotAPermissionProblem) {
  EXPECT_EQ(unprivileged(dir_ + "/none", false), "");
}

TEST_F(AccessProblem, UnreadableFileNamesUserAndPermission) {
  std::string p = make("secret", 0600);
  if (geteuid() != 0) chmod(p.c_str(), 0);
  std::string r = unprivileged(p, false);
  EXPECT_NE(r.find(who()), std::string::npos) << r;
  EXPECT_NE(r.find("has no read permission on " + p), std::string::npos) << r;
}

TEST_F(AccessProblem, UnwritableDirectoryForANewFile) {
  std::string sub = dir_ + "/data";
  ASSERT_EQ(mkdir(sub.c_str(), 0555), 0);
  std::string r = unprivileged(sub + "/mosquitto.db.new", true);
  EXPECT_NE(r.find("has no write permission on directory " + sub), std::string::npos) << r;
}

TEST_F(AccessProblem, UnsearchableDirectoryIsNamed) {
  std::string sub = dir_ + "/closed";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  std::string inner = sub + "/pw";
  FILE* f = fopen(inner.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  chmod(inner.c_str(), 0644);
  if (geteuid() != 0) chmod(sub.c_str(), 0600);
  std::string r = unprivileged(inner, false);
  EXPECT_NE(r.find("has no search (x) permission on directory " + sub), std::string::npos) << r;
  chmod(sub.c_str(), 0700);
}

}  // namespace
}  // namespace mq
