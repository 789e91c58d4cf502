// Options and scenario entry points of mq_loadgen, the MQTT load generator
// behind bench/run.sh. Every scenario runs on one thread (one epoll loop for
// all connections), is bounded in time and count, and prints one
// machine-readable `result key=value ...` line on stdout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mq::bench {

struct Options {
  std::string scenario;  // fanin | fanout | idle | retain | probe | freeport
  uint16_t port = 0;     // broker port on 127.0.0.1
  // fanin / fanout
  int pubs = -1;  // -1: scenario default (fanin 8, fanout 1)
  int subs = -1;  // -1: scenario default (fanin 1, fanout 50)
  int qos = 0;
  size_t size = 64;        // payload bytes, >= 8 (publisher index + sequence number)
  uint64_t msgs = 0;       // total messages to publish; 0 = until --secs
  double secs = 0;         // publishing time; 0 = until --msgs (both 0: 5 s)
  uint32_t window = 512;   // max messages a publisher runs ahead of its slowest subscriber
  uint32_t inflight = 64;  // max unacknowledged QoS 1 PUBLISH per publisher
  uint32_t batch = 256;    // max messages encoded per publisher per loop turn
  double drain = 2;        // give up waiting for stragglers after this long without progress
  std::string topic = "bench/t";
  uint16_t keepalive = 60;
  bool persistent_subs = false;  // subscribers connect with clean session 0 (persistence bench)
  // idle
  uint32_t conns = 10000;  // idle: connections; retain: retained messages
  uint32_t concurrency = 64;  // CONNECTs awaiting CONNACK at once (below listen backlogs)
  double hold = 2;             // seconds to stay connected after all are up
  uint32_t sources = 0;        // 127.0.0.x source addresses; 0 = auto
  bool subscribe = false;      // each connection subscribes to bench/s/<index> (QoS 1)
  double timeout = 60;         // connect phase limit
};

int run_flow(const Options& o);  // fanin, fanout
int run_idle(const Options& o);
int run_retain(const Options& o);  // --conns retained messages from one connection
int run_probe(const Options& o);  // exit 0 once the broker answers CONNECT

}  // namespace mq::bench
