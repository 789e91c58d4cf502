// PUBLISH in, routing to subscribers, QoS 1/2 flows in both directions, in-flight windows and
// per-session queues.
#include <unordered_set>

#include "base/log.h"
#include "broker/bridge/bridge.h"
#include "broker/broker.h"
#include "broker/persist/persist_records.h"
#include "codec/encode.h"
#include "codec/topic.h"
#include "proto/endpoint.h"

namespace mq::broker {

using codec::ProtocolVersion;
using codec::ReasonCode;


namespace {

// Payloads at least this large are kept in the connection's read buffer when it holds only
// their packet (it was then allocated for that packet alone: connection.cc sizes reads).
constexpr size_t kAdoptPayload = 32 * 1024;

// The connection's side of a session's proto::Endpoint: what the calls the broker makes
// read, from the connection's CONNECT terms. Read when asked, not when built: an incoming
// PUBLISH builds one and never asks.
struct ConnectionLink {
  bool connected;
  const Connection* conn;
  uint32_t own_limit;  // max_inflight_messages, 0 = none
  uint32_t window() const {
    return proto::inflight_window(conn->terms().client_receive_max, own_limit);  // [MQTT-3.3.4-7]
  }
  uint32_t max_packet_size() const { return conn->terms().client_max_packet; }
};

}  // namespace

// What a session's proto::Endpoint asks of the broker: packets for the connection (PUBLISH
// through the fan-out's header cache), the journal and counters as entries move, the held
// QoS 2 message forwarded on PUBREL. Built on the stack for one call, with the endpoint
// (a view over the session's state and this) that endpoint() gives.
struct Broker::FlowSink {
  using Entry = Outgoing;
  using Held = MessagePtr;
  Broker& b;
  Connection& conn;
  Session& s;
  ConnectionLink link;
  int64_t now_unix_ms = -1;  // read once per call, and only when a queued message can expire

  FlowSink(Broker& broker, Connection& c, Session& session)
      : b(broker),
        conn(c),
        s(session),
        link{c.open(), &c, broker.config_.max_inflight_messages} {}
  proto::Endpoint<FlowSink, ConnectionLink> endpoint() {
    return {proto::broker_policy(conn.terms().version == ProtocolVersion::kV5), s.flow,
            s.incoming_qos2, link, *this};
  }

  void send(const codec::Packet& p) { b.send_packet(conn, p); }
  bool send_publish(Outgoing& o, const proto::PublishOut&) { return b.write_publish(conn, o); }
  void deliver_held(uint16_t packet_id, MessagePtr& held) {
    if (std::string* j = b.keeper_.journal(s)) persist::put_qos2_rel(*j, s.client_id(), packet_id);
    if (held) b.publish(held);  // the forwarded PUBLISH goes before the PUBCOMP, as Mosquitto's
  }
  void dequeued(Outgoing& o) { s.queued_bytes -= o.msg->payload.size(); }
  void entered_window(Outgoing& o) {
    if (std::string* j = b.keeper_.journal(s))
      persist::put_out_packet_id(*j, s.client_id(), o.seq, o.packet_id);
  }
  void released(Outgoing& o) {
    if (std::string* j = b.keeper_.journal(s)) persist::put_out_pubrec(*j, s.client_id(), o.seq);
    o.msg = std::make_shared<Message>();  // the payload is no longer needed [MQTT-4.3.3-5]
  }
  void finished(Outgoing& o, proto::Finish why) {
    // Dropped unsent: expired while queued [MQTT-3.3.2-5], or too large for this client
    // [MQTT-3.1.2-25] (discarded as if sent).
    if (why == proto::Finish::kExpired || why == proto::Finish::kTooLarge) b.stats_.publish_dropped++;
    if (std::string* j = b.keeper_.journal(s)) persist::put_out_del(*j, s.client_id(), o.seq);
  }
  bool expired(const Outgoing& o) {
    if (!o.msg->expiry_unix_ms) return false;
    if (now_unix_ms < 0) now_unix_ms = b.clock_.unix_time() * 1000;
    return o.msg->expiry_unix_ms <= now_unix_ms;
  }
};

void Broker::handle_publish(Connection& conn, codec::Publish& p) {
  const ListenerConfig& lc = *conn.listener().config;
  const bool v5 = conn.terms().version == ProtocolVersion::kV5;
  stats_.publish_received++;
  stats_.publish_bytes_received += p.payload.size();

  // Topic aliases, client to broker [MQTT-3.3.2-7..12].
  std::string_view topic = p.topic;
  if (v5 && p.properties.topic_alias) {
    auto r = conn.topic_aliases().in.resolve(*p.properties.topic_alias, topic,
                                             conn.terms().topic_alias_max);
    if (r.error != ReasonCode::kSuccess) {
      protocol_close(conn, r.error,
                     r.error == ReasonCode::kTopicAliasInvalid ? "topic alias out of range"
                                                               : "unknown topic alias");
      return;
    }
    topic = r.topic;
  }
  if (topic.empty()) {
    protocol_close(conn, ReasonCode::kProtocolError, "empty topic without alias");
    return;
  }
  // mount_point: this listener's clients live under a topic prefix they do not see.
  std::string mounted;
  if (!lc.mount_point.empty()) {
    mounted = lc.mount_point;
    mounted.append(topic);
    topic = mounted;
  }
  if (p.qos > lc.max_qos) {  // [MQTT-3.2.2-11]
    protocol_close(conn, ReasonCode::kQosNotSupported, "QoS above maximum");
    return;
  }
  if (p.retain && !config_.retain_available) {  // [MQTT-3.2.2-14]
    protocol_close(conn, ReasonCode::kRetainNotSupported, "retain not available");
    return;
  }

  // What this PUBLISH is answered with: decided here (receive maximum, ACL, size limit, "no
  // matching subscribers"); the session's endpoint sends the PUBACK / PUBREC, answers a QoS 2
  // re-send with PUBREC again without admitting it twice [MQTT-4.3.3-9], and keeps a held
  // QoS 2 message until PUBREL.
  Session* s = find_session(conn.session());
  auto admit = [&](MessagePtr* held) -> proto::Admission {
    // [MQTT-3.3.4-9] more unacknowledged QoS 2 PUBLISH than the Receive Maximum we announced.
    if (held && v5 && config_.max_inflight_messages &&
        s->incoming_qos2.size() >= config_.max_inflight_messages) {
      protocol_close(conn, ReasonCode::kReceiveMaximumExceeded, "receive maximum exceeded");
      return proto::Admission::close();
    }
    if (logger().enabled(kLogDebug)) {
      MQ_LOG(kLogDebug, "Received PUBLISH from %s (d%d, q%u, r%d, m%u, '%.*s', ... (%zu bytes))",
             conn.terms().client_id.c_str(), p.dup ? 1 : 0, unsigned(p.qos), p.retain ? 1 : 0,
             unsigned(p.packet_id), int(topic.size()), topic.data(), p.payload.size());
    }
    ReasonCode rc = ReasonCode::kSuccess;
    std::optional<std::string_view> acl_user = conn.terms().username.view();
    if (!acl_allows(conn.listener().security->acl.get(),
                    AclClient{conn.terms().client_id, acl_user}, topic, AclAccess::kWrite)) {
      // Denied (acl_file, or $SYS which clients never write): acknowledged, then dropped, with
      // 0x87 for MQTT 5 as Mosquitto does.
      MQ_LOG(kLogNotice, "Denied PUBLISH from %s (d%d, q%u, r%d, m%u, '%.*s', ... (%zu bytes))",
             conn.terms().client_id.c_str(), p.dup ? 1 : 0, unsigned(p.qos), p.retain ? 1 : 0,
             unsigned(p.packet_id), int(topic.size()), topic.data(), p.payload.size());
      rc = ReasonCode::kNotAuthorized;
      stats_.publish_dropped++;
    } else if (config_.message_size_limit && p.payload.size() > config_.message_size_limit) {
      rc = ReasonCode::kImplementationSpecificError;
      stats_.publish_dropped++;
    } else {
      // The wall clock only matters for an expiry interval (a system call per message saved).
      int64_t now_ms = p.properties.message_expiry_interval ? clock_.unix_time() * 1000 : 0;
      // A large payload stays in the buffer it was read into (read once, never copied): the
      // message takes that buffer from the connection when it holds only this packet.
      std::unique_ptr<char[]> read_buffer;
      if (p.payload.size() >= kAdoptPayload) read_buffer = conn.take_read_buffer(p.payload);
      MessagePtr msg = make_message(topic, p.payload, p.qos, p.retain, p.properties, now_ms,
                                    conn.terms().client_id, conn.terms().username.value_or_empty(),
                                    take_store_id(), std::move(read_buffer));
      if (held) {
        // Held until PUBREL releases it, then forwarded ([MQTT-4.3.3] method B, as Mosquitto
        // 2.0): the PUBREC says nothing about subscribers yet. Journaled with the message, so a
        // PUBREL after a restart still forwards it [MQTT-4.3.3-9].
        if (std::string* j = keeper_.journal(*s)) {
          keeper_.put_message(*j, msg);
          persist::put_qos2_in(*j, s->client_id(), p.packet_id, msg->store_id);
        }
        *held = std::move(msg);
        return proto::Admission::hold();
      }
      if (publish(msg) == 0) rc = ReasonCode::kNoMatchingSubscribers;
    }
    return proto::Admission::answer(v5 ? rc : ReasonCode::kSuccess);
  };
  if (s) {
    FlowSink(*this, conn, *s).endpoint().on_publish_admit(p, admit);
    return;
  }
  // No session (none is expected once connected): no QoS 2 state to keep, so a QoS 2 message
  // is forwarded at once.
  proto::Admission a = admit(nullptr);
  if (p.qos == 1) send_packet(conn, codec::Puback{p.packet_id, a.reason_code, {}});
  if (p.qos == 2) send_packet(conn, codec::Pubrec{p.packet_id, a.reason_code, {}});
}

size_t Broker::publish(const MessagePtr& published) {
  const MessagePtr* mp = &published;
  MessagePtr restamped;
  if (shards_ && published->retain && published->store_id != last_store_id_) {
    // Several shards keep the retained store: the newer store id wins per topic, so a message
    // that waited (a QoS 2 one until PUBREL, a will, $SYS) takes its id now, when it is stored.
    auto copy = std::make_shared<Message>(*published);
    copy->store_id = take_store_id();
    restamped = std::move(copy);
    mp = &restamped;
  }
  const MessagePtr& msg = *mp;
  msg->tally.count(msg->payload.size());
  size_t matched = route(msg);
  for (auto& b : bridges_) {
    if (b->forward(msg)) matched++;
  }
  if (shards_) forward(msg, matched);
  return matched;
}

size_t Broker::route(const MessagePtr& msg) {
  if (msg->retain && (!shards_ || retained_is_newer(*msg))) {
    // [MQTT-3.3.1-6] store, [MQTT-3.3.1-10] an empty payload clears, [MQTT-3.3.1-11].
    if (msg->payload.empty()) {
      bool erased = retained_.erase(msg->topic);
      keeper_.retained(msg, erased);
      if (shards_) retained_cleared_[msg->topic] = {msg->store_id, loop_.now_ms()};
    } else {
      retained_.set(msg->topic, msg);
      keeper_.retained(msg, false);
      if (shards_ && !retained_cleared_.empty()) retained_cleared_.erase(msg->topic);
    }
  }
  size_t matched = 0;
  header_cache_.msg = nullptr;
  publish_depth_++;
  // A 3.x client with overlapping subscriptions gets the message once, as from Mosquitto 2.0
  // (MQTT 5 clients get a copy per subscription, with its identifier): at the first match, with
  // the highest QoS of its matching subscriptions [MQTT-3.3.5-1]. Only sessions with more than
  // one subscription can be visited twice; the set is only touched for them.
  std::unordered_set<SessionId> once;
  subs_.match(msg->topic, [&](SessionId id, const SubscriptionOptions& opts, std::string_view) {
    matched++;
    Session* s = find_session(id);
    if (!s) return;
    if (s->several_subscriptions() && s->version != ProtocolVersion::kV5) {
      if (!once.insert(id).second) {
        // Mosquitto gives the dropped duplicate a packet identifier before dropping it; so
        // does mq, so that the identifiers a client sees stay the same.
        uint8_t qos = config_.upgrade_outgoing_qos ? opts.qos : std::min(msg->qos, opts.qos);
        if (qos > 0) (void)s->flow.next_packet_id();
        return;
      }
      SubscriptionOptions strongest = opts;
      for (const auto& e : s->subscriptions()) {
        const SessionSubscription& sub = e.sub();
        if (sub.options.qos > strongest.qos && codec::topic_matches(sub.filter, msg->topic))
          strongest.qos = sub.options.qos;
      }
      deliver(*s, msg, strongest, false);
      return;
    }
    deliver(*s, msg, opts, false);
  });
  publish_depth_--;
  header_cache_.msg = nullptr;
  return matched;
}

uint32_t Broker::inflight_window(const Connection& conn) const {
  return proto::inflight_window(conn.terms().client_receive_max,  // [MQTT-3.3.4-7]
                                config_.max_inflight_messages);
}

void Broker::deliver(Session& s, const MessagePtr& msg, const SubscriptionOptions& opts,
                     bool retained_on_subscribe) {
  // [MQTT-3.8.3-3] No Local: not back to the connection that published it (also set on the
  // subscriptions of Mosquitto bridges: handle_subscribe).
  if (opts.no_local && msg->origin_client_id() == s.client_id()) return;
  // acl_file `read` access is checked per delivery (Mosquitto's semantics).
  if (s.acl) {
    std::optional<std::string_view> user = s.username.view();
    if (!acl_allows(s.acl.get(), AclClient{s.client_id(), user}, msg->topic, AclAccess::kRead))
      return;
  }
  Outgoing out;
  out.msg = msg;
  out.qos = config_.upgrade_outgoing_qos ? opts.qos : std::min(msg->qos, opts.qos);
  // [MQTT-3.3.1-8] retained on subscribe: flag set; otherwise only with Retain As Published
  // [MQTT-3.3.1-12/13] (3.1.1 clients always get 0 for live messages [MQTT-3.3.1-9]).
  out.retain = retained_on_subscribe || (opts.retain_as_published && msg->retain);
  out.subscription_id = opts.subscription_id;
  out.seq = s.next_seq++;
  Connection* conn = connection_of(s);

  if (out.qos == 0) {
    if (conn && conn->open()) {
      send_publish(*conn, out);
    } else if (config_.queue_qos0_messages) {
      goto enqueue;
    } else {
      stats_.publish_dropped++;
    }
    return;
  }
  if (conn && conn->open() && s.flow.queue.empty() && s.flow.inflight.size() < inflight_window(*conn)) {
    out.packet_id = s.flow.next_packet_id();
    s.flow.inflight.push_back(out);
    keeper_.outgoing(s, s.flow.inflight.back());
    send_publish(*conn, s.flow.inflight.back());
    return;
  }
enqueue:
  if ((config_.max_queued_messages > 0 && s.flow.queue.size() >= size_t(config_.max_queued_messages)) ||
      (config_.max_queued_bytes > 0 &&
       s.queued_bytes + msg->payload.size() > config_.max_queued_bytes)) {
    s.dropped++;
    stats_.publish_dropped++;
    return;
  }
  s.queued_bytes += msg->payload.size();
  s.flow.queue.push_back(std::move(out));
  keeper_.outgoing(s, s.flow.queue.back());
}

void Broker::pump(Session& s) {
  Connection* conn = connection_of(s);
  if (!conn || !conn->open()) return;
  FlowSink(*this, *conn, s).endpoint().pump();
}

void Broker::resume_session(Session& s) {
  Connection* conn = connection_of(s);
  if (!conn) return;
  // [MQTT-4.4.0-1] re-send unacknowledged PUBLISH (DUP set) and PUBREL in their original order,
  // keeping their packet identifiers; no more at once than the new Receive Maximum allows
  // [MQTT-3.3.4-7]: the rest go out as acknowledgements free the window
  // (proto::Resend::kWithinWindow).
  FlowSink(*this, *conn, s).endpoint().on_connected(true, [] {}, conn->open());
}

void Broker::send_publish(Connection& conn, Outgoing& out) {
  if (!write_publish(conn, out)) discard_too_large(conn, out);
}

bool Broker::write_publish(Connection& conn, Outgoing& out) {
  const Message& m = *out.msg;
  const std::string& mount = conn.listener().config->mount_point;
  const ConnectTerms& t = conn.terms();
  bool v5 = t.version == ProtocolVersion::kV5;
  // The common case of a fan-out: this message's header was just encoded for another
  // subscriber with the same layout and nothing per delivery (subscription identifier,
  // remaining expiry, topic alias, mount point) changes it.
  bool per_delivery =
      (v5 && (out.subscription_id || m.expiry_unix_ms || t.out_alias_max)) || !mount.empty();
  uint8_t layout = uint8_t(1 + (v5 ? 2 : 0) + (out.qos > 0 ? 1 : 0));
  uint8_t flags = uint8_t(0x30 | (out.dup && out.qos > 0 ? 0x08 : 0) | (out.qos << 1) | (out.retain ? 1 : 0));
  const bool plain = !m.has_properties() && m.expiry_unix_ms == 0;
  if (!per_delivery && header_cache_.layout == layout &&
      (header_cache_.msg == &m ||
       (plain && header_cache_.plain && header_cache_.payload_size == m.payload.size() &&
        header_cache_.topic == m.topic))) {
    std::string& h = header_cache_.bytes;
    h[0] = char(flags);
    if (out.qos > 0) {
      h[header_cache_.pid_offset] = char(out.packet_id >> 8);
      h[header_cache_.pid_offset + 1] = char(out.packet_id & 0xFF);
    }
    if (t.client_max_packet && h.size() + m.payload.size() > t.client_max_packet) return false;
    queue_publish(conn, out, h);
    return true;
  }
  codec::Publish p = publish_for(m, m.topic, out.qos, out.retain, out.dup, out.packet_id, t.version,
                                 m.expiry_unix_ms ? clock_.unix_time() * 1000 : 0);
  if (v5 && out.subscription_id) p.properties.subscription_identifiers.push_back(out.subscription_id);
  if (!mount.empty() && p.topic.starts_with(mount)) p.topic.remove_prefix(mount.size());
  // Broker->client topic aliases [MQTT-3.3.2-7..12]: the first out_alias_max topics sent get
  // one each, for the life of the connection; a topic with an alias goes out empty.
  uint16_t new_alias = 0;
  if (v5 && t.out_alias_max) {
    auto choice = conn.topic_aliases().out.choose(p.topic, t.out_alias_max);
    if (choice.alias) p.properties.topic_alias = choice.alias;
    if (choice.is_new) new_alias = choice.alias;
    else if (choice.alias) p.topic = {};  // a topic with an alias goes out empty
  }
  std::string& h = per_delivery || publish_depth_ == 0 ? scratch_ : header_cache_.bytes;
  h.clear();
  header_cache_.msg = nullptr;
  if (&h == &header_cache_.bytes) header_cache_.plain = false;
  if (!codec::encode_publish_header(p, t.version, h).ok()) return true;
  if (t.client_max_packet && h.size() + m.payload.size() > t.client_max_packet) {
    return false;  // and a new alias is not taken
  }
  if (new_alias) conn.topic_aliases().out.take(p.topic, new_alias);
  if (&h == &header_cache_.bytes) {
    header_cache_.msg = &m;
    header_cache_.layout = layout;
    header_cache_.plain = plain && !per_delivery;
    if (header_cache_.plain) {
      header_cache_.payload_size = m.payload.size();
      header_cache_.topic.assign(m.topic);
    }
    size_t i = 1;
    while (uint8_t(h[i]) & 0x80) i++;  // the Remaining Length
    header_cache_.pid_offset = i + 1 + 2 + p.topic.size();
  }
  queue_publish(conn, out, h);
  return true;
}

void Broker::discard_too_large(Connection& conn, Outgoing& out) {
  // [MQTT-3.1.2-25] too large for this client: discard it as if it had been sent.
  stats_.publish_dropped++;
  if (out.qos == 0) return;
  if (Session* s = find_session(conn.session())) {
    auto it = s->flow.find(out.packet_id);
    if (it != s->flow.inflight.end()) {
      if (std::string* j = keeper_.journal(*s)) persist::put_out_del(*j, s->client_id(), it->seq);
      s->flow.inflight.erase(it);
    }
  }
}

void Broker::queue_publish(Connection& conn, const Outgoing& out, std::string_view header) {
  const Message& m = *out.msg;
  conn.out().append(header);
  conn.out().append_shared(out.msg, m.payload);
  stats_.packets_sent++;
  stats_.publish_sent++;
  stats_.publish_bytes_sent += m.payload.size();
  mark_dirty(conn);
}

// PUBACK, PUBREC, PUBCOMP (the sender's side) and PUBREL (the receiver's): the session's
// proto::Endpoint applies them with the broker's policy (an unknown PUBACK or PUBCOMP is
// ignored, as Mosquitto does; an unknown PUBREC or PUBREL gets 0x92 on MQTT 5).
void Broker::handle_ack(Connection& conn, codec::PacketType type, const codec::Puback& a) {
  Session* s = find_session(conn.session());
  if (!s) return;
  FlowSink sink(*this, conn, *s);
  auto ep = sink.endpoint();
  switch (type) {
    case codec::PacketType::kPuback:
    case codec::PacketType::kPubrec:
    case codec::PacketType::kPubcomp:
      ep.on_ack(type, a.packet_id, a.reason_code);
      return;
    case codec::PacketType::kPubrel:
      ep.on_pubrel(a.packet_id);
      return;
    default:
      return;
  }
}

}  // namespace mq::broker
