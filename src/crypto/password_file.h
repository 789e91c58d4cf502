// A password file as `mq passwd` edits it: one `username:password` entry a line, comment lines
// (first character '#') and blank lines kept as they are, untouched entries kept byte for byte.
// Field rules follow mosquitto_passwd: the password is the text up to the next ':', both fields
// are trimmed, and an entry with an empty username or password is corrupt. Unlike
// mosquitto_passwd, comments and blank lines are not errors (the broker skips them too).
// A plain value type; no I/O (see atomic_file.h). Not thread-safe; use from one thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/password_hash.h"

namespace mq::crypto {

class PasswordFile {
 public:
  struct Line {
    std::string text;      // as read (no line terminator); rewritten when the entry changes
    std::string username;  // trimmed; empty for a comment or blank line
    std::string password;  // trimmed password field; empty for a comment or blank line
  };

  // Error (kConfig) "Corrupt password file at line N." for a line that is neither a comment, blank
  // nor an entry.
  [[nodiscard]] static Result<PasswordFile> parse(std::string_view content);

  // Adds the entry at the end, or replaces the first entry of that user in place (later entries
  // of the same user are removed). `password_field` is the encoded hash.
  void set(std::string_view username, std::string_view password_field);
  // Removes every entry of the user; false when there was none.
  bool remove(std::string_view username);
  // 1-based line number of the first entry whose password field parses as a hash, 0 if none.
  size_t first_hashed_line() const;
  // Replaces every entry's plain-text password by its hash (`mosquitto_passwd -U`).
  [[nodiscard]] Status hash_all(const HashParams& params);

  // The file text: every line followed by '\n'.
  std::string serialize() const;
  const std::vector<Line>& lines() const { return lines_; }

 private:
  std::vector<Line> lines_;
};

// Mosquitto's username rules for mosquitto_passwd: at most 65535 bytes, no control characters,
// no ':'; and (beyond Mosquitto, whose broker would drop such a line) not empty. Returns the
// message to print after "Error: " or an empty string when valid.
std::string check_username(std::string_view username);

}  // namespace mq::crypto
