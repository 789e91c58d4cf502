// ConnectRequest: what an endpoint asks for when it connects, as one value that owns its
// strings, shared by the clients (client/session.cc) and the broker's bridges. packet() is the
// one place that turns it into the CONNECT packet. No I/O. A plain value: copy it freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codec/packet.h"

namespace mq::proto {

struct WillRequest {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  codec::Properties properties;  // MQTT 5 only; views into storage that outlives the request
};

struct ConnectRequest {
  codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
  bool bridge = false;  // a Mosquitto bridge announcing itself (try_private), before MQTT 5
  bool clean_start = true;
  uint16_t keep_alive = 60;  // seconds; 0 = none
  std::string client_id;     // empty: the server assigns one
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<WillRequest> will;
  codec::Properties properties;  // MQTT 5 only; views into storage that outlives the request

  // The CONNECT packet. It views this value: keep both alive until it is encoded. The
  // properties (CONNECT's and the will's) go only into an MQTT 5 packet.
  codec::Connect packet() const {
    codec::Connect c;
    c.version = version;
    c.bridge = bridge;
    c.clean_start = clean_start;
    c.keep_alive = keep_alive;
    c.client_id = client_id;
    if (username) c.username = *username;
    if (password) c.password = *password;
    bool v5 = version == codec::ProtocolVersion::kV5;
    if (will) {
      codec::Will w;
      w.topic = will->topic;
      w.payload = will->payload;
      w.qos = will->qos;
      w.retain = will->retain;
      if (v5) w.properties = will->properties;
      c.will = w;
    }
    if (v5) c.properties = properties;
    return c;
  }
};

}  // namespace mq::proto
