// ConnectTerms: what a client's CONNECT settled for its connection: protocol version, client
// identifier, user name, keep alive and the limits each side announced. handle_connect builds it
// and hands it to the Connection in one call once the CONNECT is accepted; everything else reads
// it through Connection::terms() and cannot change it. A plain value; no threading of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/optional_string.h"
#include "codec/packet.h"

namespace mq::broker {

// Fields ordered by size: it is part of every Connection (see connection.h).
struct ConnectTerms {
  std::string client_id;
  OptionalString username;
  std::unique_ptr<std::string> password;  // only with a password_file (SIGHUP re-check)
  uint32_t client_max_packet = 0;         // the client's Maximum Packet Size (0 = protocol maximum)
  uint16_t keep_alive = 0;                // seconds, as negotiated; 0 = none
  uint16_t client_receive_max = 65535;
  uint16_t topic_alias_max = 0;  // ours, announced in CONNACK
  uint16_t out_alias_max = 0;    // broker->client: min(client's maximum, ours)
  codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
  bool cert_identity = false;  // user name from the TLS certificate / PSK identity
  bool request_problem_info = true;
  // The client is a Mosquitto bridge (bit 7 of the CONNECT protocol level, try_private): it is
  // never sent its own messages back (bridge loop prevention).
  bool bridge = false;
};

}  // namespace mq::broker
