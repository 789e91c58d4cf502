// The broker's view of a Mosquitto password file (`password_file`): username -> password hash.
// Loading follows Mosquitto 2.0 (src/security_default.c): lines starting with '#' and lines
// without ':' are skipped; the first two ':'-separated fields (empty fields skipped, as strtok)
// are the trimmed username and password; a line with only one field is an invalid line
// (warning); an entry whose hash cannot be decoded is dropped with
// "Error: <why> for user <name>, removing entry."; a repeated username keeps the last entry
// (with a warning, which 2.0 does not print). Hashes: `$6$`, `$7$` and `$argon2id$` (crypto/).
// Plain-text passwords are never accepted (as Mosquitto built with TLS). An unreadable file is
// an error: the caller must refuse to start or keep the previous database (fail closed).
// Threading: a loaded PasswordDb is immutable; share it as shared_ptr<const PasswordDb> and call
// verify() from any thread. Argon2id verification takes ~0.1 s: run it on a worker thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/password_hash.h"

namespace mq::broker {

class PasswordDb {
 public:
  // Reads and parses `path`. Error (kIo): `Error: Unable to open pwfile "<path>".`
  [[nodiscard]] static Result<std::shared_ptr<const PasswordDb>> load(const std::string& path);

  // Parses file text; `path` only names the file in log messages. Never fails: bad lines are
  // logged and skipped.
  static std::shared_ptr<const PasswordDb> parse(std::string_view content, std::string_view path);

  // True when the user has an entry and `password` matches it. A client that sent no password
  // is refused (Mosquitto: MOSQ_ERR_AUTH). Constant-time comparison of the hashes.
  bool verify(std::string_view username, std::optional<std::string_view> password) const;

  bool has_user(std::string_view username) const { return users_.count(username) != 0; }
  size_t size() const { return users_.size(); }

 private:
  PasswordDb() = default;
  std::map<std::string, crypto::PasswordHash, std::less<>> users_;
};

}  // namespace mq::broker
