#include "cli/install.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mq::cli {

namespace {

// True when `path` already is a link to `exe` of the kind asked for.
bool already_points_at(const std::string& path, const std::string& exe, bool symlink) {
  struct stat have, want;
  if (stat(exe.c_str(), &want) != 0) return false;
  if (symlink) {
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 && std::string(buf, size_t(n)) == exe;
  }
  return lstat(path.c_str(), &have) == 0 && have.st_ino == want.st_ino &&
         have.st_dev == want.st_dev;
}

}  // namespace

int install_links(const InstallOptions& opts, const std::string& exe,
                  const std::vector<std::string>& names, FILE* out, FILE* err) {
  struct stat st;
  if (stat(opts.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(err, "mq: --install: '%s' is not a directory\n", opts.dir.c_str());
    return 1;
  }
  int status = 0;
  const char* kind = opts.symlink ? "symlink" : "hard link";
  for (const std::string& name : names) {
    std::string path = opts.dir + "/" + name;
    if (already_points_at(path, exe, opts.symlink)) {
      fprintf(out, "%s: already a %s to %s\n", path.c_str(), kind, exe.c_str());
      continue;
    }
    bool exists = lstat(path.c_str(), &st) == 0;
    if (exists && !opts.force) {
      fprintf(err, "%s: exists, not replaced (use --force)\n", path.c_str());
      status = 1;
      continue;
    }
    // Make the new link beside the target and rename it over: never a moment without the name.
    std::string tmp = path + ".mq-install-tmp";
    unlink(tmp.c_str());
    int rc = opts.symlink ? ::symlink(exe.c_str(), tmp.c_str()) : ::link(exe.c_str(), tmp.c_str());
    if (rc != 0) {
      int e = errno;
      fprintf(err, "%s: cannot create %s: %s%s\n", path.c_str(), kind, strerror(e),
              e == EXDEV ? " (another file system: use -s)" : "");
      status = 1;
      continue;
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
      fprintf(err, "%s: cannot create %s: %s\n", path.c_str(), kind, strerror(errno));
      unlink(tmp.c_str());
      status = 1;
      continue;
    }
    fprintf(out, "%s: %s %s to %s\n", path.c_str(), exists ? "replaced with a" : "created", kind,
            exe.c_str());
  }
  return status;
}

}  // namespace mq::cli
