// Outbound<Entry>: the sender's half of MQTT QoS 1 and 2 for one endpoint, shared by the broker's
// sessions, its bridges and the clients. It owns the in-flight window (messages sent and not yet
// completed, in first-send order, which is also the order they go again after a reconnect
// [MQTT-4.6.0-1]), the queue of messages waiting for room in it, packet identifier allocation,
// and the acknowledgement rules [MQTT-4.3.2-1..5, 4.3.3-1..13]. No I/O: the owner encodes and
// writes what the outcome asks for, and decides what a queued entry is (a shared Message, a copy).
// Entry needs the members `uint16_t packet_id`, `uint8_t qos` and `bool pubrec_received`.
// Not thread-safe: owned by one endpoint on one loop.
#pragma once

#include <cstdint>
#include <utility>

#include "codec/packet.h"
#include "proto/fifo.h"

namespace mq::proto {

// What an acknowledgement from the receiver did to the in-flight window.
enum class AckOutcome : uint8_t {
  kUnknown,    // no message of that QoS is in flight with that packet identifier
  kReleased,   // a PUBREC accepted the QoS 2 message: send PUBREL; the entry stays in flight
  kCompleted,  // PUBACK, PUBCOMP or an error PUBREC ended the flow: the entry left the window
};

// The window one side may fill: the peer's Receive Maximum, capped by our own limit when set
// (0 = none), never below 1.
inline uint32_t inflight_window(uint32_t peer_receive_maximum, uint32_t own_limit) {
  uint32_t w = peer_receive_maximum;
  if (own_limit && own_limit < w) w = own_limit;
  return w ? w : 1;
}

template <class Entry>
class Outbound {
 public:
  using iterator = typename Fifo<Entry>::iterator;

  // Sent and not yet completed, in first-send order.
  Fifo<Entry> inflight;
  // Waiting for room in the window (or for a connection). Entries may carry a packet
  // identifier already (a client assigns it when the message is published) or get one when
  // they enter the window.
  Fifo<Entry> queue;
  // In-flight entries carried over from an earlier connection and not yet sent again on this
  // one (an owner that resends within the window: proto::Resend::kWithinWindow).
  uint32_t unsent = 0;

  bool has_room(uint32_t window) const { return inflight.size() < window; }

  // Finds an in-flight entry; acknowledgements usually come in order, so the front is the
  // common case.
  iterator find(uint16_t packet_id) {
    for (auto it = inflight.begin(); it != inflight.end(); ++it)
      if (it->packet_id == packet_id) return it;
    return inflight.end();
  }

  // The next packet identifier after the last one given that no in-flight entry uses
  // [MQTT-2.2.1-3]. REQUIRES: fewer than 65535 entries in flight.
  uint16_t next_packet_id() {
    for (;;) {
      if (++last_packet_id_ == 0) continue;
      if (find(last_packet_id_) == inflight.end()) return last_packet_id_;
    }
  }

  // Applies PUBACK, PUBREC or PUBCOMP (`type`) for `packet_id`. On kCompleted the entry is
  // moved into *done (when not null) before it leaves the window, for the owner's bookkeeping.
  // A PUBACK only completes a QoS 1 message, PUBREC and PUBCOMP only a QoS 2 one.
  AckOutcome on_ack(codec::PacketType type, uint16_t packet_id, codec::ReasonCode rc,
                    Entry* done = nullptr) {
    auto it = find(packet_id);
    if (it == inflight.end()) return AckOutcome::kUnknown;
    switch (type) {
      case codec::PacketType::kPuback:
        if (it->qos != 1) return AckOutcome::kUnknown;
        break;
      case codec::PacketType::kPubcomp:
        if (it->qos != 2) return AckOutcome::kUnknown;
        break;
      case codec::PacketType::kPubrec:
        if (it->qos != 2) return AckOutcome::kUnknown;
        if (uint8_t(rc) < 0x80) {  // [MQTT-4.3.3-4] an error PUBREC ends the flow instead
          it->pubrec_received = true;
          return AckOutcome::kReleased;
        }
        break;
      default:
        return AckOutcome::kUnknown;
    }
    if (done) *done = std::move(*it);
    inflight.erase(it);
    return AckOutcome::kCompleted;
  }

  // After a reconnect: every in-flight entry goes again in first-send order, as a PUBLISH with
  // DUP set [MQTT-3.3.1-1] or, once PUBREC had arrived, as PUBREL [MQTT-4.4.0-1].
  // `send(Entry&, bool pubrel)` does the sending.
  template <class F>
  void resend(F&& send) {
    for (Entry& e : inflight) send(e, e.pubrec_received);
  }

  void clear() {
    inflight.clear();
    queue.clear();
  }

 private:
  uint16_t last_packet_id_ = 0;
};

}  // namespace mq::proto
