// SysTree: the $SYS/broker/... topics, published retained every sys_interval seconds, each only
// when its value changed (as Mosquitto). Owned by the Broker; single-threaded on its loop.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

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

  Broker& broker_;
  net::TimerId timer_ = 0;
  std::unordered_map<std::string, std::string> last_;
};

}  // namespace mq::broker
