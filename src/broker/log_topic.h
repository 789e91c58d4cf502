// LogTopic: `log_dest topic`. Log lines are published as Mosquitto does, to
// $SYS/broker/log/{E,W,N,I,WS} and $SYS/broker/log/M/{subscribe,unsubscribe} by type (never
// debug), QoS 2, not retained, with a 20 s message expiry, the payload being the line as a log
// file gets it. The logger calls from any thread with its own lock held, so lines are queued
// and published from the broker loop; lines logged while publishing them are dropped (no
// feedback loop). Owned by the Broker; publishing runs on the broker loop.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/loop.h"

namespace mq::broker {

class Broker;

class LogTopic {
 public:
  LogTopic(Broker& broker, net::EventLoop& loop) : broker_(broker), loop_(loop) {}
  ~LogTopic();  // removes the sink from the logger
  LogTopic(const LogTopic&) = delete;
  LogTopic& operator=(const LogTopic&) = delete;

  // Becomes the logger's topic sink (used while `log_dest topic` is configured).
  void install();
  // The topic for a log type, or null for types Mosquitto does not publish.
  static const char* topic_for(uint32_t type);

 private:
  struct Queue {
    std::mutex mu;
    std::vector<std::pair<const char*, std::string>> lines;  // guarded by mu
    bool posted = false;                                      // guarded by mu
  };
  void queue(uint32_t type, std::string_view line);
  void drain();

  Broker& broker_;
  net::EventLoop& loop_;
  std::shared_ptr<Queue> q_ = std::make_shared<Queue>();  // posted tasks hold it weakly
};

}  // namespace mq::broker
