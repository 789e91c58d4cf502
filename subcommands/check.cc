// `mq check`: is the broker up and accepting this client? One line and exit 0/1, for container
// health checks (no shell in the image) and scripts. Options are a subset of mq sub's.
#include <cstdio>
#include <cxxopts.hpp>
#include <optional>
#include <string>

#include "cli/flag_table.h"
#include "cli/subcommand.h"
#include "client/tools.h"

namespace mq::subcommands {

namespace {

// The options, once: add_options() declares them to cxxopts, which parses argv and feeds `mq
// help`, the man page and completion; run() reads each row back into the client config.
enum class Opt { kHost, kPort, kUnix, kVersion, kId, kUsername, kPassword, kCafile, kCapath, kCert,
                 kKey, kInsecure, kTimeout, kHelp };
using V = cli::FlagValue;
constexpr cli::Flag<Opt> kFlags[] = {
    {Opt::kHost, {'h', "host", V::kString, nullptr, "broker host (default localhost)"}},
    {Opt::kPort, {'p', "port", V::kInt, nullptr,
                  "broker port (default 1883, 8883 with TLS options)"}},
    {Opt::kUnix, {0, "unix", V::kString, nullptr, "connect through this Unix socket"}},
    {Opt::kVersion, {'V', "protocol-version", V::kString, nullptr,
                     "mqttv5, mqttv311 or mqttv31 (default mqttv311)"}},
    {Opt::kId, {'i', "id", V::kString, nullptr, "client id (default: assigned by the broker)"}},
    {Opt::kUsername, {'u', "username", V::kString, nullptr, "user name"}},
    {Opt::kPassword, {'P', "pw", V::kString, nullptr, "password"}},
    {Opt::kCafile, {0, "cafile", V::kString, nullptr,
                    "CA certificates to verify the broker with (turns TLS on)"}},
    {Opt::kCapath, {0, "capath", V::kString, nullptr, "directory of CA certificates (turns TLS on)"}},
    {Opt::kCert, {0, "cert", V::kString, nullptr, "client certificate"}},
    {Opt::kKey, {0, "key", V::kString, nullptr, "client private key"}},
    {Opt::kInsecure, {0, "insecure", V::kNone, nullptr,
                      "do not check the broker's host name against its certificate"}},
    {Opt::kTimeout, {'W', "timeout", V::kUnsigned, nullptr,
                     "seconds to wait for the CONNACK (default 5)"}},
    {Opt::kHelp, {0, "help", V::kNone, nullptr, "show this help"}},
};

void add_options(cxxopts::Options& o) { cli::add_flags(o, kFlags); }

// A -V value, as mosquitto_sub reads it.
bool parse_version(const std::string& v, codec::ProtocolVersion* out) {
  if (v == "mqttv5" || v == "5") *out = codec::ProtocolVersion::kV5;
  else if (v == "mqttv311" || v == "311") *out = codec::ProtocolVersion::kV311;
  else if (v == "mqttv31" || v == "31") *out = codec::ProtocolVersion::kV31;
  else return false;
  return true;
}

int run(int argc, char** argv, const cli::Invocation&) {
  cxxopts::Options o("mq check", "is the broker accepting connections?");
  add_options(o);
  client::ClientConfig cfg;
  cfg.mq_names = true;
  try {
    cxxopts::ParseResult r = o.parse(argc, argv);
    bool help = false;
    std::optional<std::string> version;
    cli::for_each_given(r, kFlags, [&](Opt id, const cxxopts::OptionValue& v) {
      switch (id) {
        case Opt::kHost: cfg.host = v.as<std::string>(); break;
        case Opt::kPort: cfg.port = v.as<int>(); break;
        case Opt::kUnix: cfg.unix_path = v.as<std::string>(); break;
        case Opt::kVersion: version = v.as<std::string>(); break;
        case Opt::kId: cfg.id = v.as<std::string>(); break;
        case Opt::kUsername: cfg.username = v.as<std::string>(); break;
        case Opt::kPassword: cfg.password = v.as<std::string>(); break;
        case Opt::kCafile: cfg.cafile = v.as<std::string>(); break;
        case Opt::kCapath: cfg.capath = v.as<std::string>(); break;
        case Opt::kCert: cfg.certfile = v.as<std::string>(); break;
        case Opt::kKey: cfg.keyfile = v.as<std::string>(); break;
        case Opt::kInsecure: cfg.insecure = true; break;
        case Opt::kTimeout: cfg.timeout = v.as<unsigned>(); break;
        case Opt::kHelp: help = true; break;
      }
    });
    if (help) {
      fputs(o.help().c_str(), stdout);
      return 0;
    }
    if (!r.unmatched().empty())
      throw cxxopts::exceptions::exception("unexpected argument '" + r.unmatched()[0] + "'");
    if (version && !parse_version(*version, &cfg.version))
      throw cxxopts::exceptions::exception("unknown protocol version '" + *version + "'");
  } catch (const cxxopts::exceptions::exception& e) {
    fprintf(stderr, "mq check: %s\n%s", e.what(), o.help().c_str());
    return 2;
  }
  // A v3.1 broker refuses an empty client id; the broker assigns one otherwise.
  if (!cfg.id && cfg.version == codec::ProtocolVersion::kV31) cfg.id = "mq-check";
  return client::run_check(cfg);
}

}  // namespace

extern const cli::Subcommand kCheck = {"check", "", "check that a broker accepts a connection (exit 0/1)",
                                       add_options, run, cli::flag_specs<kFlags>};

}  // namespace mq::subcommands
