#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <string>
#include <vector>

#include "cli/docs.h"
#include "cli/install.h"
#include "cli/subcommand.h"
#include "base/version.h"

namespace mq::cli {

namespace {

std::string_view basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  if (!path.empty() && path.front() == '-') path.remove_prefix(1);  // login-shell style "-mq"
  return path;
}

const Subcommand* find(std::span<const Subcommand> table, std::string_view name) {
  for (const Subcommand& s : table)
    if (s.name == name) return &s;
  return nullptr;
}

const Subcommand* find_mosquitto(std::span<const Subcommand> table, std::string_view name) {
  for (const Subcommand& s : table)
    if (!s.mosquitto_name.empty() && s.mosquitto_name == name) return &s;
  return nullptr;
}

void print_summary(std::span<const Subcommand> table, FILE* out) {
  fprintf(out,
          "mq %s - the Mosquitto toolset in one binary\n\n"
          "Usage: mq SUBCOMMAND [ARGS...]\n"
          "       mq help SUBCOMMAND | mq SUBCOMMAND --help\n"
          "       mq help --man mq|SUBCOMMAND | mq help --completion bash|zsh|fish\n"
          "       mq --list | --help | --version\n"
          "       mq --install [-s] [--force] DIR\n\n"
          "Started as one of the Mosquitto names (a link to mq), it behaves as that tool.\n\n"
          "Subcommands:\n",
          kVersion);
  for (const Subcommand& s : table) {
    std::string alias = s.mosquitto_name.empty() ? "" : " (" + std::string(s.mosquitto_name) + ")";
    fprintf(out, "  %-8.*s %.*s%s\n", int(s.name.size()), s.name.data(), int(s.summary.size()),
            s.summary.data(), alias.c_str());
  }
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, size_t(n));
}

int run_install(std::span<const Subcommand> table, int argc, char** argv) {
  InstallOptions opts;
  for (int i = 0; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "-s") {
      opts.symlink = true;
    } else if (a == "--force" || a == "-f") {
      opts.force = true;
    } else if (!a.empty() && a.front() == '-') {
      fprintf(stderr, "mq: --install: unknown option '%s'\nUsage: mq --install [-s] [--force] DIR\n",
              argv[i]);
      return 2;
    } else if (opts.dir.empty()) {
      opts.dir = std::string(a);
    } else {
      fprintf(stderr, "mq: --install takes one directory\nUsage: mq --install [-s] [--force] DIR\n");
      return 2;
    }
  }
  if (opts.dir.empty()) {
    fprintf(stderr, "mq: --install needs a directory\nUsage: mq --install [-s] [--force] DIR\n");
    return 2;
  }
  std::string exe = self_exe();
  if (exe.empty()) {
    fprintf(stderr, "mq: cannot find the running executable (/proc/self/exe)\n");
    return 1;
  }
  std::vector<std::string> names;
  for (const Subcommand& s : table)
    if (!s.mosquitto_name.empty()) names.emplace_back(s.mosquitto_name);
  // `mq` itself too, unless DIR is where the executable already lives.
  char real_dir[4096];
  std::string exe_dir = exe.substr(0, exe.rfind('/'));
  if (!realpath(opts.dir.c_str(), real_dir) || exe_dir != real_dir) names.emplace_back("mq");
  return install_links(opts, exe, names, stdout, stderr);
}

}  // namespace

std::string subcommand_help(const Subcommand& sub) {
  std::string prog = "mq " + std::string(sub.name);
  cxxopts::Options options(prog, std::string(sub.summary));
  if (sub.add_options) sub.add_options(options);
  return options.help();
}

int dispatch(std::span<const Subcommand> table, int argc, char** argv) {
  std::string_view self = argc > 0 ? basename_of(argv[0]) : "mq";
  if (self.starts_with("mosquitto")) {
    const Subcommand* s = find_mosquitto(table, self);
    if (!s) {
      fprintf(stderr, "mq: '%.*s' is not available in this build (try 'mq --list')\n",
              int(self.size()), self.data());
      return 127;
    }
    return s->run(argc, argv, Invocation{s->mosquitto_name, true});
  }
  if (self != "mq") {
    if (const Subcommand* s = find(table, self)) {
      return s->run(argc, argv, Invocation{s->name, false});
    }
  }
  if (argc < 2) {
    print_summary(table, stderr);
    return 1;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--list") {
    for (const Subcommand& s : table) printf("%.*s\n", int(s.name.size()), s.name.data());
    return 0;
  }
  if (cmd == "--help" || cmd == "-h") {
    print_summary(table, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    printf("mq version %s\n", kVersion);
    return 0;
  }
  if (cmd == "--install") return run_install(table, argc - 2, argv + 2);
  if (cmd == "help") {
    if (argc < 3) {
      print_summary(table, stdout);
      return 0;
    }
    // Documentation generated from the option declarations (packaging/ installs it).
    std::string_view what = argv[2];
    if (what == "--man" || what == "--completion") {
      if (argc != 4) {
        fprintf(stderr, "Usage: mq help --man mq|SUBCOMMAND | mq help --completion bash|zsh|fish\n");
        return 2;
      }
      std::string_view arg = argv[3];
      std::string text;
      if (what == "--completion") {
        text = completion_script(table, arg);
      } else if (arg == "mq") {
        text = overview_man_page(table);
      } else if (const Subcommand* s = find(table, arg)) {
        text = man_page(*s);
      }
      if (text.empty()) {
        fprintf(stderr, "mq: help %.*s: unknown '%.*s'\n", int(what.size()), what.data(),
                int(arg.size()), arg.data());
        return 2;
      }
      fputs(text.c_str(), stdout);
      return 0;
    }
    const Subcommand* s = find(table, argv[2]);
    if (!s) {
      fprintf(stderr, "mq: unknown subcommand '%s' (try 'mq --list')\n", argv[2]);
      return 127;
    }
    fputs(subcommand_help(*s).c_str(), stdout);
    return 0;
  }
  const Subcommand* s = find(table, cmd);
  if (!s) {
    fprintf(stderr, "mq: unknown subcommand '%s' (try 'mq --list')\n", argv[1]);
    return 127;
  }
  // Only the long form: `-h` belongs to the subcommand (the clients' -h is the host).
  if (argc >= 3 && strcmp(argv[2], "--help") == 0 && s->add_options) {
    fputs(subcommand_help(*s).c_str(), stdout);
    return 0;
  }
  return s->run(argc - 1, argv + 1, Invocation{s->name, false});
}

}  // namespace mq::cli
