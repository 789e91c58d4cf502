// MQTT 5 properties (section 2.2.2): the typed set a packet carries, and the table of which
// property may appear where, with which data type. String and binary members are views: after
// decode they point into the decoded input (valid only while that buffer lives); for encode they
// point into storage the caller owns. Value types and pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "codec/wire.h"

namespace mq::codec {

enum class PacketType : uint8_t;
enum class Direction : uint8_t;

enum class PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,
  kMessageExpiryInterval = 0x02,
  kContentType = 0x03,
  kResponseTopic = 0x08,
  kCorrelationData = 0x09,
  kSubscriptionIdentifier = 0x0B,
  kSessionExpiryInterval = 0x11,
  kAssignedClientIdentifier = 0x12,
  kServerKeepAlive = 0x13,
  kAuthenticationMethod = 0x15,
  kAuthenticationData = 0x16,
  kRequestProblemInformation = 0x17,
  kWillDelayInterval = 0x18,
  kRequestResponseInformation = 0x19,
  kResponseInformation = 0x1A,
  kServerReference = 0x1C,
  kReasonString = 0x1F,
  kReceiveMaximum = 0x21,
  kTopicAliasMaximum = 0x22,
  kTopicAlias = 0x23,
  kMaximumQos = 0x24,
  kRetainAvailable = 0x25,
  kUserProperty = 0x26,
  kMaximumPacketSize = 0x27,
  kWildcardSubscriptionAvailable = 0x28,
  kSubscriptionIdentifierAvailable = 0x29,
  kSharedSubscriptionAvailable = 0x2A,
};

// Where a property block sits: in a packet's variable header (values equal PacketType), or the
// will properties inside CONNECT's payload.
enum class PropertyScope : uint8_t {
  kConnect = 1,
  kConnack,
  kPublish,
  kPuback,
  kPubrec,
  kPubrel,
  kPubcomp,
  kSubscribe,
  kSuback,
  kUnsubscribe,
  kUnsuback,
  kPingreq,
  kPingresp,
  kDisconnect,
  kAuth,
  kWill = 16,
};

// The spec name ("Topic Alias"), or nullptr for an identifier MQTT 5 does not define.
const char* property_name(PropertyId id);
// True when id is defined and may appear in scope (the table in section 2.2.2.2).
bool property_allowed(PropertyId id, PropertyScope scope);

struct Properties {
  std::optional<uint8_t> payload_format_indicator;   // 0x01 PUBLISH, will
  std::optional<uint32_t> message_expiry_interval;   // 0x02 PUBLISH, will
  std::optional<std::string_view> content_type;      // 0x03 PUBLISH, will
  std::optional<std::string_view> response_topic;    // 0x08 PUBLISH, will
  std::optional<std::string_view> correlation_data;  // 0x09 PUBLISH, will (binary)
  std::vector<uint32_t>
      subscription_identifiers;  // 0x0B PUBLISH (to client, several), SUBSCRIBE (one)
  std::optional<uint32_t> session_expiry_interval;             // 0x11 CONNECT, CONNACK, DISCONNECT
  std::optional<std::string_view> assigned_client_identifier;  // 0x12 CONNACK
  std::optional<uint16_t> server_keep_alive;                   // 0x13 CONNACK
  std::optional<std::string_view> authentication_method;       // 0x15 CONNECT, CONNACK, AUTH
  std::optional<std::string_view> authentication_data;       // 0x16 CONNECT, CONNACK, AUTH (binary)
  std::optional<uint8_t> request_problem_information;        // 0x17 CONNECT
  std::optional<uint32_t> will_delay_interval;               // 0x18 will
  std::optional<uint8_t> request_response_information;       // 0x19 CONNECT
  std::optional<std::string_view> response_information;      // 0x1A CONNACK
  std::optional<std::string_view> server_reference;          // 0x1C CONNACK, DISCONNECT
  std::optional<std::string_view> reason_string;             // 0x1F acks, DISCONNECT, AUTH
  std::optional<uint16_t> receive_maximum;                   // 0x21 CONNECT, CONNACK
  std::optional<uint16_t> topic_alias_maximum;               // 0x22 CONNECT, CONNACK
  std::optional<uint16_t> topic_alias;                       // 0x23 PUBLISH
  std::optional<uint8_t> maximum_qos;                        // 0x24 CONNACK
  std::optional<uint8_t> retain_available;                   // 0x25 CONNACK
  std::optional<uint32_t> maximum_packet_size;               // 0x27 CONNECT, CONNACK
  std::optional<uint8_t> wildcard_subscription_available;    // 0x28 CONNACK
  std::optional<uint8_t> subscription_identifier_available;  // 0x29 CONNACK
  std::optional<uint8_t> shared_subscription_available;      // 0x2A CONNACK
  std::vector<std::pair<std::string_view, std::string_view>> user_properties;  // 0x26 anywhere

  // Decode only: the encoded property bytes after the Property Length, a view into the input, so
  // a broker can pass a block on unchanged. Ignored by == and by the encoder.
  std::string_view raw;

  // Encode only: when not empty, the properties are written in this order first (an identifier
  // once per instance: each user property or subscription identifier listed writes the next
  // one), then any not listed, in the usual order. What a client was given on its command line
  // (mosquitto_pub -D) then goes out in that order, as libmosquitto sends it, and a broker can
  // pass a message's properties on in the order they came. A view: the caller owns the
  // identifiers. Ignored by ==.
  std::span<const PropertyId> order;

  bool empty() const;
  bool operator==(const Properties& o) const;  // compares every property, not raw
};

// Reads a Property Length and the properties after it, checking identifier, scope, data type,
// value range and repetition. Errors: kMalformed 0x81 (unknown or misplaced identifier, bad type
// or UTF-8, length past the packet), kProtocol 0x82 (a single-instance property twice, a value the
// spec forbids such as Receive Maximum 0), kProtocol 0x94 (Topic Alias 0).
[[nodiscard]] Status decode_properties(Reader& r, PropertyScope scope, Properties& out);

// Size of the encoded properties, without the Property Length in front of them.
size_t properties_size(const Properties& p);

// The identifiers of an encoded property block (Properties::raw of a decoded packet), in the
// order they appear. REQUIRES: the block decoded without error.
std::vector<PropertyId> property_ids(std::string_view raw);
// Whether property_ids(raw) is sorted (the order the encoder writes without an order hint);
// allocates nothing.
bool property_ids_in_usual_order(std::string_view raw);

// Writes Property Length then the properties in identifier order. Writes everything set, whatever
// the scope; the encoder only calls it for MQTT 5.
template <bool kMeasure>
void encode_properties(Sink<kMeasure>& s, const Properties& p);

}  // namespace mq::codec
