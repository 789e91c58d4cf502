// `mq certgen`: a CA, server and client certificates for TLS listeners, in one command.
// Parses the command line into crypto::CertgenOptions and runs one action from
// crypto/cert_commands.h. Exit status: 0 done, 1 failed (or `show` found a problem), 2 usage.
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/version.h"
#include "cli/flag_table.h"
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

// The options, once: add_options() declares them to cxxopts, which parses argv (its messages
// are certgen's) and feeds `mq help`, the man page and completion; run() reads each row back.
enum class Opt { kDir, kCaDir, kCaCert, kCaKey, kKeyType, kDays, kCn, kDns, kIp, kNoLocal, kClient,
                 kPort, kCsr, kAs, kOut, kNewKey, kForce, kHelp, kVersion };
using V = cli::FlagValue;
constexpr cli::Flag<Opt> kFlags[] = {
    {Opt::kDir, {0, "dir", V::kString, nullptr,
                 "write (and look for) files in DIR (default: the current directory)"}},
    {Opt::kCaDir, {0, "ca-dir", V::kString, nullptr,
                   "the CA's ca.crt and ca.key are in DIR (default: --dir)"}},
    {Opt::kCaCert, {0, "ca-cert", V::kString, nullptr, "the CA certificate to sign with"}},
    {Opt::kCaKey, {0, "ca-key", V::kString, nullptr, "the CA key to sign with"}},
    {Opt::kKeyType, {0, "key-type", V::kString, nullptr,
                     "ec:p256 (default), ec:p384, rsa:2048, rsa:3072 or rsa:4096"}},
    {Opt::kDays, {0, "days", V::kInt, nullptr,
                  "validity in days (default: 3650 for a CA, 365 otherwise)"}},
    {Opt::kCn, {0, "cn", V::kString, nullptr, "the subject's common name"}},
    {Opt::kDns, {0, "dns", V::kStrings, nullptr,
                 "a DNS name for the server certificate (repeatable)"}},
    {Opt::kIp, {0, "ip", V::kStrings, nullptr,
                "an IP address for the server certificate (repeatable)"}},
    {Opt::kNoLocal, {0, "no-local", V::kNone, nullptr,
                     "leave localhost, 127.0.0.1 and ::1 out of a server certificate"}},
    {Opt::kClient, {0, "client", V::kStrings, nullptr,
                    "all: the client certificate's name (repeatable; default 'client')"}},
    {Opt::kPort, {0, "port", V::kInt, nullptr,
                  "all: the listener port in the printed configuration (default 8883)"}},
    {Opt::kCsr, {0, "csr", V::kString, nullptr, "sign: the certificate signing request"}},
    {Opt::kAs, {0, "as", V::kString, nullptr,
                "sign: what the certificate is for: server or client"}},
    {Opt::kOut, {0, "out", V::kString, nullptr,
                 "sign: where to write the certificate (default: DIR/NAME.crt for NAME.csr)"}},
    {Opt::kNewKey, {0, "new-key", V::kNone, nullptr, "renew: make a fresh key too"}},
    {Opt::kForce, {0, "force", V::kNone, nullptr, "replace existing files"}},
    {Opt::kHelp, {'h', "help", V::kNone, nullptr, "show this help"}},
    {Opt::kVersion, {0, "version", V::kNone, nullptr, "print the version and exit"}},
};

void add_options(cxxopts::Options& o) {
  // The action list rides in the usage line so that `mq help certgen` shows it too.
  o.custom_help("ACTION [OPTIONS]");
  o.positional_help(std::string("\n\n") + kActions);
  cli::add_flags(o, kFlags);
  o.add_options()
      ("action", "", cxxopts::value<std::string>())
      ("args", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"action", "args"});
}

int usage_error(const std::string& message) {
  fprintf(stderr, "mq certgen: %s\nUsage: mq certgen ACTION [OPTIONS] (see mq certgen --help)\n",
          message.c_str());
  return kUsage;
}

int run(int argc, char** argv, const cli::Invocation&) {
  cxxopts::Options options("mq certgen", "TLS certificates for mq and Mosquitto");
  add_options(options);
  crypto::CertgenOptions o;
  std::string action;
  try {
    cxxopts::ParseResult r = options.parse(argc, argv);
    bool help = false, version = false, days_given = false;
    std::optional<std::string> key_type;
    std::optional<std::vector<std::string>> clients;
    cli::for_each_given(r, kFlags, [&](Opt id, const cxxopts::OptionValue& v) {
      switch (id) {
        case Opt::kDir: o.dir = v.as<std::string>(); break;
        case Opt::kCaDir: o.ca_dir = v.as<std::string>(); break;
        case Opt::kCaCert: o.ca_cert = v.as<std::string>(); break;
        case Opt::kCaKey: o.ca_key = v.as<std::string>(); break;
        case Opt::kKeyType: key_type = v.as<std::string>(); break;
        case Opt::kDays:
          o.days = v.as<int>();
          days_given = true;
          break;
        case Opt::kCn: o.cn = v.as<std::string>(); break;
        case Opt::kDns: o.dns = v.as<std::vector<std::string>>(); break;
        case Opt::kIp: o.ip = v.as<std::vector<std::string>>(); break;
        case Opt::kNoLocal: o.no_local = true; break;
        case Opt::kClient: clients = v.as<std::vector<std::string>>(); break;
        case Opt::kPort: o.port = v.as<int>(); break;
        case Opt::kCsr: o.csr = v.as<std::string>(); break;
        case Opt::kAs: o.sign_as = v.as<std::string>(); break;
        case Opt::kOut: o.out = v.as<std::string>(); break;
        case Opt::kNewKey: o.new_key = true; break;
        case Opt::kForce: o.force = true; break;
        case Opt::kHelp: help = true; break;
        case Opt::kVersion: version = true; break;
      }
    });
    if (help) {
      fputs(options.help().c_str(), stdout);
      return 0;
    }
    if (version) {
      printf("mq certgen version %s\n", kVersion);
      return 0;
    }
    if (!r.count("action")) return usage_error("no action given");
    action = r["action"].as<std::string>();
    if (key_type) {
      auto type = crypto::parse_key_type(*key_type);
      if (!type.ok()) return usage_error(type.error().context);
      o.key_type = *type;
    }
    std::vector<std::string> args;
    if (r.count("args")) args = r["args"].as<std::vector<std::string>>();
    if (action == "client") {
      o.names = args;
    } else if (action == "renew" || action == "show") {
      o.files = args;
    } else if (!args.empty()) {
      return usage_error("unexpected argument '" + args.front() + "' for " + action);
    }
    if (clients) {
      if (action != "all") return usage_error("--client belongs to 'all' (use: client NAME)");
      o.names = *clients;
    }
    if (o.dir.empty()) o.dir = ".";
    if (days_given && o.days < 1) return usage_error("--days must be at least 1");
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
    "certgen", "", "make a CA, server and client certificates for TLS", add_options, run,
    cli::flag_specs<kFlags>};

}  // namespace mq::subcommands
