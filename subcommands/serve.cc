// `mq serve` / `mosquitto`: the broker's command line (Mosquitto 2.0 flags and messages; under
// `mq` also --port-file and -p 0), then broker::serve().
#include <cstdio>
#include <cstdlib>

#include "broker/serve.h"
#include "cli/flag_table.h"
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
enum class Opt { kConfig, kDaemon, kPort, kVerbose, kQuiet, kTestConfig, kVersion, kPortFile,
                 kHelp };
using V = cli::FlagValue;
constexpr cli::Flag<Opt> kFlags[] = {
    {Opt::kConfig, {'c', "config-file", V::kString, "FILE", "read this mosquitto.conf"}},
    {Opt::kDaemon, {'d', "daemon", V::kNone, nullptr,
                    "put the broker into the background after starting"}},
    {Opt::kPort, {'p', "port", V::kInts, "PORT",
                  "listen on this port on 127.0.0.1 and ::1 (up to 10; 0 picks a free port)"}},
    {Opt::kVerbose, {'v', "verbose", V::kNone, nullptr, "log everything (log_type all)"}},
    {Opt::kQuiet, {'q', "quiet", V::kNone, nullptr, "log nothing (log_type none)"}},
    {Opt::kTestConfig, {0, "test-config", V::kNone, nullptr, "check the configuration and exit"}},
    {Opt::kVersion, {0, "version", V::kNone, nullptr, "print the version and exit"}},
    {Opt::kPortFile, {0, "port-file", V::kString, "FILE",
                      "write the bound ports to this file, one a line", true}},
    {Opt::kHelp, {'h', "help", V::kNone, nullptr, "show this help"}},
};

void add_options(cxxopts::Options& o) { cli::add_flags(o, kFlags); }

int run(int argc, char** argv, const cli::Invocation& how) {
  broker::ServeOptions opts;
  const int bad = 3;  // Mosquitto exits 3 on every command-line or config error
  for (int i = 1; i < argc; i++) {
    const cli::Flag<Opt>* f = cli::find_flag(kFlags, argv[i], how.as_mosquitto);
    if (!f) {
      fprintf(stderr, "Error: Unknown option '%s'.\n", argv[i]);
      usage(stderr);
      return bad;
    }
    const char* value = nullptr;
    if (f->spec.value != V::kNone) {
      if (i + 1 == argc) {
        if (f->id == Opt::kConfig) {
          fprintf(stderr, "Error: -c argument given, but no config file specified.\n\n");
          usage(stderr);
        } else if (f->id == Opt::kPort) {
          fprintf(stderr, "Error: -p argument given, but no port specified.\n\n");
          usage(stderr);
        } else {
          fprintf(stderr, "Error: --%s needs a file name.\n", f->spec.long_name);
        }
        return bad;
      }
      value = argv[++i];
    }
    switch (f->id) {
      case Opt::kConfig:
        opts.config_file = value;
        break;
      case Opt::kDaemon:
        opts.daemon = true;
        break;
      case Opt::kHelp:
        usage(how.as_mosquitto ? stderr : stdout);
        return how.as_mosquitto ? bad : 0;
      case Opt::kPort: {
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
      case Opt::kVerbose:
        opts.verbose = true;
        break;
      case Opt::kQuiet:
        opts.quiet = true;
        break;
      case Opt::kVersion:
        // Mosquitto 2.0.11 answers "Unknown option" (status 3); every mq name prints its
        // version and exits 0, so scripts can ask what is installed.
        printf("mosquitto version 2.0.11 (mq %s)\n", kVersion);
        return 0;
      case Opt::kTestConfig:
        opts.test_config = true;
        break;
      case Opt::kPortFile:
        opts.port_file = value;
        break;
    }
  }
  return broker::serve(opts);
}

}  // namespace

extern const cli::Subcommand kServe = {"serve", "mosquitto", "MQTT 3.1 / 3.1.1 / 5.0 broker",
                                       add_options, run, cli::flag_specs<kFlags>};

}  // namespace mq::subcommands
