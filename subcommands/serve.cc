// `mq serve` / `mosquitto`: the broker's command line (Mosquitto 2.0 flags and messages; under
// `mq` also --port-file and -p 0), then broker::serve().
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxopts.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "broker/serve.h"
#include "cli/subcommand.h"
#include "base/version.h"

namespace mq::subcommands {

namespace {

void usage(FILE* out) {
  fprintf(out,
          "mosquitto version 2.0.11 (mq %s)\n\n"
          "mosquitto is an MQTT v5.0/v3.1.1/v3.1 broker.\n\n"
          "Usage: mosquitto [-c config_file] [-d] [-h] [-p port]\n\n"
          " -c : specify the broker config file.\n"
          " -d : put the broker into the background after starting.\n"
          " -h : display this help.\n"
          " -p : start the broker listening on the specified port.\n"
          "      Not recommended in conjunction with the -c option.\n"
          " -v : verbose mode - enable all logging types. This overrides\n"
          "      any logging options given in the config file.\n"
          " -q : quiet mode - disable all logging types. This overrides -v.\n"
          " --test-config : check the config file and exit.\n\n"
          "See https://mosquitto.org/ for more information.\n",
          kVersion);
}

// The options, once: add_options() declares them to cxxopts (for --help, man pages and
// completion) and run() parses argv by walking the same table, so the two cannot drift. The
// parser is by hand because Mosquitto's messages and exit statuses are reproduced exactly.
enum class Flag { kConfig, kDaemon, kPort, kVerbose, kQuiet, kTestConfig, kVersion, kPortFile,
                  kHelp };
struct FlagSpec {
  Flag id;
  const char* short_name;  // "" when there is none
  const char* long_name;
  const char* value;       // the value's name for a flag that takes one, else nullptr
  bool mq_only;            // not accepted under the name `mosquitto`
  const char* help;
};
constexpr FlagSpec kFlags[] = {
    {Flag::kConfig, "c", "config-file", "FILE", false, "read this mosquitto.conf"},
    {Flag::kDaemon, "d", "daemon", nullptr, false, "put the broker into the background after starting"},
    {Flag::kPort, "p", "port", "PORT", false,
     "listen on this port on 127.0.0.1 and ::1 (up to 10; 0 picks a free port)"},
    {Flag::kVerbose, "v", "verbose", nullptr, false, "log everything (log_type all)"},
    {Flag::kQuiet, "q", "quiet", nullptr, false, "log nothing (log_type none)"},
    {Flag::kTestConfig, "", "test-config", nullptr, false, "check the configuration and exit"},
    {Flag::kVersion, "", "version", nullptr, false, "print the version and exit"},
    {Flag::kPortFile, "", "port-file", "FILE", true,
     "write the bound ports to this file, one a line"},
    {Flag::kHelp, "h", "help", nullptr, false, "show this help"},
};

void add_options(cxxopts::Options& o) {
  auto adder = o.add_options();
  for (const FlagSpec& f : kFlags) {
    std::string names = *f.short_name ? std::string(f.short_name) + "," + f.long_name
                                      : std::string(f.long_name);
    if (f.id == Flag::kPort) {
      adder(names, f.help, cxxopts::value<std::vector<int>>(), f.value);
    } else if (f.value) {
      adder(names, f.help, cxxopts::value<std::string>(), f.value);
    } else {
      adder(names, f.help);
    }
  }
}

const FlagSpec* find_flag(std::string_view a, bool as_mosquitto) {
  for (const FlagSpec& f : kFlags) {
    if (f.mq_only && as_mosquitto) continue;
    bool short_match = *f.short_name && a.size() == 2 && a[0] == '-' && a.substr(1) == f.short_name;
    bool long_match = a.size() > 2 && a.starts_with("--") && a.substr(2) == f.long_name;
    if (short_match || long_match) return &f;
  }
  return nullptr;
}

int run(int argc, char** argv, const cli::Invocation& how) {
  broker::ServeOptions opts;
  const int bad = 3;  // Mosquitto exits 3 on every command-line or config error
  for (int i = 1; i < argc; i++) {
    const FlagSpec* f = find_flag(argv[i], how.as_mosquitto);
    if (!f) {
      fprintf(stderr, "Error: Unknown option '%s'.\n", argv[i]);
      usage(stderr);
      return bad;
    }
    const char* value = nullptr;
    if (f->value) {
      if (i + 1 == argc) {
        if (f->id == Flag::kConfig) {
          fprintf(stderr, "Error: -c argument given, but no config file specified.\n\n");
          usage(stderr);
        } else if (f->id == Flag::kPort) {
          fprintf(stderr, "Error: -p argument given, but no port specified.\n\n");
          usage(stderr);
        } else {
          fprintf(stderr, "Error: --%s needs a file name.\n", f->long_name);
        }
        return bad;
      }
      value = argv[++i];
    }
    switch (f->id) {
      case Flag::kConfig:
        opts.config_file = value;
        break;
      case Flag::kDaemon:
        opts.daemon = true;
        break;
      case Flag::kHelp:
        usage(how.as_mosquitto ? stderr : stdout);
        return how.as_mosquitto ? bad : 0;
      case Flag::kPort: {
        char* end = nullptr;
        long port = strtol(value, &end, 10);
        bool zero_ok = !how.as_mosquitto;
        if (*end != '\0' || port < (zero_ok ? 0 : 1) || port > 65535) {
          fprintf(stderr, "Error: Invalid port specified (%s).\n", value);
          return bad;
        }
        if (opts.ports.size() == 10) {
          fprintf(stderr, "Error: Only 10 ports may be specified on the command line.\n");
          return bad;
        }
        opts.ports.push_back(uint16_t(port));
        break;
      }
      case Flag::kVerbose:
        opts.verbose = true;
        break;
      case Flag::kQuiet:
        opts.quiet = true;
        break;
      case Flag::kVersion:
        // Mosquitto 2.0.11 answers "Unknown option" (status 3); every mq name prints its
        // version and exits 0, so scripts can ask what is installed.
        printf("mosquitto version 2.0.11 (mq %s)\n", kVersion);
        return 0;
      case Flag::kTestConfig:
        opts.test_config = true;
        break;
      case Flag::kPortFile:
        opts.port_file = value;
        break;
    }
  }
  return broker::serve(opts);
}

}  // namespace

extern const cli::Subcommand kServe = {
    "serve", "mosquitto", "MQTT 3.1 / 3.1.1 / 5.0 broker", add_options, run};

}  // namespace mq::subcommands
