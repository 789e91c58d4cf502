// `mq --install [-s] [--force] DIR`: creates the Mosquitto names as hard links (or symlinks) to
// the running executable, never replacing an existing file without --force. Reports each action
// on the given stream. Single-threaded.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace mq::cli {

struct InstallOptions {
  std::string dir;
  bool symlink = false;
  bool force = false;
};

// `exe` is the absolute path of the running executable (readlink /proc/self/exe); `names` are the
// link names to create. Returns 0 when every name is in place, 1 otherwise.
int install_links(const InstallOptions& opts, const std::string& exe,
                  const std::vector<std::string>& names, FILE* out, FILE* err);

}  // namespace mq::cli
