// `mq certgen`: a CA, server and client certificates for TLS listeners, in one command.
// Parses the command line into crypto::CertgenOptions and runs one action from
// crypto/cert_commands.h. Exit status: 0 done, 1 failed (or `show` found a problem), 2 usage.
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/version.h"
#include "cli/subcommand.h"
#include "crypto/cert_commands.h"

namespace mq::subcommands {

namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

constexpr const char* kActions =
    "Actions:\n"
    "  ca                      a CA key and self-signed certificate (ca.key, ca.crt; 10 years)\n"
    "  server                  a server key and certificate signed by the CA (server.key,\n"
    "                          server.crt) for every --dns and --ip, plus localhost, 127.0.0.1\n"
    "                          and ::1 unless --no-local\n"
    "  client NAME...          a client key and certificate with CN=NAME (NAME.key, NAME.crt)\n"
    "  all                     all three at once (client 'client' unless --client), then the\n"
    "                          mosquitto.conf and client command lines that use them\n"
    "  sign --csr FILE --as server|client\n"
    "                          sign a request made elsewhere\n"
    "  renew server|NAME|FILE...\n"
    "                          re-issue with the same names and key (--new-key: a fresh key)\n"
    "  show FILE...            subject, names, validity, key; --ca-cert/--ca-dir: the chain\n";

void add_options(cxxopts::Options& o) {
  // The action list rides in the usage line so that `mq help certgen` shows it too.
  o.custom_help("ACTION [OPTIONS]");
  o.positional_help(std::string("\n\n") + kActions);
  o.add_options()
      ("dir", "write (and look for) files in DIR (default: the current directory)",
       cxxopts::value<std::string>())
      ("ca-dir", "the CA's ca.crt and ca.key are in DIR (default: --dir)",
       cxxopts::value<std::string>())
      ("ca-cert", "the CA certificate to sign with", cxxopts::value<std::string>())
      ("ca-key", "the CA key to sign with", cxxopts::value<std::string>())
      ("key-type", "ec:p256 (default), ec:p384, rsa:2048, rsa:3072 or rsa:4096",
       cxxopts::value<std::string>())
      ("days", "validity in days (default: 3650 for a CA, 365 otherwise)", cxxopts::value<int>())
      ("cn", "the subject's common name", cxxopts::value<std::string>())
      ("dns", "a DNS name for the server certificate (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("ip", "an IP address for the server certificate (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("no-local", "leave localhost, 127.0.0.1 and ::1 out of a server certificate")
      ("client", "all: the client certificate's name (repeatable; default 'client')",
       cxxopts::value<std::vector<std::string>>())
      ("port", "all: the listener port in the printed configuration (default 8883)",
       cxxopts::value<int>())
      ("csr", "sign: the certificate signing request", cxxopts::value<std::string>())
      ("as", "sign: what the certificate is for: server or client", cxxopts::value<std::string>())
      ("out", "sign: where to write the certificate (default: DIR/NAME.crt for NAME.csr)",
       cxxopts::value<std::string>())
      ("new-key", "renew: make a fresh key too")
      ("force", "replace existing files")
      ("h,help", "show this help")
      ("version", "print the version and exit")
      ("action", "", cxxopts::value<std::string>())
      ("args", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"action", "args"});
}

int usage_error(const std::string& message) {
  fprintf(stderr, "mq certgen: %s\nUsage: mq certgen ACTION [OPTIONS] (see mq certgen --help)\n",
          message.c_str());
  return kUsage;
}

template <class T>
void take(const cxxopts::ParseResult& r, const char* name, T* out) {
  if (r.count(name)) *out = r[name].as<T>();
}

int run(int argc, char** argv, const cli::Invocation&) {
  cxxopts::Options options("mq certgen", "TLS certificates for mq and Mosquitto");
  add_options(options);
  crypto::CertgenOptions o;
  std::string action;
  try {
    cxxopts::ParseResult r = options.parse(argc, argv);
    if (r.count("help")) {
      fputs(options.help().c_str(), stdout);
      return 0;
    }
    if (r.count("version")) {
      printf("mq certgen version %s\n", kVersion);
      return 0;
    }
    if (!r.count("action")) return usage_error("no action given");
    action = r["action"].as<std::string>();
    take(r, "dir", &o.dir);
    take(r, "ca-dir", &o.ca_dir);
    take(r, "ca-cert", &o.ca_cert);
    take(r, "ca-key", &o.ca_key);
    take(r, "days", &o.days);
    take(r, "cn", &o.cn);
    take(r, "dns", &o.dns);
    take(r, "ip", &o.ip);
    take(r, "csr", &o.csr);
    take(r, "as", &o.sign_as);
    take(r, "out", &o.out);
    take(r, "port", &o.port);
    o.no_local = r.count("no-local") > 0;
    o.force = r.count("force") > 0;
    o.new_key = r.count("new-key") > 0;
    if (r.count("key-type")) {
      auto type = crypto::parse_key_type(r["key-type"].as<std::string>());
      if (!type.ok()) return usage_error(type.error().context);
      o.key_type = *type;
    }
    std::vector<std::string> args;
    take(r, "args", &args);
    if (action == "client") {
      o.names = args;
    } else if (action == "renew" || action == "show") {
      o.files = args;
    } else if (!args.empty()) {
      return usage_error("unexpected argument '" + args.front() + "' for " + action);
    }
    if (r.count("client")) {
      if (action != "all") return usage_error("--client belongs to 'all' (use: client NAME)");
      o.names = r["client"].as<std::vector<std::string>>();
    }
    if (o.dir.empty()) o.dir = ".";
    if (r.count("days") && o.days < 1) return usage_error("--days must be at least 1");
    if (o.port < 1 || o.port > 65535) return usage_error("--port must be between 1 and 65535");
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }

  const Clock& clock = SystemClock::instance();
  Result<crypto::CertgenOutput> result = make_error(ErrorKind::kConfig, "");
  if (action == "ca") {
    result = crypto::certgen_ca(o, clock);
  } else if (action == "server") {
    result = crypto::certgen_server(o, clock);
  } else if (action == "client") {
    result = crypto::certgen_client(o, clock);
  } else if (action == "all") {
    result = crypto::certgen_all(o, clock);
  } else if (action == "sign") {
    result = crypto::certgen_sign(o, clock);
  } else if (action == "renew") {
    result = crypto::certgen_renew(o, clock);
  } else if (action == "show") {
    result = crypto::certgen_show(o, clock);
  } else {
    return usage_error("unknown action '" + action + "' (ca, server, client, all, sign, renew, show)");
  }
  if (!result.ok()) {
    fprintf(stderr, "mq certgen: %s\n", result.error().context.c_str());
    return kFailed;
  }
  fputs(result->text.c_str(), stdout);
  fflush(stdout);
  for (const auto& w : result->warnings) fprintf(stderr, "mq certgen: warning: %s\n", w.c_str());
  return result->problem ? kFailed : 0;
}

}  // namespace

extern const cli::Subcommand kCertgen = {
    "certgen", "", "make a CA, server and client certificates for TLS", add_options, run};

}  // namespace mq::subcommands
