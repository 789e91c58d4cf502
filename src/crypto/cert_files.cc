#include "crypto/cert_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mq::crypto {

namespace {

constexpr size_t kMaxFileSize = 1 << 20;

Error os_error(const std::string& what, const std::string& path, int err) {
  return make_error(ErrorKind::kIo, what + " " + path + ": " + strerror(err));
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Writes `contents` to a new temp file next to `path`; returns the temp file's name.
Result<std::string> write_temp(const std::string& path, const std::string& contents, mode_t mode) {
  std::string dir = dir_of(path);
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = cert_path(dir, "." + base + ".tmpXXXXXX");
  int fd = mkstemp(tmp.data());  // created 0600, so a key is never readable by others
  if (fd < 0) return os_error("cannot create a file in", dir, errno);
  auto fail = [&](const char* what) {
    int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return os_error(what, path, err);
  };
  if (fchmod(fd, mode) != 0) return fail("cannot set the mode of");
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += size_t(n);
  }
  if (fsync(fd) != 0) return fail("cannot sync");
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return os_error("cannot write", path, err);
  }
  return tmp;
}

// rename(2) that fails with EEXIST instead of replacing, where the file system allows.
int rename_no_replace(const char* from, const char* to) {
  if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (link(from, to) != 0) return -1;  // the same guarantee by hand
  unlink(from);
  return 0;
}

void sync_dir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

}  // namespace

void CertFileBatch::add(std::string path, std::string contents, mode_t mode) {
  paths_.push_back(std::move(path));
  pending_.push_back(Pending{std::move(contents), mode});
}

Status CertFileBatch::check(bool replace) const {
  if (replace) return {};
  std::string existing;
  for (const auto& p : paths_) {
    if (cert_file_exists(p)) existing += (existing.empty() ? "" : ", ") + p;
  }
  if (!existing.empty()) {
    return make_error(ErrorKind::kConfig, "not replacing existing " + existing + " (use --force)");
  }
  return {};
}

Status CertFileBatch::commit(bool replace) {
  if (Status s = check(replace); !s) return s;
  std::vector<std::string> temps;
  for (size_t i = 0; i < paths_.size(); i++) {
    auto tmp = write_temp(paths_[i], pending_[i].contents, pending_[i].mode);
    if (!tmp.ok()) {
      for (const auto& t : temps) unlink(t.c_str());
      return tmp.error();
    }
    temps.push_back(std::move(*tmp));
  }
  std::vector<std::string> created;
  for (size_t i = 0; i < paths_.size(); i++) {
    bool existed = cert_file_exists(paths_[i]);
    int r = replace ? rename(temps[i].c_str(), paths_[i].c_str())
                    : rename_no_replace(temps[i].c_str(), paths_[i].c_str());
    if (r != 0) {
      int err = errno;
      for (size_t j = i; j < temps.size(); j++) unlink(temps[j].c_str());
      for (const auto& c : created) unlink(c.c_str());
      if (err == EEXIST) {
        return make_error(ErrorKind::kConfig, "not replacing existing " + paths_[i] +
                                                  " (use --force)");
      }
      return os_error("cannot install", paths_[i], err);
    }
    if (!existed) created.push_back(paths_[i]);
    sync_dir(dir_of(paths_[i]));
  }
  return {};
}

Result<std::string> read_cert_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error("cannot read", path, errno);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return os_error("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > kMaxFileSize) {
      close(fd);
      return make_error(ErrorKind::kTooLarge, path + " is larger than 1 MiB");
    }
  }
  close(fd);
  return out;
}

Status make_cert_dir(const std::string& dir) {
  if (dir.empty()) return {};
  std::string partial;
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    pos = slash + 1;
    if (partial.empty() || partial == "." || partial == "..") continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return os_error("cannot create directory", partial, errno);
    }
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(ErrorKind::kIo, dir + " is not a directory");
  }
  return {};
}

bool cert_file_exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

std::string cert_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string cert_absolute_path(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return path;
  return buf;
}

}  // namespace mq::crypto
