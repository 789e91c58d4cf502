// The vocabulary of proto::Endpoint (proto/endpoint.h): the role policy (EndpointPolicy and the
// three roles' values), the per-connection LinkState, what goes to the sink with an outgoing
// PUBLISH (PublishOut), what an owner decides about an incoming one (Admission), why an entry
// ends (Finish), and the receiver's topic alias rules (inbound_topic()), which the broker also
// applies before it has a session to build an Endpoint over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/packet.h"
#include "proto/inbound_qos2.h"
#include "proto/keepalive.h"
#include "proto/outbound.h"
#include "proto/topic_aliases.h"

namespace mq::proto {

// --- role policy -----------------------------------------------------------------------------

// A PUBREC for a packet identifier not in flight: libmosquitto answers PUBREL anyway (kPubrel);
// the bridge ignores it (kIgnore); the broker answers PUBREL 0x92 to an MQTT 5 peer
// (kPubrelNotFound) and ignores it on 3.1.1.
enum class UnknownPubrec : uint8_t { kIgnore, kPubrel, kPubrelNotFound };
// When an incoming QoS 2 message is delivered [MQTT-4.3.3]: on PUBLISH (method A, the bridge)
// or on PUBREL, held until then (method B, the broker and the clients).
enum class Qos2Delivery : uint8_t { kOnPublish, kOnPubrel };
// On a new connection, what was in flight: all again at once with DUP / PUBREL (libmosquitto,
// whether or not the server kept the session: kAlwaysDup); so only when the peer kept the
// session, else from scratch ahead of the queue (PUBRECed ones are forgotten) and the inbound
// QoS 2 state is forgotten too (kDupIfSessionPresent, the bridge); or again with DUP / PUBREL
// ahead of the queue but no more at once than the new window holds, the rest as
// acknowledgements free it [MQTT-3.3.4-7] (kWithinWindow, the broker resuming a session).
enum class Resend : uint8_t { kAlwaysDup, kDupIfSessionPresent, kWithinWindow };
// Keep alive: a client pings once it has sent nothing for a period (libmosquitto); the bridge
// pings every period (Mosquitto's bridge); a server only expires silent peers (1.5x).
enum class KeepAliveRole : uint8_t { kPingWhenQuiet, kPingEveryPeriod, kServer };

struct EndpointPolicy {
  UnknownPubrec unknown_pubrec = UnknownPubrec::kIgnore;
  UnknownPubrel unknown_pubrel = UnknownPubrel::kSuccess;
  Qos2Delivery qos2_delivery = Qos2Delivery::kOnPubrel;
  Resend resend = Resend::kAlwaysDup;
  KeepAliveRole keep_alive = KeepAliveRole::kServer;
  // The inbound QoS 2 state ends with the network connection (libmosquitto forgets it).
  bool inbound_qos2_per_connection = false;
  // Method B: the held message is forwarded before the PUBCOMP goes (Mosquitto's broker), not
  // after it (libmosquitto delivers once PUBCOMP is queued).
  bool release_before_pubcomp = false;
  // A Topic Alias from a peer we announced no Topic Alias Maximum to: 0x94 Topic Alias Invalid
  // [MQTT-3.3.2-9] (Mosquitto's broker), not ignored (libmosquitto, so the clients and bridge).
  bool unannounced_alias_invalid = false;
};

// The three roles, side by side. The broker runs its acknowledgements, queue pump and session
// resume through an Endpoint, its deliveries to subscribers through publish(const M&), and its
// incoming PUBLISH through on_publish_admit (the broker decides ACL, quotas and the reason
// code of the PUBACK / PUBREC: broker/handle_publish.cc) after inbound_topic() has applied
// its topic alias.
inline constexpr EndpointPolicy kClientPolicy{UnknownPubrec::kPubrel, UnknownPubrel::kSuccess,
                                              Qos2Delivery::kOnPubrel, Resend::kAlwaysDup,
                                              KeepAliveRole::kPingWhenQuiet, true, false};
inline constexpr EndpointPolicy kBridgePolicy{UnknownPubrec::kIgnore, UnknownPubrel::kSuccess,
                                              Qos2Delivery::kOnPublish,
                                              Resend::kDupIfSessionPresent,
                                              KeepAliveRole::kPingEveryPeriod, false, false};
constexpr EndpointPolicy broker_policy(bool v5) {
  return EndpointPolicy{v5 ? UnknownPubrec::kPubrelNotFound : UnknownPubrec::kIgnore,
                        v5 ? UnknownPubrel::kNotFound : UnknownPubrel::kSuccess,
                        Qos2Delivery::kOnPubrel, Resend::kWithinWindow, KeepAliveRole::kServer,
                        false, true, true};
}

// --- per-connection state --------------------------------------------------------------------

// What one network connection knows: the peer's limits, the incoming alias table and the
// keep-alive clock. reset() when a new connection starts.
struct LinkState {
  bool connected = false;               // CONNACK accepted: PUBLISH may flow
  uint32_t peer_receive_maximum = 65535;
  uint32_t own_inflight_limit = 0;      // ours, 0 = none (the window is the smaller)
  uint32_t peer_maximum_packet_size = 0;  // 0 = none
  uint32_t own_maximum_packet_size = 0;   // 0 = none; also applied to what we send
  // The Topic Alias Maximum this side announced. 0: none, and then an alias the peer sends
  // anyway is ignored and the PUBLISH must carry its topic.
  uint16_t inbound_alias_maximum = 0;
  uint16_t keep_alive_s = 0;  // 0 = none
  int64_t last_send_ms = 0;   // keep-alive clock (monotonic milliseconds)
  int64_t last_rx_ms = 0;
  PingState ping;
  InboundAliases in_aliases;

  // A new connection: the limits and aliases of the last one are gone [MQTT-3.3.2-7].
  void reset() {
    connected = false;
    peer_receive_maximum = 65535;
    peer_maximum_packet_size = 0;
    ping.reset();
    in_aliases.clear();
  }
  uint32_t window() const { return inflight_window(peer_receive_maximum, own_inflight_limit); }
  // The largest packet we may send, 0 = no limit.
  uint32_t max_packet_size() const {
    uint32_t a = peer_maximum_packet_size, b = own_maximum_packet_size;
    return a && b ? (a < b ? a : b) : (a ? a : b);
  }
};

// How the sink is to send an outgoing PUBLISH.
struct PublishOut {
  uint16_t packet_id = 0;  // 0 for QoS 0
  uint8_t qos = 0;
  bool dup = false;
  uint32_t max_packet_size = 0;  // 0 = none
  // Whether a packet of `total` bytes may go [MQTT-3.1.2-25]; one that may not is dropped as if
  // it had been sent.
  bool fits(size_t total) const { return max_packet_size == 0 || total <= max_packet_size; }
};

// What an owner decided about an incoming PUBLISH (Endpoint::on_publish_admit).
struct Admission {
  bool closed = false;  // the connection was closed: nothing is sent
  bool held = false;    // QoS 2: accepted and held until PUBREL; PUBREC success
  codec::ReasonCode reason_code = codec::ReasonCode::kSuccess;  // of the PUBACK / PUBREC
  static Admission close() { return {true, false, codec::ReasonCode::kSuccess}; }
  static Admission hold() { return {false, true, codec::ReasonCode::kSuccess}; }
  static Admission answer(codec::ReasonCode rc) { return {false, false, rc}; }
};

// The topic of an incoming PUBLISH once its Topic Alias is applied (inbound_topic()).
struct InboundTopic {
  enum class Error : uint8_t {
    kNone,
    kAliasInvalid,  // 0, or above the maximum we announced [MQTT-3.3.2-9, 3.3.2-10]
    kAliasUnknown,  // an empty topic with an alias never set
    kNoTopic,       // an empty topic and no alias (or one this side ignores)
  };
  Error error = Error::kNone;
  std::string_view topic;  // when kNone: valid until the link's next PUBLISH
  // What the DISCONNECT of a refused PUBLISH carries.
  codec::ReasonCode reason_code() const {
    return error == Error::kAliasInvalid ? codec::ReasonCode::kTopicAliasInvalid
                                         : codec::ReasonCode::kProtocolError;
  }
};

// The receiver's topic alias rules [MQTT-3.3.2-7..12], on `link`'s alias table (its members
// inbound_alias_maximum and in_aliases, whose resolve() is InboundAliases'): an alias sets the
// topic it comes with, an empty topic takes the one its alias was set to. Endpoint::on_publish
// applies it; the broker calls it itself, before its session is looked up, and closes with a
// log line of its own per Error.
template <class Link>
InboundTopic inbound_topic(const EndpointPolicy& policy, Link& link, const codec::Publish& p) {
  using Error = InboundTopic::Error;
  if (p.properties.topic_alias &&
      (link.inbound_alias_maximum > 0 || policy.unannounced_alias_invalid)) {
    auto r = link.in_aliases.resolve(*p.properties.topic_alias, p.topic,
                                     link.inbound_alias_maximum);
    if (r.error == codec::ReasonCode::kSuccess) return {Error::kNone, r.topic};
    return {r.error == codec::ReasonCode::kTopicAliasInvalid ? Error::kAliasInvalid
                                                             : Error::kAliasUnknown,
            {}};
  }
  if (p.topic.empty()) return {Error::kNoTopic, {}};
  return {Error::kNone, p.topic};
}

// Why an outgoing entry left for good.
enum class Finish : uint8_t {
  kAcknowledged,  // PUBACK, PUBCOMP or an error PUBREC [MQTT-4.3.3-4]
  kSent,          // QoS 0: written
  kTooLarge,      // over the peer's Maximum Packet Size: dropped as if sent [MQTT-3.1.2-25]
  kExpired,       // its Message Expiry Interval passed while queued [MQTT-3.3.2-5]
  kForgotten,     // PUBRECed, and the peer did not keep the session (Resend::kDupIfSessionPresent)
};

}  // namespace mq::proto
