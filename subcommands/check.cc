// `mq check`: is the broker up and accepting this client? One line and exit 0/1, for container
// health checks (no shell in the image) and scripts. Options are a subset of mq sub's.
#include <cstdio>
#include <cxxopts.hpp>
#include <string>

#include "cli/subcommand.h"
#include "client/tools.h"

namespace mq::subcommands {

namespace {

void add_options(cxxopts::Options& o) {
  auto s = cxxopts::value<std::string>();
  o.add_options()
      ("h,host", "broker host (default localhost)", s)
      ("p,port", "broker port (default 1883, 8883 with TLS options)", cxxopts::value<int>())
      ("unix", "connect through this Unix socket", s)
      ("V,protocol-version", "mqttv5, mqttv311 or mqttv31 (default mqttv311)", s)
      ("i,id", "client id (default: assigned by the broker)", s)
      ("u,username", "user name", s)
      ("P,pw", "password", s)
      ("cafile", "CA certificates to verify the broker with (turns TLS on)", s)
      ("capath", "directory of CA certificates (turns TLS on)", s)
      ("cert", "client certificate", s)
      ("key", "client private key", s)
      ("insecure", "do not check the broker's host name against its certificate")
      ("W,timeout", "seconds to wait for the CONNACK (default 5)", cxxopts::value<unsigned>())
      ("help", "show this help");
}

int run(int argc, char** argv, const cli::Invocation&) {
  cxxopts::Options o("mq check", "is the broker accepting connections?");
  add_options(o);
  client::ClientConfig cfg;
  cfg.mq_names = true;
  try {
    cxxopts::ParseResult r = o.parse(argc, argv);
    if (r.count("help")) {
      fputs(o.help().c_str(), stdout);
      return 0;
    }
    if (!r.unmatched().empty()) throw cxxopts::exceptions::exception("unexpected argument '" + r.unmatched()[0] + "'");
    auto str = [&](const char* k, std::string* out) {
      if (r.count(k)) *out = r[k].as<std::string>();
    };
    str("host", &cfg.host);
    str("unix", &cfg.unix_path);
    str("cafile", &cfg.cafile);
    str("capath", &cfg.capath);
    str("cert", &cfg.certfile);
    str("key", &cfg.keyfile);
    if (r.count("port")) cfg.port = r["port"].as<int>();
    if (r.count("id")) cfg.id = r["id"].as<std::string>();
    if (r.count("username")) cfg.username = r["username"].as<std::string>();
    if (r.count("pw")) cfg.password = r["pw"].as<std::string>();
    if (r.count("insecure")) cfg.insecure = true;
    if (r.count("timeout")) cfg.timeout = r["timeout"].as<unsigned>();
    if (r.count("protocol-version")) {
      std::string v = r["protocol-version"].as<std::string>();
      if (v == "mqttv5" || v == "5") cfg.version = codec::ProtocolVersion::kV5;
      else if (v == "mqttv311" || v == "311") cfg.version = codec::ProtocolVersion::kV311;
      else if (v == "mqttv31" || v == "31") cfg.version = codec::ProtocolVersion::kV31;
      else throw cxxopts::exceptions::exception("unknown protocol version '" + v + "'");
    }
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
                                       add_options, run};

}  // namespace mq::subcommands
