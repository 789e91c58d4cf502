// InboundQos2<Held>: the receiver's half of MQTT QoS 2 for one endpoint, shared by the broker's
// sessions, its bridges and the clients (the sender's half is Outbound). It owns the packet
// identifiers received and acknowledged with PUBREC that PUBREL has not released yet, each with
// what the owner keeps for it until then, and the rules around them: a PUBLISH whose identifier
// is still pending is a re-send, answered with PUBREC again and not delivered again
// [MQTT-4.3.3-9]; every PUBREL is answered with PUBCOMP [MQTT-4.3.3-11].
// Held is the message itself for an owner that forwards on PUBREL (the broker, the clients:
// method B of [MQTT-4.3.3]), or NothingHeld for one that delivered on PUBLISH (the bridge:
// method A). No I/O: the owner sends the packets the calls return.
// Not thread-safe: owned by one endpoint on one loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "codec/packet.h"
#include "proto/packet_id_set.h"

namespace mq::proto {

// Held for an owner that delivered the message when the PUBLISH came.
struct NothingHeld {};

// The reason code of the PUBCOMP that answers a PUBREL for an identifier not pending (after a
// reconnect this is no error). kSuccess is what libmosquitto sends; kNotFound is MQTT 5's 0x92
// (Packet Identifier not found), sent to a peer that speaks MQTT 5 only.
enum class UnknownPubrel : uint8_t { kSuccess, kNotFound };

template <class Held>
class InboundQos2 {
 public:
  using Entry = typename PacketIdMap<Held>::Entry;

  // What a PUBREL did.
  struct Release {
    bool released = false;  // the identifier was pending (and what was held is moved out)
    codec::Pubcomp reply;   // to send in every case [MQTT-4.3.3-11]
  };

  // A QoS 2 PUBLISH with `packet_id` came: true when it is a re-send of one not yet released,
  // which is answered with resend_reply() and delivered nowhere [MQTT-4.3.3-9].
  bool is_resend(uint16_t packet_id) const { return pending_.count(packet_id) != 0; }
  static codec::Pubrec resend_reply(uint16_t packet_id) {
    return codec::Pubrec{packet_id, codec::ReasonCode::kSuccess, {}};
  }

  // Records a new QoS 2 PUBLISH the owner accepted (delivered it, or holds it in `held`) and
  // returns the PUBREC to send. REQUIRES: !is_resend(packet_id).
  codec::Pubrec accept(uint16_t packet_id, Held held = Held()) {
    pending_.insert(packet_id, std::move(held));
    return codec::Pubrec{packet_id, codec::ReasonCode::kSuccess, {}};
  }

  // PUBREL for `packet_id`: forgets it, moves what was held into *held (when not null and the
  // identifier was pending) and says which PUBCOMP to send.
  Release on_pubrel(uint16_t packet_id, UnknownPubrel unknown, Held* held = nullptr) {
    Release r;
    r.released = pending_.erase(packet_id, held);
    r.reply.packet_id = packet_id;
    r.reply.reason_code = r.released || unknown == UnknownPubrel::kSuccess
                              ? codec::ReasonCode::kSuccess
                              : codec::ReasonCode::kPacketIdentifierNotFound;
    return r;
  }

  // State restored from storage (the broker's persistence): pending as if accepted.
  void restore(uint16_t packet_id, Held held) { pending_.insert(packet_id, std::move(held)); }

  size_t size() const { return pending_.size(); }
  bool empty() const { return pending_.empty(); }
  // Forgets every pending identifier (the owner's session ended).
  void clear() { pending_.clear(); }
  // In packet identifier order, for storage.
  typename PacketIdMap<Held>::const_iterator begin() const { return pending_.begin(); }
  typename PacketIdMap<Held>::const_iterator end() const { return pending_.end(); }

 private:
  PacketIdMap<Held> pending_;
};

}  // namespace mq::proto
