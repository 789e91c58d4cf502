// Reading and writing certgen's files. A CertFileBatch collects every file one command writes
// (keys 0600, certificates 0644), refuses to replace existing ones unless told to, and installs
// each with a temp file + fsync + rename, so a reader never sees a half-written key; when one
// file of the batch fails, the files this batch created are removed again. Single-threaded use.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace mq::crypto {

inline constexpr mode_t kKeyMode = 0600;
inline constexpr mode_t kCertMode = 0644;

class CertFileBatch {
 public:
  void add(std::string path, std::string contents, mode_t mode);

  // Fails, naming the files, when any target exists and `replace` is false.
  [[nodiscard]] Status check(bool replace) const;

  // Writes every file; all-or-nothing as far as new files go (replaced ones stay replaced).
  [[nodiscard]] Status commit(bool replace);

  const std::vector<std::string>& paths() const { return paths_; }

 private:
  struct Pending {
    std::string contents;
    mode_t mode;
  };
  std::vector<std::string> paths_;
  std::vector<Pending> pending_;
};

// Reads a whole (small) file; errors name the path and the OS reason.
[[nodiscard]] Result<std::string> read_cert_file(const std::string& path);

// mkdir -p with mode 0755 for the parts that are missing.
[[nodiscard]] Status make_cert_dir(const std::string& dir);

bool cert_file_exists(const std::string& path);

// "dir/name", or just "name" when dir is "" or ".".
std::string cert_path(const std::string& dir, const std::string& name);

// The absolute form of a path that exists (for printing configuration lines).
std::string cert_absolute_path(const std::string& path);

}  // namespace mq::crypto
