// `mq passwd` / `mosquitto_passwd`: Mosquitto 2.0's command line, messages and exit codes; the
// work is crypto::run_passwd(). Beyond Mosquitto: `-H argon2id` (the default), and under `mq`
// `--force` (needed for -c on an existing file) and `--help`.
#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <string>

#include "base/version.h"
#include "cli/subcommand.h"
#include "crypto/passwd_tool.h"

namespace mq::subcommands {

namespace {

void usage(FILE* out, const cli::Invocation& how) {
  std::string p = how.as_mosquitto ? "mosquitto_passwd" : "mq passwd";
  fprintf(
      out,
      "%s is a tool for managing password files for mosquitto.\n\n"
      "Usage: %s [-H argon2id | -H sha512-pbkdf2 | -H sha512] [-I iterations] [-c | -D] "
      "passwordfile username\n"
      "       %s [-H argon2id | -H sha512-pbkdf2 | -H sha512] [-c] -b passwordfile username "
      "password\n"
      "       %s -U passwordfile\n"
      " -b : run in batch mode to allow passing passwords on the command line.\n"
      " -c : create a new password file. %s\n"
      " -D : delete the username rather than adding/updating its password.\n"
      " -H : specify the hashing algorithm. Defaults to argon2id (m=19 MiB, t=2, p=1).\n"
      "      Mosquitto 2.0 brokers read only sha512-pbkdf2 and sha512.\n"
      " -I : iterations for sha512-pbkdf2 (default %u).\n"
      " -U : update a plain text password file to use hashed passwords.\n"
      "      A file that already holds hashes is refused.\n",
      p.c_str(), p.c_str(), p.c_str(), p.c_str(),
      how.as_mosquitto ? "This will overwrite existing files." : "An existing file needs --force.",
      crypto::kDefaultPbkdf2Iterations);
  if (!how.as_mosquitto) {
    fprintf(out, " --force : let -c replace an existing file.\n --help : show this help.\n");
  }
  fprintf(out, "\nSee https://mosquitto.org/ for more information.\n\n");
}

void add_options(cxxopts::Options& o) {
  // clang-format off
  o.add_options()
      ("b", "batch mode: the password is given on the command line")
      ("c", "create a new password file (an existing one needs --force under mq)")
      ("D", "delete the user")
      ("H", "hash: argon2id (default), sha512-pbkdf2 or sha512", cxxopts::value<std::string>())
      ("I", "iterations for sha512-pbkdf2 (default 1000)", cxxopts::value<int>())
      ("U", "hash every plain-text password of the file")
      ("force", "let -c replace an existing file")
      ("version", "print the version and exit")
      ("h,help", "show this help");
  // clang-format on
}

int run(int argc, char** argv, const cli::Invocation& how) {
  using crypto::PasswdCommand;
  if (argc == 1) {
    usage(stdout, how);
    return 1;
  }
  PasswdCommand cmd;
  bool batch = false, create = false, del = false, upgrade = false, force = false;
  int idx = 1;
  for (; idx < argc; idx++) {
    std::string a = argv[idx];
    if (a == "-H") {
      if (idx + 1 == argc) {
        fprintf(stderr, "Error: -H argument given but not enough other arguments.\n");
        return 1;
      }
      if (!crypto::parse_hash_kind(argv[++idx], &cmd.params.kind)) {
        fprintf(stderr, "Error: Unknown hash type '%s'\n", argv[idx]);
        return 1;
      }
    } else if (a == "-I") {
      if (idx + 1 == argc) {
        fprintf(stderr, "Error: -I argument given but not enough other arguments.\n");
        return 1;
      }
      int n = atoi(argv[++idx]);
      if (n < 1) {
        fprintf(stderr, "Error: Number of iterations must be > 0.\n");
        return 1;
      }
      cmd.params.iterations = uint32_t(n);
    } else if (a == "-b") {
      batch = true;
    } else if (a == "-c") {
      create = true;
    } else if (a == "-D") {
      del = true;
    } else if (a == "-U") {
      upgrade = true;
    } else if (a == "--force" && !how.as_mosquitto) {
      force = true;
    } else if (a == "--version") {
      // mosquitto_passwd 2.0.11 has none (usage, status 1); every mq name answers with 0.
      printf("mosquitto_passwd version 2.0.11 (mq %s)\n", kVersion);
      return 0;
    } else if ((a == "--help" || a == "-h") && !how.as_mosquitto) {
      usage(stdout, how);
      return 0;
    } else {
      break;  // the first positional argument, as mosquitto_passwd
    }
  }
  const char* conflict = create && del       ? "-c and -D"
                         : create && upgrade ? "-c and -U"
                         : del && upgrade    ? "-D and -U"
                         : del && batch      ? "-b and -D"
                                             : nullptr;
  if (conflict) {
    fprintf(stderr, "Error: %s cannot be used together.\n", conflict);
    return 1;
  }
  int left = argc - idx;
  if (create) {
    if (left < (batch ? 3 : 2)) {
      fprintf(stderr, batch ? "Error: -c argument given but password file, username, or password "
                              "missing.\n"
                            : "Error: -c argument given but password file or username missing.\n");
      return 1;
    }
  } else if (del) {
    if (left < 2) {
      fprintf(stderr, "Error: -D argument given but password file or username missing.\n");
      return 1;
    }
    cmd.action = PasswdCommand::Action::kDelete;
  } else if (upgrade) {
    if (left != 1) {
      fprintf(stderr, "Error: -U argument given but password file missing.\n");
      return 1;
    }
    cmd.action = PasswdCommand::Action::kUpgrade;
  } else if (left != (batch ? 3 : 2)) {
    usage(stdout, how);
    return 1;
  }
  cmd.file = argv[idx];
  if (!upgrade) cmd.username = argv[idx + 1];
  if (batch && !del && !upgrade) cmd.password = std::string(argv[idx + 2]);
  cmd.create = create;
  cmd.overwrite = how.as_mosquitto || force;
  return crypto::run_passwd(cmd);
}

}  // namespace

extern const cli::Subcommand kPasswd = {
    "passwd", "mosquitto_passwd", "manage password files (Mosquitto, PBKDF2 and Argon2id hashes)",
    add_options, run};

}  // namespace mq::subcommands
