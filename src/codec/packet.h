// One plain struct per MQTT control packet, for MQTT 3.1, 3.1.1 and 5.0, and Packet, the variant
// of all fifteen. Fields are views (std::string_view): after decode they point into the decoded
// body (valid only while that buffer lives, see framer.h); for encode into storage the caller
// owns. Anything kept longer must be copied. Fields a version lacks are ignored when encoding it
// and left empty when decoding it. Value types; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "codec/properties.h"
#include "codec/reason_code.h"

namespace mq::codec {

enum class ProtocolVersion : uint8_t { kV31 = 3, kV311 = 4, kV5 = 5 };

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,
};

// Who sent the bytes being decoded. Some rules depend on it: a client never sends CONNACK, and a
// PUBLISH from a client must not carry a Subscription Identifier [MQTT-3.3.4-6].
enum class Direction : uint8_t { kClientToServer, kServerToClient };

const char* packet_type_name(PacketType t);  // "CONNECT", ...

struct Will {
  std::string_view topic;
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // MQTT 5 will properties
  bool operator==(const Will&) const = default;
};

struct Connect {
  static constexpr PacketType kType = PacketType::kConnect;
  ProtocolVersion version = ProtocolVersion::kV5;  // from the protocol name and level
  // Bit 7 of the protocol level was set: a Mosquitto bridge announcing itself (try_private).
  bool bridge = false;
  bool clean_start = true;  // "Clean Session" before MQTT 5
  uint16_t keep_alive = 0;
  std::string_view client_id;
  std::optional<Will> will;
  std::optional<std::string_view> username;
  std::optional<std::string_view> password;  // binary data
  Properties properties;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  static constexpr PacketType kType = PacketType::kConnack;
  bool session_present = false;
  // MQTT 5 reason code; for 3.1 / 3.1.1 the return code 0..5 (see connack_return_code_v3).
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  static constexpr PacketType kType = PacketType::kPublish;
  std::string_view topic;  // empty only with a Topic Alias (MQTT 5)
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // present on the wire only when qos > 0
  Properties properties;   // properties.raw keeps the received block for pass-through
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one layout. MQTT 5 short forms: remaining length 2
// means reason 0 and no properties, 3 means no properties.
template <PacketType T>
struct Ack {
  static constexpr PacketType kType = T;
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;  // MQTT 5 only
  Properties properties;
  bool operator==(const Ack&) const = default;
};
using Puback = Ack<PacketType::kPuback>;
using Pubrec = Ack<PacketType::kPubrec>;
using Pubrel = Ack<PacketType::kPubrel>;
using Pubcomp = Ack<PacketType::kPubcomp>;

struct Subscription {
  std::string_view filter;  // may be `$share/{group}/{filter}`: see parse_shared
  uint8_t qos = 0;
  bool no_local = false;             // MQTT 5
  bool retain_as_published = false;  // MQTT 5
  uint8_t retain_handling = 0;       // MQTT 5: 0, 1 or 2
  bool operator==(const Subscription&) const = default;
};

struct Subscribe {
  static constexpr PacketType kType = PacketType::kSubscribe;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<Subscription> subscriptions;  // at least one [MQTT-3.8.3-2]
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  static constexpr PacketType kType = PacketType::kSuback;
  uint16_t packet_id = 0;
  Properties properties;
  // One per subscription. Before MQTT 5: 0x00, 0x01, 0x02 or 0x80 (kUnspecifiedError = Failure).
  std::vector<ReasonCode> reason_codes;
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  static constexpr PacketType kType = PacketType::kUnsubscribe;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::string_view> filters;  // at least one [MQTT-3.10.3-2]
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  static constexpr PacketType kType = PacketType::kUnsuback;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<ReasonCode> reason_codes;  // MQTT 5 only; empty before
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
  static constexpr PacketType kType = PacketType::kPingreq;
  bool operator==(const Pingreq&) const = default;
};

struct Pingresp {
  static constexpr PacketType kType = PacketType::kPingresp;
  bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
  static constexpr PacketType kType = PacketType::kDisconnect;
  ReasonCode reason_code = ReasonCode::kNormalDisconnection;  // MQTT 5 only
  Properties properties;
  bool operator==(const Disconnect&) const = default;
};

struct Auth {  // MQTT 5 only
  static constexpr PacketType kType = PacketType::kAuth;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Auth&) const = default;
};

// Alternative i holds PacketType i + 1.
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

inline PacketType packet_type(const Packet& p) {
  return static_cast<PacketType>(p.index() + 1);
}

}  // namespace mq::codec
