// The work behind `mq passwd` / `mosquitto_passwd` once its command line is parsed: prompt for a
// password, then lock, read, edit and atomically replace the password file. Messages go to
// stderr ("Error: ..." as mosquitto_passwd words them) and prompts to stdout; the return value
// is the process exit status (0 ok, 1 error, 2 passwords typed differently, as Mosquitto).
// Single-threaded; meant to run once per process.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "crypto/password_hash.h"

namespace mq::crypto {

struct PasswdCommand {
  enum class Action : uint8_t { kSet, kDelete, kUpgrade };
  Action action = Action::kSet;
  std::string file;
  std::string username;                 // kSet, kDelete
  std::optional<std::string> password;  // -b; prompted for when absent (kSet only)
  bool create = false;                  // -c: start a new file
  bool overwrite = false;               // -c may replace an existing file (Mosquitto, or --force)
  HashParams params;
};

// Reads one password with the prompt; returns nullopt at end of input. Replaceable for tests.
using PasswordReader = std::function<std::optional<std::string>(const char* prompt)>;

// Reads from the terminal without echo (or from stdin when it is not a terminal), printing the
// prompt on stdout and a newline after the answer, as mosquitto_passwd.
std::optional<std::string> read_password_from_terminal(const char* prompt);

int run_passwd(const PasswdCommand& cmd,
               const PasswordReader& reader = read_password_from_terminal);

}  // namespace mq::crypto
