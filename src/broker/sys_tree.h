// SysTree: the $SYS/broker/... topics, published retained every sys_interval seconds, each only
// when its value changed (as Mosquitto), and mq's $SYS/broker/bridges/<name>/... (connected,
// address, queued messages and bytes, dropped, last_error). Owned by the Broker;
// single-threaded on its loop.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "broker/stats.h"
#include "net/loop.h"

namespace mq::broker {

class Broker;

class SysTree {
 public:
  explicit SysTree(Broker& broker) : broker_(broker) {}
  ~SysTree();
  void start();    // publishes the static topics and schedules the first update
  void restart();  // sys_interval may have changed (SIGHUP)

 private:
  void tick();
  void update();
  void set(const std::string& topic, std::string value);
  void update_loads(int64_t now_ms, const StatsValues& st);

  // $SYS/broker/load/<name>/{1min,5min,15min}: per-minute rates, exponentially averaged.
  struct Load {
    const char* name;
    uint64_t last = 0;
    double avg[3] = {0, 0, 0};
  };
  Load loads_[9] = {{"messages/received"}, {"messages/sent"}, {"publish/received"},
                    {"publish/sent"},      {"publish/dropped"}, {"bytes/received"},
                    {"bytes/sent"},        {"sockets"},         {"connections"}};
  int64_t last_load_ms_ = 0;

  Broker& broker_;
  net::TimerId timer_ = 0;
  std::unordered_map<std::string, std::string> last_;
  uint64_t heap_max_ = 0;  // $SYS/broker/heap/maximum: the largest heap/current seen
};

}  // namespace mq::broker
