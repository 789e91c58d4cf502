// mq_loadgen: MQTT 3.1.1 load generator for bench/run.sh. See bench/README.md.
//
//   mq_loadgen fanin  --port P [--pubs 8] [--qos 0|1] [--size 64] [--msgs N | --secs T]
//   mq_loadgen fanout --port P [--subs 50] [--qos 0|1] ...
//   mq_loadgen idle   --port P [--conns 10000] [--hold 2] [--keepalive 0] [--subscribe 0|1]
//   mq_loadgen retain --port P [--conns 100000] [--size 64] [--hold 2]
//   mq_loadgen probe  --port P [--timeout 5]     exit 0 once a CONNECT is answered
//   mq_loadgen freeport                          print a free 127.0.0.1 TCP port
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "loadgen.h"
#include "net.h"

namespace {

using mq::bench::Options;

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "mq_loadgen: %s\n", why);
  std::fprintf(stderr,
               "usage: mq_loadgen fanin|fanout|idle|retain|probe|freeport --port PORT [options]\n"
               "  fanin/fanout: --pubs N --subs N --qos 0|1 --size BYTES --msgs N --secs T\n"
               "                --window N --inflight N --batch N --drain SECS --topic T\n"
               "                --keepalive SECS --timeout SECS --persistent-subs 0|1\n"
               "  idle:         --conns N --concurrency N --hold SECS --sources N\n"
               "                --keepalive SECS --timeout SECS --subscribe 0|1\n"
               "  retain:       --conns N (retained messages) --size BYTES --hold SECS\n");
  std::exit(2);
}

double number(const char* name, const char* v, double lo, double hi) {
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || d < lo || d > hi) {
    std::fprintf(stderr, "mq_loadgen: bad value for %s: %s\n", name, v);
    std::exit(2);
  }
  return d;
}

Options parse(int argc, char** argv) {
  if (argc < 2) usage(nullptr);
  Options o;
  o.scenario = argv[1];
  bool keepalive_set = false;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "-h" || k == "--help") usage(nullptr);
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const char* v = argv[++i];
    if (k == "--port") o.port = static_cast<uint16_t>(number("--port", v, 1, 65535));
    else if (k == "--pubs") o.pubs = static_cast<int>(number("--pubs", v, 1, 10000));
    else if (k == "--subs") o.subs = static_cast<int>(number("--subs", v, 1, 10000));
    else if (k == "--qos") o.qos = static_cast<int>(number("--qos", v, 0, 1));
    else if (k == "--size") o.size = static_cast<size_t>(number("--size", v, 8, 256 * 1024));
    else if (k == "--msgs") o.msgs = static_cast<uint64_t>(number("--msgs", v, 1, 4e9));
    else if (k == "--secs") o.secs = number("--secs", v, 0.01, 3600);
    else if (k == "--window") o.window = static_cast<uint32_t>(number("--window", v, 1, 1e7));
    else if (k == "--inflight") o.inflight = static_cast<uint32_t>(number(k.c_str(), v, 1, 65535));
    else if (k == "--batch") o.batch = static_cast<uint32_t>(number("--batch", v, 1, 1e6));
    else if (k == "--drain") o.drain = number("--drain", v, 0.01, 600);
    else if (k == "--topic") o.topic = v;
    else if (k == "--persistent-subs") o.persistent_subs = number(k.c_str(), v, 0, 1) != 0;
    else if (k == "--keepalive") {
      o.keepalive = static_cast<uint16_t>(number("--keepalive", v, 0, 65535));
      keepalive_set = true;
    }
    else if (k == "--conns") o.conns = static_cast<uint32_t>(number("--conns", v, 1, 1e6));
    else if (k == "--concurrency") o.concurrency = static_cast<uint32_t>(number(k.c_str(), v, 1, 1e5));
    else if (k == "--hold") o.hold = number("--hold", v, 0, 3600);
    else if (k == "--subscribe") o.subscribe = number(k.c_str(), v, 0, 1) != 0;
    else if (k == "--sources") o.sources = static_cast<uint32_t>(number("--sources", v, 1, 250));
    else if (k == "--timeout") o.timeout = number("--timeout", v, 0.1, 3600);
    else usage(("unknown option " + k).c_str());
  }
  if (o.scenario == "fanin") {
    if (o.pubs < 0) o.pubs = 8;
    if (o.subs < 0) o.subs = 1;
  } else if (o.scenario == "fanout") {
    if (o.pubs < 0) o.pubs = 1;
    if (o.subs < 0) o.subs = 50;
  } else if (o.scenario == "idle") {
    if (!keepalive_set) o.keepalive = 0;
  } else if (o.scenario == "retain") {
    o.keepalive = 0;
  } else if (o.scenario != "probe" && o.scenario != "freeport") {
    usage(("unknown scenario " + o.scenario).c_str());
  }
  if (o.scenario == "fanin" || o.scenario == "fanout") {
    if (o.msgs == 0 && o.secs == 0) o.secs = 5;
    if (o.msgs && o.msgs < static_cast<uint64_t>(o.pubs)) usage("--msgs below --pubs");
  }
  if (o.scenario != "freeport" && o.port == 0) usage("--port is required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options o = parse(argc, argv);
  if (o.scenario == "freeport") {
    uint16_t p = mq::bench::free_port();
    if (p == 0) return 1;
    std::printf("%u\n", p);
    return 0;
  }
  mq::bench::raise_nofile_limit();
  if (o.scenario == "probe") return mq::bench::run_probe(o);
  if (o.scenario == "idle") return mq::bench::run_idle(o);
  if (o.scenario == "retain") return mq::bench::run_retain(o);
  return mq::bench::run_flow(o);
}
