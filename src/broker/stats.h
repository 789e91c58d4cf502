// Broker counters behind $SYS/broker/...: plain integers bumped on the broker loop.
// Single-threaded (one loop); a multi-loop broker will keep one Stats per loop and sum them.
#pragma once

#include <cstdint>

namespace mq::broker {

struct Stats {
  int64_t start_unix = 0;
  uint64_t packets_received = 0;   // $SYS/broker/messages/received (every MQTT packet)
  uint64_t packets_sent = 0;       // $SYS/broker/messages/sent
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t publish_received = 0;
  uint64_t publish_sent = 0;
  uint64_t publish_dropped = 0;
  uint64_t publish_bytes_received = 0;
  uint64_t publish_bytes_sent = 0;
  uint64_t clients_connected = 0;
  uint64_t clients_maximum = 0;
  uint64_t clients_expired = 0;
  uint64_t connections_accepted = 0;
};

}  // namespace mq::broker
