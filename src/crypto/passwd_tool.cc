#include "crypto/passwd_tool.h"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "crypto/atomic_file.h"
#include "crypto/password_file.h"
#include "crypto/primitives.h"

namespace mq::crypto {

namespace {

constexpr auto kLockWait = std::chrono::seconds(10);
constexpr size_t kMaxPassword = 65535;

void print_error(const std::string& message) {
  fprintf(stderr, "Error: %s\n", message.c_str());
}

// The terminal state to restore if a signal arrives while echo is off.
struct termios g_saved_termios;
volatile sig_atomic_t g_echo_off = 0;

void restore_terminal_and_die(int sig) {
  if (g_echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  signal(sig, SIG_DFL);
  raise(sig);
}

// mosquitto_passwd's get_password(): empty -> 1, different -> 2.
int prompt_twice(const PasswordReader& reader, std::string* out) {
  std::optional<std::string> first = reader("Password: ");
  if (!first || first->empty()) {
    print_error("Empty password.");
    return 1;
  }
  std::optional<std::string> second = reader("Reenter password: ");
  if (!second || second->empty()) {
    secure_zero(first->data(), first->size());
    print_error("Empty password.");
    return 1;
  }
  bool same = *first == *second;
  secure_zero(second->data(), second->size());
  if (!same) {
    secure_zero(first->data(), first->size());
    print_error("Passwords do not match.");
    return 2;
  }
  *out = std::move(*first);
  return 0;
}

// The password for kSet: from -b or typed twice. Returns the exit status on failure.
int obtain_password(const PasswdCommand& cmd, const PasswordReader& reader, std::string* out) {
  if (cmd.password) {
    *out = *cmd.password;
    return 0;
  }
  int rc = prompt_twice(reader, out);
  if (rc == 0 && out->size() > kMaxPassword) {
    print_error("Password must be less than 65536 characters long.");
    return 1;
  }
  return rc;
}

// Reads and parses the existing file; prints the message and returns false on failure.
bool load_existing(const std::string& path, PasswordFile* file) {
  Result<std::optional<std::string>> text = read_small_file(path);
  if (!text) {
    print_error(text.error().context + ".");
    return false;
  }
  if (!text->has_value()) {
    print_error("Unable to open password file " + path + ". " + strerror(ENOENT) + ".");
    return false;
  }
  Result<PasswordFile> parsed = PasswordFile::parse(**text);
  if (!parsed) {
    print_error(parsed.error().context);
    return false;
  }
  *file = std::move(*parsed);
  return true;
}

bool write_file(const std::string& path, const PasswordFile& file) {
  std::string text = file.serialize();
  Status st = replace_file(path, text);
  secure_zero(text.data(), text.size());
  if (!st) {
    print_error(st.error().context + ". The password file is unchanged.");
    return false;
  }
  return true;
}

bool exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}

}  // namespace

std::optional<std::string> read_password_from_terminal(const char* prompt) {
  struct termios old;
  bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    g_saved_termios = old;
    struct termios quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    signal(SIGINT, restore_terminal_and_die);
    signal(SIGTERM, restore_terminal_and_die);
    g_echo_off = 1;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);  // not FLUSH: keep typed-ahead input
  }
  // Echo goes off before the prompt appears, so nothing typed after it is shown.
  fputs(prompt, stdout);
  fflush(stdout);
  std::string line;
  bool got_any = false;
  for (;;) {
    int c = fgetc(stdin);
    if (c == EOF) break;
    got_any = true;
    if (c == '\n') break;
    if (line.size() <= kMaxPassword) line += char(c);
  }
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    g_echo_off = 0;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
  }
  fputs("\n", stdout);
  fflush(stdout);
  if (!got_any) return std::nullopt;
  return line;
}

int run_passwd(const PasswdCommand& cmd, const PasswordReader& reader) {
  using Action = PasswdCommand::Action;
  if (cmd.action != Action::kUpgrade) {
    std::string bad = check_username(cmd.username);
    if (!bad.empty()) {
      print_error(bad);
      return 1;
    }
  }
  if (cmd.password && cmd.password->size() > kMaxPassword) {
    print_error("Password must be less than 65536 characters long.");
    return 1;
  }
  Result<std::string> resolved = resolve_edit_path(cmd.file);
  if (!resolved) {
    print_error(resolved.error().context + ".");
    return 1;
  }
  const std::string& path = *resolved;
  auto refuse_overwrite = [&] {
    print_error("Password file " + path + " exists; use --force to replace it.");
    return 1;
  };

  PasswordFile file;
  std::string password;
  if (cmd.action == Action::kSet) {
    // As Mosquitto: a missing file is reported before the prompt, except with -c.
    if (!cmd.create && !exists(path)) {
      print_error("Unable to open password file " + path + ". " + strerror(ENOENT) + ".");
      return 1;
    }
    if (cmd.create && !cmd.overwrite && exists(path)) return refuse_overwrite();
    if (int rc = obtain_password(cmd, reader, &password); rc != 0) return rc;
  }

  Result<DirLock> lock = DirLock::acquire(path, kLockWait);
  if (!lock) {
    secure_zero(password.data(), password.size());
    print_error(lock.error().context);
    return 1;
  }

  int rc = 0;
  if (cmd.action == Action::kSet && cmd.create) {
    if (!cmd.overwrite && exists(path)) {  // created while we were prompting
      rc = refuse_overwrite();
    }
  } else if (!load_existing(path, &file)) {
    rc = 1;
  }
  if (rc == 0) {
    switch (cmd.action) {
      case Action::kSet: {
        Result<std::string> hash = hash_password(password, cmd.params);
        if (!hash) {
          print_error(hash.error().context);
          rc = 1;
          break;
        }
        file.set(cmd.username, *hash);
        rc = write_file(path, file) ? 0 : 1;
        break;
      }
      case Action::kDelete:
        if (!file.remove(cmd.username)) {
          fprintf(stderr, "Warning: User %s not found in password file.\n", cmd.username.c_str());
          rc = 1;
          break;
        }
        rc = write_file(path, file) ? 0 : 1;
        break;
      case Action::kUpgrade:
        if (size_t line = file.first_hashed_line(); line != 0) {
          print_error("Password file " + path + " already holds hashed passwords (line " +
                      std::to_string(line) + "); -U would hash the hashes. Nothing changed.");
          rc = 1;
          break;
        }
        if (Status st = file.hash_all(cmd.params); !st) {
          print_error(st.error().context);
          rc = 1;
          break;
        }
        rc = write_file(path, file) ? 0 : 1;
        break;
    }
  }
  secure_zero(password.data(), password.size());
  return rc;
}

}  // namespace mq::crypto
