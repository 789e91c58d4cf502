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
// read, from the connection's CONNECT terms. The window and packet size are read when asked,
// not when built: an incoming PUBLISH builds one and never asks, nor does a QoS 0 delivery.
struct ConnectionLink {
  // The connection's table of incoming topic aliases, made when the first alias arrives (most
  // clients never send one, and an idle connection stays one small allocation).
  struct InAliases {
    Connection* conn;
    proto::InboundAliases::Resolved resolve(uint16_t alias, std::string_view topic,
                                            uint16_t maximum) {
      return conn->topic_aliases().in.resolve(alias, topic, maximum);
    }
  };
  // `c` null: the session is offline (a delivery to it is queued or dropped).
  ConnectionLink(Connection* c, uint32_t max_inflight)
      : connected(c && c->open()),
        conn(c),
        own_limit(max_inflight),
        inbound_alias_maximum(c ? c->terms().topic_alias_max : 0),
        in_aliases{c} {}
  ConnectionLink(Connection& c, uint32_t max_inflight) : ConnectionLink(&c, max_inflight) {}

  bool connected;
  Connection* conn;                // not null when connected (the endpoint asks only then)
  uint32_t own_limit;              // max_inflight_messages, 0 = none
  uint16_t inbound_alias_maximum;  // ours, announced in the CONNACK
  InAliases in_aliases;
  uint32_t window() const {
    return proto::inflight_window(conn->terms().client_receive_max, own_limit);  // [MQTT-3.3.4-7]
  }
  uint32_t max_packet_size() const { return conn->terms().client_max_packet; }
};

// The first byte of a PUBLISH: type, DUP, QoS, RETAIN. write_publish takes the flags in one
// byte rather than a struct so that a delivery passes everything in registers.
uint8_t publish_flags(const proto::PublishOut& out, bool retain) {
  return uint8_t(0x30 | (out.dup && out.qos > 0 ? 0x08 : 0) | (out.qos << 1) | (retain ? 1 : 0));
}

// A routed message for one subscriber as the endpoint first sees it: an Outgoing is built from
// it only when the session keeps it (window or queue), not for a QoS 0 one written at once.
struct Delivery {
  const MessagePtr& msg;
  uint8_t qos;
  bool retain;  // the RETAIN flag to send
  uint32_t subscription_id;
};

// Why a PUBLISH refused for its topic alias closes the connection, for the debug log.
const char* topic_error_text(proto::InboundTopic::Error e) {
  switch (e) {
    case proto::InboundTopic::Error::kAliasInvalid: return "topic alias out of range";
    case proto::InboundTopic::Error::kAliasUnknown: return "unknown topic alias";
    case proto::InboundTopic::Error::kNoTopic: return "empty topic without alias";
    case proto::InboundTopic::Error::kNone: break;
  }
  return "";
}

}  // namespace

// What a session's proto::Endpoint asks of the broker: packets for the connection (PUBLISH
// through the fan-out's header cache), the journal and counters as entries move, the held
// QoS 2 message forwarded on PUBREL, the session's queue limits. Built on the stack for one
// call, with the endpoint (a view over the session's state and this) that endpoint() gives.
struct Broker::FlowSink {
  using Entry = Outgoing;
  using Held = MessagePtr;
  Broker& b;
  Connection* conn;  // null while the session is offline (nothing is sent then)
  Session& s;
  ConnectionLink link;
  int64_t now_unix_ms = -1;  // read once per call, and only when a queued message can expire

  FlowSink(Broker& broker, Connection* c, Session& session)
      : b(broker),
        conn(c),
        s(session),
        link(c, broker.config_.max_inflight_messages) {}
  proto::Endpoint<FlowSink, ConnectionLink> endpoint() {
    return {proto::broker_policy((conn ? conn->terms().version : s.version) ==
                                 ProtocolVersion::kV5),
            s.flow, s.incoming_qos2, link, *this};
  }

  void send(const codec::Packet& p) { b.send_packet(*conn, p); }
  // The size limit write_publish applies is the client's Maximum Packet Size, which is what
  // ConnectionLink gives the endpoint for out.max_packet_size.
  bool send_publish(Outgoing& o, const proto::PublishOut& out) {
    return b.write_publish(*conn, o.msg, publish_flags(out, o.retain), out.packet_id,
                           o.subscription_id);
  }
  bool send_publish(const Delivery& d, const proto::PublishOut& out) {
    return b.write_publish(*conn, d.msg, publish_flags(out, d.retain), out.packet_id,
                           d.subscription_id);
  }
  Outgoing entry(const Delivery& d) {
    return Outgoing{.msg = d.msg,
                    .qos = d.qos,
                    .retain = d.retain,
                    .subscription_id = d.subscription_id,
                    .seq = s.next_seq++};
  }
  // Queued past this broker's limits, or QoS 0 for an offline client without
  // queue_qos0_messages: dropped.
  bool may_queue(const Delivery& d) {
    size_t size = d.msg->payload.size();
    if (d.qos == 0 && !b.config_.queue_qos0_messages) {
      b.stats_.publish_dropped++;
      return false;
    }
    if ((b.config_.max_queued_messages > 0 &&
         s.flow.queue.size() >= size_t(b.config_.max_queued_messages)) ||
        (b.config_.max_queued_bytes > 0 && s.queued_bytes + size > b.config_.max_queued_bytes)) {
      s.dropped++;
      b.stats_.publish_dropped++;
      return false;
    }
    s.queued_bytes += size;
    return true;
  }
  void admitted(Outgoing& o) { b.keeper_.outgoing(s, o); }
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
  void finished(const Delivery&, proto::Finish why) {
    if (why == proto::Finish::kTooLarge) b.stats_.publish_dropped++;  // [MQTT-3.1.2-25]
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

  // Topic aliases, client to broker, by the endpoint's rules [MQTT-3.3.2-7..12] (a 3.1.1
  // PUBLISH has no properties, so no alias).
  ConnectionLink link(conn, config_.max_inflight_messages);
  proto::InboundTopic resolved = proto::inbound_topic(proto::broker_policy(v5), link, p);
  if (resolved.error != proto::InboundTopic::Error::kNone) {
    protocol_close(conn, resolved.reason_code(), topic_error_text(resolved.error));
    return;
  }
  std::string_view topic = resolved.topic;
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
    FlowSink(*this, &conn, *s).endpoint().on_publish_admit(p, admit);
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
  // Out of line (noinline), so that the visitor below, which runs once per subscriber, is
  // a lookup and a tail call to deliver(): inlined, this rare case made it save and restore
  // six registers per subscriber.
  auto overlapping = [&](Session& s, const SubscriptionOptions& opts) __attribute__((noinline)) {
    if (!once.insert(s.id()).second) {
      // Mosquitto gives the dropped duplicate a packet identifier before dropping it; so
      // does mq, so that the identifiers a client sees stay the same.
      uint8_t qos = config_.upgrade_outgoing_qos ? opts.qos : std::min(msg->qos, opts.qos);
      if (qos > 0) (void)s.flow.next_packet_id();
      return;
    }
    SubscriptionOptions strongest = opts;
    for (const auto& e : s.subscriptions()) {
      const SessionSubscription& sub = e.sub();
      if (sub.options.qos > strongest.qos && codec::topic_matches(sub.filter, msg->topic))
        strongest.qos = sub.options.qos;
    }
    deliver(s, msg, strongest, false);
  };
  subs_.match(msg->topic, [&](SessionId id, const SubscriptionOptions& opts, std::string_view) {
    matched++;
    Session* s = find_session(id);
    if (!s) return;
    if (s->several_subscriptions() && s->version != ProtocolVersion::kV5) {
      overlapping(*s, opts);
      return;
    }
    deliver(*s, msg, opts, false);
  });
  publish_depth_--;
  header_cache_.msg = nullptr;
  return matched;
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
  // The session's endpoint writes it now (QoS 0, or QoS 1/2 with a packet identifier and room
  // in the window the client's Receive Maximum allows) or queues it (FlowSink::may_queue).
  FlowSink sink(*this, connection_of(s), s);
  sink.endpoint().publish(Delivery{
      msg, config_.upgrade_outgoing_qos ? opts.qos : std::min(msg->qos, opts.qos),
      // [MQTT-3.3.1-8] retained on subscribe: flag set; otherwise only with Retain As
      // Published [MQTT-3.3.1-12/13] (3.1.1 clients always get 0 for live messages
      // [MQTT-3.3.1-9]).
      retained_on_subscribe || (opts.retain_as_published && msg->retain), opts.subscription_id});
}

void Broker::pump(Session& s) {
  Connection* conn = connection_of(s);
  if (!conn || !conn->open()) return;
  FlowSink(*this, conn, s).endpoint().pump();
}

void Broker::resume_session(Session& s) {
  Connection* conn = connection_of(s);
  if (!conn) return;
  // [MQTT-4.4.0-1] re-send unacknowledged PUBLISH (DUP set) and PUBREL in their original order,
  // keeping their packet identifiers; no more at once than the new Receive Maximum allows
  // [MQTT-3.3.4-7]: the rest go out as acknowledgements free the window
  // (proto::Resend::kWithinWindow).
  FlowSink(*this, conn, s).endpoint().on_connected(true, [] {}, conn->open());
}

bool Broker::write_publish(Connection& conn, const MessagePtr& msg, uint8_t flags,
                           uint16_t packet_id, uint32_t subscription_id) {
  const Message& m = *msg;
  const uint8_t qos = (flags >> 1) & 3;
  const std::string& mount = conn.listener().config->mount_point;
  const ConnectTerms& t = conn.terms();
  bool v5 = t.version == ProtocolVersion::kV5;
  // The common case of a fan-out: this message's header was just encoded for another
  // subscriber with the same layout and nothing per delivery (subscription identifier,
  // remaining expiry, topic alias, mount point) changes it.
  bool per_delivery =
      (v5 && (subscription_id || m.expiry_unix_ms || t.out_alias_max)) || !mount.empty();
  uint8_t layout = uint8_t(1 + (v5 ? 2 : 0) + (qos > 0 ? 1 : 0));
  const bool plain = !m.has_properties() && m.expiry_unix_ms == 0;
  if (!per_delivery && header_cache_.layout == layout &&
      (header_cache_.msg == &m ||
       (plain && header_cache_.plain && header_cache_.payload_size == m.payload.size() &&
        header_cache_.topic == m.topic))) {
    // A plain hit: the next subscribers of this message skip the topic compare (only inside
    // route(), which forgets the pointer when it ends, so a later message at the same address
    // is never taken for this one).
    if (publish_depth_ > 0) header_cache_.msg = &m;
    std::string& h = header_cache_.bytes;
    h[0] = char(flags);
    if (qos > 0) {
      h[header_cache_.pid_offset] = char(packet_id >> 8);
      h[header_cache_.pid_offset + 1] = char(packet_id & 0xFF);
    }
    if (t.client_max_packet && h.size() + m.payload.size() > t.client_max_packet) return false;
    queue_publish(conn, msg, h);
    return true;
  }
  codec::Publish p = publish_for(m, m.topic, qos, flags & 1, flags & 0x08, packet_id, t.version,
                                 m.expiry_unix_ms ? clock_.unix_time() * 1000 : 0);
  if (v5 && subscription_id) p.properties.subscription_identifiers.push_back(subscription_id);
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
  queue_publish(conn, msg, h);
  return true;
}

void Broker::queue_publish(Connection& conn, const MessagePtr& msg, std::string_view header) {
  const Message& m = *msg;
  conn.out().append_packet(header, msg, m.payload);
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
  FlowSink sink(*this, &conn, *s);
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
