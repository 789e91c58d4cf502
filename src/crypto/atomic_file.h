// Safe replacement of a small file (the password file): the new text goes to a temporary file in
// the same directory, is fsync'd, gets the old file's mode and owner (0600 for a new file) and
// is renamed over the old one, so readers see the old or the new file, never a truncated one.
// DirLock serialises editors: an exclusive flock(2) on the file's directory (a directory lock
// also covers a file that does not exist yet and survives the rename). Other tools that want to
// cooperate take the same lock. Blocking calls; use from one thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mq::crypto {

// The path to edit: symlinks resolved (so the link's target is replaced, not the link), or
// `path` itself when it does not exist yet. Error (kIo) when it cannot be resolved.
[[nodiscard]] Result<std::string> resolve_edit_path(const std::string& path);

class DirLock {
 public:
  // Locks the directory holding `path`, waiting up to `wait`. Errors (kIo) carry the message to
  // print: "Unable to lock ...: <reason>" or "Password file ... is locked by another process."
  [[nodiscard]] static Result<DirLock> acquire(const std::string& path,
                                               std::chrono::milliseconds wait);
  DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirLock& operator=(DirLock&&) = delete;
  ~DirLock();

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

// The whole file, or nullopt when it does not exist. Error (kIo) for any other failure.
[[nodiscard]] Result<std::optional<std::string>> read_small_file(const std::string& path);

// Replaces (or creates) `path` with `content` as described above. On error the old file is
// untouched and no temporary file is left behind; the context names the failing step.
[[nodiscard]] Status replace_file(const std::string& path, std::string_view content);

}  // namespace mq::crypto
