// Keep alive [MQTT-3.1.2-20..24], both roles, as pure decisions on times the owner passes in
// (milliseconds of the loop's monotonic clock), so the rules test without sockets or sleeping.
// The server side closes a connection silent for one and a half keep-alive periods; the client
// side (clients and bridges) sends PINGREQ once it has been quiet for a period and gives up when
// the previous PINGREQ got no PINGRESP within one.
// Not thread-safe: owned by one connection.
#pragma once

#include <cstdint>

namespace mq::proto {

// Server: whether a client with keep alive `keep_alive_s` (0 = none) that last sent a packet at
// `last_rx_ms` has gone silent for too long at `now_ms` [MQTT-3.1.2-24].
inline bool keepalive_expired(int64_t now_ms, int64_t last_rx_ms, uint16_t keep_alive_s) {
  return keep_alive_s > 0 && now_ms - last_rx_ms > int64_t(keep_alive_s) * 1500;
}

// Client: the PINGREQ / PINGRESP exchange.
class PingState {
 public:
  enum class Action : uint8_t { kNone, kSendPing, kTimedOut };

  // The keep-alive timer fired at `now_ms`. `last_send_ms` is when this side last sent a packet
  // (pass a time at least a period old to ping on every tick). kSendPing: send PINGREQ now (it
  // is then outstanding); kTimedOut: the last PINGREQ was not answered, the connection is gone.
  Action on_timer(int64_t now_ms, int64_t last_send_ms, int64_t period_ms) {
    if (now_ms - last_send_ms < period_ms) return Action::kNone;
    if (outstanding_) return Action::kTimedOut;
    outstanding_ = true;
    return Action::kSendPing;
  }
  void on_pingresp() { outstanding_ = false; }
  void reset() { outstanding_ = false; }
  bool outstanding() const { return outstanding_; }

 private:
  bool outstanding_ = false;
};

}  // namespace mq::proto
