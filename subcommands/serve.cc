// `mq serve` / `mosquitto`: the broker's command line (Mosquitto 2.0 flags and messages; under
// `mq` also --port-file and -p 0), then broker::serve().
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxopts.hpp>
#include <string>

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

void add_options(cxxopts::Options& o) {
  o.add_options()
      ("c,config-file", "read this mosquitto.conf", cxxopts::value<std::string>())
      ("d,daemon", "put the broker into the background after starting")
      ("p,port", "listen on this port on 127.0.0.1 and ::1 (up to 10; 0 picks a free port)",
       cxxopts::value<std::vector<int>>())
      ("v,verbose", "log everything (log_type all)")
      ("q,quiet", "log nothing (log_type none)")
      ("test-config", "check the configuration and exit")
      ("version", "print the version and exit")
      ("port-file", "write the bound ports to this file, one a line", cxxopts::value<std::string>())
      ("h,help", "show this help");
}

int run(int argc, char** argv, const cli::Invocation& how) {
  broker::ServeOptions opts;
  const int bad = 3;  // Mosquitto exits 3 on every command-line or config error
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-c" || a == "--config-file") {
      if (i + 1 == argc) {
        fprintf(stderr, "Error: -c argument given, but no config file specified.\n\n");
        usage(stderr);
        return bad;
      }
      opts.config_file = argv[++i];
    } else if (a == "-d" || a == "--daemon") {
      opts.daemon = true;
    } else if (a == "-h" || a == "--help") {
      usage(how.as_mosquitto ? stderr : stdout);
      return how.as_mosquitto ? bad : 0;
    } else if (a == "-p" || a == "--port") {
      if (i + 1 == argc) {
        fprintf(stderr, "Error: -p argument given, but no port specified.\n\n");
        usage(stderr);
        return bad;
      }
      char* end = nullptr;
      long port = strtol(argv[++i], &end, 10);
      bool zero_ok = !how.as_mosquitto;
      if (*end != '\0' || port < (zero_ok ? 0 : 1) || port > 65535) {
        fprintf(stderr, "Error: Invalid port specified (%s).\n", argv[i]);
        return bad;
      }
      if (opts.ports.size() == 10) {
        fprintf(stderr, "Error: Only 10 ports may be specified on the command line.\n");
        return bad;
      }
      opts.ports.push_back(uint16_t(port));
    } else if (a == "-v" || a == "--verbose") {
      opts.verbose = true;
    } else if (a == "-q" || a == "--quiet") {
      opts.quiet = true;
    } else if (a == "--version") {
      // Mosquitto 2.0.11 answers "Unknown option" (status 3); every mq name prints its
      // version and exits 0, so scripts can ask what is installed.
      printf("mosquitto version 2.0.11 (mq %s)\n", kVersion);
      return 0;
    } else if (a == "--test-config") {
      opts.test_config = true;
    } else if (a == "--port-file" && !how.as_mosquitto) {
      if (i + 1 == argc) {
        fprintf(stderr, "Error: --port-file needs a file name.\n");
        return bad;
      }
      opts.port_file = argv[++i];
    } else {
      fprintf(stderr, "Error: Unknown option '%s'.\n", argv[i]);
      usage(stderr);
      return bad;
    }
  }
  return broker::serve(opts);
}

}  // namespace

extern const cli::Subcommand kServe = {
    "serve", "mosquitto", "MQTT 3.1 / 3.1.1 / 5.0 broker", add_options, run};

}  // namespace mq::subcommands
