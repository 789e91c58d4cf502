// Topic aliases of one MQTT 5 connection [MQTT-3.3.2-7..12], both directions. The receiver's
// table maps an alias to the topic last set for it; the sender's table gives the first `maximum`
// topics it sends an alias each, for the life of the connection. Both are per network
// connection: a reconnect starts them empty [MQTT-3.3.2-7]. No I/O; what to do with a refused
// alias (DISCONNECT with the reason code) is the owner's decision.
// Not thread-safe: owned by one connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/reason_code.h"

namespace mq::proto {

class InboundAliases {
 public:
  struct Resolved {
    codec::ReasonCode error = codec::ReasonCode::kSuccess;  // kSuccess: `topic` is the topic
    std::string_view topic;  // valid until the next call
  };
  // A PUBLISH arrived with Topic Alias `alias` and topic `topic` (possibly empty). `maximum` is
  // the Topic Alias Maximum this side announced. An alias of 0 or above the maximum is 0x94
  // Topic Alias Invalid [MQTT-3.3.2-9, 3.3.2-10]; an empty topic with an alias never set is a
  // Protocol Error.
  Resolved resolve(uint16_t alias, std::string_view topic, uint16_t maximum);
  void clear() { std::vector<std::string>().swap(topics_); }

 private:
  std::vector<std::string> topics_;  // index = alias
};

class OutboundAliases {
 public:
  struct Choice {
    uint16_t alias = 0;      // 0: send the topic without an alias
    bool is_new = false;     // the alias is not in the table yet: send the topic with it, then
                             // take() it once the packet is really sent
  };
  // The alias to send `topic` with, given the peer's Topic Alias Maximum (capped by ours).
  Choice choose(std::string_view topic, uint16_t maximum) const;
  void take(std::string_view topic, uint16_t alias) { table_.emplace(std::string(topic), alias); }
  size_t size() const { return table_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, uint16_t, Hash, std::equal_to<>> table_;
};

}  // namespace mq::proto
