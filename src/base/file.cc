#include "base/file.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mq {

bool read_file(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, size_t(n));
  }
  ::close(fd);
  return true;
}

namespace {

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string who() {
  return "user " + current_user_name() + " (uid " + std::to_string(getuid()) + ")";
}

// The first directory on the way to `path` the user cannot search, or "".
std::string unsearchable_dir(const std::string& path) {
  std::string dir = path.front() == '/' ? "/" : "";
  size_t pos = path.front() == '/' ? 1 : 0;
  for (;;) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) return "";
    dir = path.substr(0, slash == 0 ? 1 : slash);
    if (!dir.empty() && access(dir.c_str(), X_OK) != 0 && errno == EACCES) return dir;
    pos = slash + 1;
  }
}

}  // namespace

std::string current_user_name() {
  uid_t uid = getuid();
  std::string name = std::to_string(uid);
  if (FILE* f = fopen("/etc/passwd", "re")) {
    while (passwd* pw = fgetpwent(f)) {
      if (pw->pw_uid == uid) {
        name = pw->pw_name;
        break;
      }
    }
    fclose(f);
  }
  return name;
}

std::string access_problem(const std::string& path, bool write) {
  if (path.empty()) return "";
  if (access(path.c_str(), write ? W_OK : R_OK) == 0) return "";
  int err = errno;
  if (err == ENOENT && write) {
    // A file to be created: the directory must take it.
    std::string dir = parent_dir(path);
    if (access(dir.c_str(), W_OK | X_OK) == 0) return "";
    if (errno == EACCES) {
      std::string blocked = unsearchable_dir(path);
      if (!blocked.empty()) return who() + " has no search (x) permission on directory " + blocked;
      return who() + " has no write permission on directory " + dir;
    }
    return "";
  }
  if (err == EACCES) {
    std::string blocked = unsearchable_dir(path);
    if (!blocked.empty()) return who() + " has no search (x) permission on directory " + blocked;
    return who() + " has no " + (write ? "write" : "read") + " permission on " + path;
  }
  if (err == EROFS) return path + " is on a read-only file system";
  return "";  // missing files and the like: the caller's own message already says enough
}

}  // namespace mq

