// Endpoint<Sink>: the MQTT protocol engine of one side of one connection, sans I/O. Decoded
// packets, clock ticks and messages to publish go in; packets to send and events come out
// through the owner's Sink. It runs the QoS 1/2 flows both ways (packet identifiers, the
// in-flight window capped by the peer's Receive Maximum, the queue behind it, acknowledgement
// rules, QoS 2 duplicate suppression, resend with DUP / PUBREL after a reconnect in first-send
// order), resolves incoming topic aliases, applies the peer's Maximum Packet Size to outgoing
// PUBLISH packets [MQTT-3.1.2-25] and keeps the connection alive (PINGREQ as a client, the
// 1.5x expiry as a server).
//
// State lives outside: the MQTT session's (Outbound + InboundQos2) outlives a network
// connection, so the owner keeps it where it likes (the broker in its Session), and the
// per-connection LinkState likewise. An Endpoint is a view over both plus the sink: a few
// references, cheap to build on the fly or to keep as a member.
//
// Outgoing PUBLISH packets leave as descriptors (the owner's entry, or for publish(const M&)
// its description of the message, plus a PublishOut): the sink encodes them, so an owner that
// shares one encoded header between many receivers keeps doing so. Other packets leave as
// codec::Packet values.
//
// The roles differ on purpose, and only through EndpointPolicy (proto/endpoint_types.h), so
// the differences are all in one place.
//
// Sink requirements (S is the sink type, e an Entry, h a Held, p a codec::Publish); a member
// function of the endpoint that is never called needs none of what only it uses:
//   using Entry = ...;  // members uint16_t packet_id, uint8_t qos, bool pubrec_received, bool dup
//                       // (and bool sent, for Resend::kWithinWindow)
//   using Held = ...;   // what a QoS 2 message keeps until PUBREL (NothingHeld for method A)
//   void send(const codec::Packet&);           // an acknowledgement, PUBREL or PINGREQ
//   bool send_publish(Entry&, const PublishOut&);  // false: larger than out.max_packet_size
//                                                  // (PublishOut::fits), nothing was written
//   void received(const p&, std::string_view topic);   // a PUBLISH arrived (topic resolved)
//   void deliver(const p&, std::string_view topic);    // QoS 0, 1, and 2 by method A
//   Held hold(const p&, std::string_view topic);       // QoS 2 by method B: kept until PUBREL
//   void deliver_held(uint16_t packet_id, Held&);      // ... which PUBREL releases now
//   void admitted(Entry&);       // publish() took e (packet id set when it entered the window)
//   void dequeued(Entry&);       // e left the queue (for the window, the wire or nowhere)
//   void entered_window(Entry&); // e left the queue for the window with its packet identifier
//   void released(Entry&);       // a PUBREC accepted e; PUBREL was sent, PUBCOMP awaited
//   void finished(Entry&, Finish);  // e left for good (see Finish)
//   bool expired(const Entry&);  // e waited in the queue past its expiry: drop it unsent
//   void protocol_error(codec::ReasonCode);  // the peer broke the protocol: close (with rc)
//   and for publish(const M& m), m an owner's description of a message (member uint8_t qos):
//   bool send_publish(const M&, const PublishOut&);  // as for an Entry (QoS 0, nothing kept)
//   void finished(const M&, Finish);  // kSent or kTooLarge: m went (or was dropped) unkept
//   Entry entry(const M&);            // the entry to keep for m (window or queue)
//   bool may_queue(const M&);         // false: the owner drops m (and counts it) instead
// Not thread-safe: used on the owner's loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "codec/packet.h"
#include "proto/endpoint_types.h"
#include "proto/fifo.h"
#include "proto/inbound_qos2.h"
#include "proto/keepalive.h"
#include "proto/outbound.h"
#include "proto/topic_aliases.h"

namespace mq::proto {

// --- the endpoint ----------------------------------------------------------------------------

// Link is LinkState, or an owner's view with the members of it that the calls it makes use
// (the broker's: connected, window(), max_packet_size(), and for inbound_topic()
// inbound_alias_maximum and an in_aliases that makes the connection's table on first use).
template <class Sink, class Link = LinkState>
class Endpoint {
 public:
  using Entry = typename Sink::Entry;
  using Held = typename Sink::Held;

  Endpoint(const EndpointPolicy& policy, Outbound<Entry>& out, InboundQos2<Held>& in,
           Link& link, Sink& sink)
      : policy_(policy), out_(out), in_(in), link_(link), sink_(sink) {}

  // --- connection life cycle ---

  // A new connection is up (the CONNACK accepted it, or the broker sent it). `before_resend()`
  // runs once what was in flight is set aside and before it goes again (the bridge sends its
  // notification and SUBSCRIBEs there, so they lead); then the in-flight entries go again in
  // first-send order [MQTT-4.6.0-1] as the policy's Resend says and the queue is pumped unless
  // `pump_now` is false (the owner pumps later, after its own events).
  template <class F>
  void on_connected(bool session_present, F&& before_resend, bool pump_now = true) {
    link_.connected = true;
    if (policy_.resend == Resend::kWithinWindow) {
      if constexpr (kTracksSent) {
        out_.unsent = 0;
        for (Entry& e : out_.inflight) {
          e.sent = false;
          out_.unsent++;
        }
      }
      before_resend();
      if (pump_now) pump();
      return;
    }
    Fifo<Entry> again;
    std::swap(again, out_.inflight);
    if (policy_.resend == Resend::kDupIfSessionPresent && !session_present) in_.clear();
    before_resend();
    Fifo<Entry> fresh;  // again from scratch, ahead of the queue, in order
    for (Entry& e : again) {
      if (policy_.resend == Resend::kDupIfSessionPresent && !session_present) {
        if (e.pubrec_received) {  // the peer forgot it: nothing left to complete
          sink_.finished(e, Finish::kForgotten);
          continue;
        }
        e.dup = false;
        e.packet_id = 0;
        fresh.push_back(std::move(e));
        continue;
      }
      out_.inflight.push_back(std::move(e));
      Entry& back = out_.inflight.back();
      if (back.pubrec_received) {
        send_pubrel(back.packet_id);  // [MQTT-4.4.0-1]
      } else {
        back.dup = true;  // [MQTT-3.3.1-1]
        transmit(out_.inflight, back);
      }
    }
    if (!fresh.empty()) {
      for (Entry& e : out_.queue) fresh.push_back(std::move(e));
      std::swap(fresh, out_.queue);
    }
    if (pump_now) pump();
  }
  void on_connected(bool session_present) {
    on_connected(session_present, [] {});
  }

  // The network connection is gone. The session state stays (except the inbound QoS 2 state
  // of a role that keeps it per connection); the link's is reset.
  void on_closed() {
    link_.reset();
    if (policy_.inbound_qos2_per_connection) in_.clear();
  }

  // --- packets from the peer ---

  // Feeds one decoded PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP or PINGRESP; returns false for
  // any other packet (the owner's to handle: CONNACK, SUBACK, DISCONNECT...).
  bool on_packet(const codec::Packet& packet, int64_t now_ms) {
    using codec::PacketType;
    link_.last_rx_ms = now_ms;
    switch (codec::packet_type(packet)) {
      case PacketType::kPublish: on_publish(std::get<codec::Publish>(packet)); return true;
      case PacketType::kPuback: {
        const auto& a = std::get<codec::Puback>(packet);
        on_ack(PacketType::kPuback, a.packet_id, a.reason_code);
        return true;
      }
      case PacketType::kPubrec: {
        const auto& a = std::get<codec::Pubrec>(packet);
        on_ack(PacketType::kPubrec, a.packet_id, a.reason_code);
        return true;
      }
      case PacketType::kPubcomp: {
        const auto& a = std::get<codec::Pubcomp>(packet);
        on_ack(PacketType::kPubcomp, a.packet_id, a.reason_code);
        return true;
      }
      case PacketType::kPubrel: on_pubrel(std::get<codec::Pubrel>(packet).packet_id); return true;
      case PacketType::kPingresp: link_.ping.on_pingresp(); return true;
      default: return false;
    }
  }

  // The receiver's side: alias, duplicate suppression, acknowledgement, delivery. The
  // acknowledgement is queued before the message is delivered, so a sink that closes the
  // connection from deliver() (a client that got what it waited for) has acknowledged it.
  void on_publish(const codec::Publish& p) {
    InboundTopic resolved = inbound_topic(policy_, link_, p);
    if (resolved.error != InboundTopic::Error::kNone) {
      sink_.protocol_error(resolved.reason_code());
      return;
    }
    std::string_view topic = resolved.topic;
    sink_.received(p, topic);
    switch (p.qos) {
      case 0:
        sink_.deliver(p, topic);
        return;
      case 1:
        sink_.send(codec::Puback{p.packet_id, codec::ReasonCode::kSuccess, {}});
        sink_.deliver(p, topic);
        return;
      default:
        if (in_.is_resend(p.packet_id)) {  // [MQTT-4.3.3-9]: PUBREC again, not delivered again
          sink_.send(in_.resend_reply(p.packet_id));
          return;
        }
        if (policy_.qos2_delivery == Qos2Delivery::kOnPublish) {
          sink_.send(in_.accept(p.packet_id));
          sink_.deliver(p, topic);
        } else {
          sink_.send(in_.accept(p.packet_id, sink_.hold(p, topic)));
        }
        return;
    }
  }

  // The receiver's side for an owner that decides each PUBLISH itself (the broker: ACL,
  // quotas, payload checks, "no matching subscribers"), with the topic already resolved. A
  // QoS 2 re-send of an identifier still pending is answered with PUBREC again and not
  // admitted again [MQTT-4.3.3-9]. Otherwise `admit(Held* held)` runs (held is null but for
  // QoS 2) and says what to answer: nothing (the owner closed the connection), a PUBACK /
  // PUBREC with its reason code, or (QoS 2, method B) that it filled *held, which is kept until
  // PUBREL releases it to deliver_held() and acknowledged with PUBREC.
  template <class Admit>
  void on_publish_admit(const codec::Publish& p, Admit&& admit) {
    if (p.qos == 2 && in_.is_resend(p.packet_id)) {
      sink_.send(in_.resend_reply(p.packet_id));
      return;
    }
    Held held{};
    Admission a = admit(p.qos == 2 ? &held : nullptr);
    if (a.closed) return;
    if (p.qos == 1) {
      sink_.send(codec::Puback{p.packet_id, a.reason_code, {}});
    } else if (p.qos == 2) {
      sink_.send(a.held ? in_.accept(p.packet_id, std::move(held))
                        : codec::Pubrec{p.packet_id, a.reason_code, {}});
    }
  }

  // PUBREL: PUBCOMP always [MQTT-4.3.3-11], and (method B) the held message is delivered,
  // before or after it as the policy says.
  void on_pubrel(uint16_t packet_id) {
    Held held{};
    auto r = in_.on_pubrel(packet_id, policy_.unknown_pubrel, &held);
    bool deliver = r.released && policy_.qos2_delivery == Qos2Delivery::kOnPubrel;
    if (deliver && policy_.release_before_pubcomp) sink_.deliver_held(packet_id, held);
    sink_.send(r.reply);
    if (deliver && !policy_.release_before_pubcomp) sink_.deliver_held(packet_id, held);
  }

  // The sender's side: PUBACK, PUBREC or PUBCOMP for `packet_id` [MQTT-4.3.2, 4.3.3].
  void on_ack(codec::PacketType type, uint16_t packet_id, codec::ReasonCode rc) {
    Entry done{};
    switch (out_.on_ack(type, packet_id, rc, &done)) {
      case AckOutcome::kCompleted:
        if constexpr (kTracksSent) {
          if (!done.sent) out_.unsent--;
        }
        sink_.finished(done, Finish::kAcknowledged);
        pump();
        return;
      case AckOutcome::kReleased: {
        Entry& e = *out_.find(packet_id);
        send_pubrel(packet_id);
        sink_.released(e);
        return;
      }
      case AckOutcome::kUnknown:
        if (type != codec::PacketType::kPubrec || uint8_t(rc) >= 0x80) return;
        if (policy_.unknown_pubrec == UnknownPubrec::kPubrel) {
          send_pubrel(packet_id);
        } else if (policy_.unknown_pubrec == UnknownPubrec::kPubrelNotFound) {
          sink_.send(codec::Pubrel{packet_id, codec::ReasonCode::kPacketIdentifierNotFound, {}});
        }
        return;
    }
  }

  // --- messages to the peer ---

  // Takes an outgoing message. QoS 0 goes at once when connected; QoS 1/2 enter the window when
  // there is room and nothing waits ahead of them (getting a packet identifier unless they
  // carry one), else the queue. A QoS 0 message while not connected is queued: an owner that
  // drops those does so before calling.
  void publish(Entry e) {
    if (e.qos == 0 && link_.connected) {
      transmit_qos0(e);
      return;
    }
    if (e.qos > 0 && link_.connected && out_.queue.empty() && out_.has_room(link_.window())) {
      if (e.packet_id == 0) e.packet_id = out_.next_packet_id();
      sink_.admitted(e);
      out_.inflight.push_back(std::move(e));
      transmit(out_.inflight, out_.inflight.back());
      return;
    }
    sink_.admitted(e);
    out_.queue.push_back(std::move(e));
    pump();
  }

  // publish() for an owner that builds an entry only when it keeps one (the broker's fan-out).
  // `m` describes the message: its member `qos`, and whatever the owner's sink needs to write
  // it. A QoS 0 message while connected (most of a fan-out) is written from `m` at once and
  // never becomes an entry: send_publish(m, out), then finished(m, kSent or kTooLarge). A QoS
  // 1/2 one while connected, with room in the window and nothing queued ahead, enters the
  // window as the entry `entry(m)` builds, with a new packet identifier. Anything else is
  // queued if `may_queue(m)` agrees (the owner's limits, or its rule for QoS 0 while
  // offline); one it refuses is the owner's to drop and count. Entries built here get
  // admitted() as publish(Entry) gives them.
  // Unlike publish(Entry) it does not pump: the queue holds something while connected only
  // when the window is full or a resumed session has yet to re-send, and what frees the
  // window (an acknowledgement, the re-send) pumps.
  template <class M>
    requires(!std::is_same_v<M, Entry>)
  void publish(const M& m) {
    if (link_.connected) {
      if (m.qos == 0) {
        bool sent = sink_.send_publish(m, PublishOut{0, 0, false, link_.max_packet_size()});
        sink_.finished(m, sent ? Finish::kSent : Finish::kTooLarge);
        return;
      }
      if (out_.queue.empty() && out_.has_room(link_.window())) {
        uint16_t id = out_.next_packet_id();  // before the new entry joins the ones it scans
        out_.inflight.push_back(sink_.entry(m));
        Entry& e = out_.inflight.back();
        e.packet_id = id;
        sink_.admitted(e);
        // transmit(), spelled out: the compiler keeps that one out of line, and a call here
        // costs a fan-out a few percent.
        if (!sink_.send_publish(e, describe(e))) drop_too_large(sink_, out_.inflight, id);
        return;
      }
    }
    if (!sink_.may_queue(m)) return;
    out_.queue.push_back(sink_.entry(m));
    sink_.admitted(out_.queue.back());
  }

  // A message that skips the queue (the bridge's notification): into the window now, with a
  // new packet identifier. REQUIRES: connected, qos > 0.
  void publish_now(Entry e) {
    e.packet_id = out_.next_packet_id();
    out_.inflight.push_back(std::move(e));
    transmit(out_.inflight, out_.inflight.back());
  }

  // Sends what a resumed session still owes (Resend::kWithinWindow), then moves queued
  // messages into the window while there is room (QoS 0 ones need none).
  void pump() {
    if (!link_.connected) return;
    uint32_t window = link_.window();
    if constexpr (kTracksSent) {
      if (out_.unsent > 0 && !resend_within(window)) return;
    }
    while (!out_.queue.empty()) {
      Entry& front = out_.queue.front();
      if (front.qos > 0 && !out_.has_room(window)) break;
      Entry e = std::move(front);
      out_.queue.pop_front();
      sink_.dequeued(e);
      if (sink_.expired(e)) {
        sink_.finished(e, Finish::kExpired);
        continue;
      }
      if (e.qos == 0) {
        transmit_qos0(e);
        continue;
      }
      if (e.packet_id == 0) e.packet_id = out_.next_packet_id();
      sink_.entered_window(e);
      out_.inflight.push_back(std::move(e));
      transmit(out_.inflight, out_.inflight.back());
    }
  }

  uint16_t next_packet_id() { return out_.next_packet_id(); }

  // --- keep alive ---

  // Client roles: when the keep-alive timer should next fire (0: no keep alive). `tick_ms` is
  // when the previous tick ran (the bridge pings every period from there).
  int64_t keepalive_due_ms(int64_t tick_ms) const {
    if (link_.keep_alive_s == 0 || policy_.keep_alive == KeepAliveRole::kServer) return 0;
    int64_t period = int64_t(link_.keep_alive_s) * 1000;
    return (policy_.keep_alive == KeepAliveRole::kPingWhenQuiet ? link_.last_send_ms : tick_ms) +
           period;
  }
  // Client roles: the keep-alive timer fired. Sends PINGREQ when due; false when the previous
  // PINGREQ got no PINGRESP within a period (the connection is gone).
  [[nodiscard]] bool on_keepalive_timer(int64_t now_ms) {
    if (link_.keep_alive_s == 0) return true;
    int64_t period = int64_t(link_.keep_alive_s) * 1000;
    int64_t quiet_since =
        policy_.keep_alive == KeepAliveRole::kPingWhenQuiet ? link_.last_send_ms : now_ms - period;
    switch (link_.ping.on_timer(now_ms, quiet_since, period)) {
      case PingState::Action::kTimedOut: return false;
      case PingState::Action::kSendPing: sink_.send(codec::Pingreq{}); break;
      case PingState::Action::kNone: break;
    }
    return true;
  }
  // Server role: the peer has been silent for more than 1.5 keep-alive periods
  // [MQTT-3.1.2-24].
  bool keepalive_expired(int64_t now_ms) const {
    return proto::keepalive_expired(now_ms, link_.last_rx_ms, link_.keep_alive_s);
  }

 private:
  static constexpr bool kTracksSent = requires(Entry& e) { e.sent = false; };

  // Resend::kWithinWindow: in-flight entries of an earlier connection go again in order, no
  // more at once than `window` holds with those already re-sent. True once none is left.
  bool resend_within(uint32_t window) {
    size_t in_window = out_.inflight.size() - out_.unsent;
    for (size_t i = 0; i < out_.inflight.size() && out_.unsent > 0 && in_window < window; i++) {
      Entry& e = *(out_.inflight.begin() + long(i));
      if (e.sent) continue;
      e.sent = true;
      out_.unsent--;
      in_window++;
      if (e.pubrec_received) {
        send_pubrel(e.packet_id);  // [MQTT-4.4.0-1]
      } else {
        e.dup = true;  // [MQTT-3.3.1-1]
        if (!transmit(out_.inflight, e)) i--;  // it left the window: the next one is at i
      }
    }
    return out_.unsent == 0;
  }

  void send_pubrel(uint16_t packet_id) {
    sink_.send(codec::Pubrel{packet_id, codec::ReasonCode::kSuccess, {}});
  }

  PublishOut describe(const Entry& e) const {
    return PublishOut{e.qos ? e.packet_id : uint16_t(0), e.qos, e.dup, link_.max_packet_size()};
  }

  // Sends in-flight entry `e` (which is in `window`); one too large leaves the window (false).
  bool transmit(Fifo<Entry>& window, Entry& e) {
    if (sink_.send_publish(e, describe(e))) return true;
    drop_too_large(sink_, window, e.packet_id);
    return false;
  }
  // Static, so that a caller need not build the endpoint in memory for this rare path.
  static void drop_too_large(Sink& sink, Fifo<Entry>& window, uint16_t id) {
    for (auto it = window.begin(); it != window.end(); ++it) {
      if (it->packet_id != id) continue;
      Entry gone = std::move(*it);
      window.erase(it);
      sink.finished(gone, Finish::kTooLarge);
      return;
    }
  }

  void transmit_qos0(Entry& e) {
    bool sent = sink_.send_publish(e, describe(e));
    sink_.finished(e, sent ? Finish::kSent : Finish::kTooLarge);
  }

  EndpointPolicy policy_;
  Outbound<Entry>& out_;
  InboundQos2<Held>& in_;
  Link& link_;
  Sink& sink_;
};

}  // namespace mq::proto
