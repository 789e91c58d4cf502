// `mq passwd` / `mosquitto_passwd`: Mosquitto 2.0's command line, messages and exit codes; the
// work is crypto::run_passwd(). Beyond Mosquitto: `-H argon2id` (the default), and under `mq`
// `--force` (needed for -c on an existing file) and `--help`.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/version.h"
#include "cli/flag_table.h"
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

// The options, once: add_options() declares them to cxxopts (`mq help`, man page, completion)
// and run() looks each argument up in the same table. By hand, as mosquitto_passwd: flags
// until the first argument that is not one, its messages and exit statuses.
enum class Opt { kBatch, kCreate, kDelete, kHash, kIterations, kUpgrade, kForce, kVersion, kHelp };
using V = cli::FlagValue;
constexpr cli::Flag<Opt> kFlags[] = {
    {Opt::kBatch, {'b', nullptr, V::kNone, nullptr,
                   "batch mode: the password is given on the command line"}},
    {Opt::kCreate, {'c', nullptr, V::kNone, nullptr,
                    "create a new password file (an existing one needs --force under mq)"}},
    {Opt::kDelete, {'D', nullptr, V::kNone, nullptr, "delete the user"}},
    {Opt::kHash, {'H', nullptr, V::kString, nullptr,
                  "hash: argon2id (default), sha512-pbkdf2 or sha512"}},
    {Opt::kIterations, {'I', nullptr, V::kInt, nullptr,
                        "iterations for sha512-pbkdf2 (default 1000)"}},
    {Opt::kUpgrade, {'U', nullptr, V::kNone, nullptr, "hash every plain-text password of the file"}},
    {Opt::kForce, {0, "force", V::kNone, nullptr, "let -c replace an existing file", true}},
    // mosquitto_passwd 2.0.11 has no --version (usage, status 1); every mq name answers it.
    {Opt::kVersion, {0, "version", V::kNone, nullptr, "print the version and exit"}},
    {Opt::kHelp, {'h', "help", V::kNone, nullptr, "show this help", true}},
};

void add_options(cxxopts::Options& o) { cli::add_flags(o, kFlags); }

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
    const cli::Flag<Opt>* f = cli::find_flag(kFlags, argv[idx], how.as_mosquitto);
    if (!f) break;  // the first positional argument, as mosquitto_passwd
    const char* value = nullptr;
    if (f->spec.value != V::kNone) {
      if (idx + 1 == argc) {
        fprintf(stderr, "Error: -%c argument given but not enough other arguments.\n",
                f->spec.short_name);
        return 1;
      }
      value = argv[++idx];
    }
    switch (f->id) {
      case Opt::kHash:
        if (!crypto::parse_hash_kind(value, &cmd.params.kind)) {
          fprintf(stderr, "Error: Unknown hash type '%s'\n", value);
          return 1;
        }
        break;
      case Opt::kIterations: {
        int n = atoi(value);
        if (n < 1) {
          fprintf(stderr, "Error: Number of iterations must be > 0.\n");
          return 1;
        }
        cmd.params.iterations = uint32_t(n);
        break;
      }
      case Opt::kBatch:
        batch = true;
        break;
      case Opt::kCreate:
        create = true;
        break;
      case Opt::kDelete:
        del = true;
        break;
      case Opt::kUpgrade:
        upgrade = true;
        break;
      case Opt::kForce:
        force = true;
        break;
      case Opt::kVersion:
        printf("mosquitto_passwd version 2.0.11 (mq %s)\n", kVersion);
        return 0;
      case Opt::kHelp:
        usage(stdout, how);
        return 0;
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
    add_options, run, cli::flag_specs<kFlags>};

}  // namespace mq::subcommands
