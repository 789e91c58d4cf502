#include "crypto/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace mq::crypto {

namespace {

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Error io_error(const std::string& what) {
  return make_error(ErrorKind::kIo, what + ": " + strerror(errno));
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace

Result<std::string> resolve_edit_path(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) return std::string(buf);
  if (errno == ENOENT) return path;
  return io_error("Unable to resolve password file path " + path);
}

Result<DirLock> DirLock::acquire(const std::string& path, std::chrono::milliseconds wait) {
  std::string dir = dir_of(path);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("Unable to lock directory " + dir);
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return DirLock(fd);
    if (errno != EWOULDBLOCK && errno != EINTR) {
      Error e = io_error("Unable to lock directory " + dir);
      ::close(fd);
      return e;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return make_error(ErrorKind::kIo, "Password file " + path + " is locked by another process.");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

Result<std::optional<std::string>> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return io_error("Unable to open password file " + path);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = io_error("Unable to read password file " + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

Status replace_file(const std::string& path, std::string_view content) {
  struct stat old_st;
  bool have_old = ::stat(path.c_str(), &old_st) == 0;
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return io_error("Unable to create temporary file in " + dir_of(path));
  auto fail = [&](const std::string& what) {
    Error e = io_error(what);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  if (have_old) {
    // Same owner first (only root may give a file away), then the mode, as fchown clears setuid.
    if (fchown(fd, old_st.st_uid, old_st.st_gid) != 0 && errno != EPERM) {
      return fail("Unable to set the owner of " + tmp);
    }
    if (fchmod(fd, old_st.st_mode & 07777) != 0) return fail("Unable to set the mode of " + tmp);
  }
  if (!write_all(fd, content)) return fail("Unable to write " + tmp);
  if (fsync(fd) != 0) return fail("Unable to write " + tmp);
  if (::close(fd) != 0) {
    Error e = io_error("Unable to write " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = io_error("Unable to replace " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  // Make the rename itself durable; failing here leaves a complete file either way.
  int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace mq::crypto
