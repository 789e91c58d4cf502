// Message: one application message inside the broker, immutable once published. It is shared by
// every subscriber queue, the retained store and persistence through MessagePtr, so a PUBLISH to
// N subscribers is held once. Outgoing encodings are made from it once per wire layout.
// Thread-safety: immutable after construction; the shared_ptr count is atomic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace mq::broker {

struct Message {
  std::string topic;
  std::string payload;
  // MQTT 5 properties passed on to subscribers, already encoded (user properties, content type,
  // payload format indicator, response topic, correlation data). Topic Alias, Subscription
  // Identifier and Message Expiry Interval are not in here: they are written per delivery.
  std::string properties;
  uint8_t qos = 0;
  bool retain = false;
  int64_t expiry_unix_ms = 0;  // absolute wall-clock deadline in ms; 0 = never expires
  std::string origin_client_id;  // for No Local and logging
  std::string origin_username;
  uint64_t store_id = 0;  // unique per broker run, for persistence
};

using MessagePtr = std::shared_ptr<const Message>;

}  // namespace mq::broker
