// CONNECT, DISCONNECT and AUTH; sessions attaching to and detaching from connections; wills.
#include <cinttypes>
#include <random>

#include "base/log.h"
#include "net/tls_transport.h"
#include "broker/broker.h"
#include "broker/persist/persist_records.h"
#include "codec/decode.h"
#include "codec/encode.h"

namespace mq::broker {

using codec::ProtocolVersion;
using codec::ReasonCode;

namespace {

int protocol_log_number(ProtocolVersion v) {
  // Mosquitto 2.0 prints its internal protocol enum: p1 = 3.1, p2 = 3.1.1, p5 = 5.0.
  switch (v) {
    case ProtocolVersion::kV31: return 1;
    case ProtocolVersion::kV311: return 2;
    case ProtocolVersion::kV5: return 5;
  }
  return 0;
}

}  // namespace

std::shared_ptr<Message> make_message(std::string_view topic, std::string_view payload, uint8_t qos,
                        bool retain, const codec::Properties& props, int64_t now_unix_ms,
                        const std::string& origin_client, const std::string& origin_user,
                        uint64_t store_id, std::unique_ptr<char[]> payload_buffer) {
  auto m = std::make_shared<Message>();
  m->topic.assign(topic);
  if (payload_buffer) {
    size_t off = size_t(payload.data() - payload_buffer.get());
    m->payload.adopt(std::move(payload_buffer), off, payload.size());
  } else {
    m->payload.assign(payload);
  }
  m->qos = qos;
  m->retain = retain;
  if (props.payload_format_indicator || props.content_type || props.response_topic ||
      props.correlation_data || !props.user_properties.empty()) {
    MessageProperties mp;
    mp.payload_format_indicator = props.payload_format_indicator;
    if (props.content_type) mp.content_type.emplace(*props.content_type);
    if (props.response_topic) mp.response_topic.emplace(*props.response_topic);
    if (props.correlation_data) mp.correlation_data.emplace(*props.correlation_data);
    mp.user_properties.reserve(props.user_properties.size());
    for (const auto& [k, v] : props.user_properties) mp.user_properties.emplace_back(k, v);
    if (!props.raw.empty() && !codec::property_ids_in_usual_order(props.raw))
      mp.property_order = codec::property_ids(props.raw);
    m->set_properties(std::move(mp));
  }
  if (props.message_expiry_interval)
    m->expiry_unix_ms = now_unix_ms + int64_t(*props.message_expiry_interval) * 1000;
  m->set_origin(origin_client, origin_user);
  m->store_id = store_id;
  return m;
}

std::string Broker::assign_client_id(const ListenerConfig& listener) {
  // auto-XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, as Mosquitto: a random UUID-like identifier.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const SecurityOptions& sec = config_.security_for(listener);
  std::string prefix = sec.auto_id_prefix.empty() ? "auto-" : sec.auto_id_prefix;
  for (;;) {
    char buf[64];
    uint64_t a = rng(), b = rng();
    snprintf(buf, sizeof buf, "%08X-%04X-%04X-%04X-%012" PRIX64, uint32_t(a >> 32),
             unsigned(a >> 16) & 0xFFFF, unsigned(a) & 0xFFFF, unsigned(b >> 48) & 0xFFFF,
             uint64_t(b & 0xFFFFFFFFFFFFull));
    std::string id = prefix + buf;
    // With shards, one that is homed here: the client never moves.
    if (!shards_ || home_shard(id) == shard_index_) return id;
  }
}

void Broker::send_connack(Connection& conn, bool session_present, ReasonCode rc,
                          codec::Properties props) {
  codec::Connack ack;
  ack.session_present = session_present;
  const ConnectTerms& t = conn.terms();
  ack.reason_code =
      t.version == ProtocolVersion::kV5 ? rc : ReasonCode(codec::connack_return_code_v3(rc));
  if (t.version == ProtocolVersion::kV5) ack.properties = std::move(props);
  MQ_LOG(kLogDebug, "Sending CONNACK to %s (%d, %u)", t.client_id.c_str(), session_present ? 1 : 0,
         unsigned(ack.reason_code));
  // The CONNACK goes out even before the client's limits are known to apply.
  send_packet(conn, ack, /*client_max_packet=*/0);
}

void Broker::refuse_connect(Connection& conn, ReasonCode rc, const char* log_reason) {
  // [MQTT-3.2.2-7] a CONNACK with a non-zero code, then close [MQTT-3.2.2-6].
  send_connack(conn, false, rc);
  if (log_reason && config_.connection_messages)
    MQ_LOG(kLogNotice, "Client %s %s",
           conn.terms().client_id.empty() ? "<unknown>" : conn.terms().client_id.c_str(),
           log_reason);
  conn.close(nullptr);
}

void Broker::handle_connect(Connection& conn, const codec::Connect& packet, std::string_view body,
                            bool authenticated) {
  // The second pass, after the password check on a worker, is the same CONNECT again.
  const bool second_pass = authenticated;
  conn.set_connect_version(packet.version);
  // use_identity_as_username / use_subject_as_username: the client certificate (or the PSK
  // identity) names the user and no password is checked, as in Mosquitto.
  std::string cert_user;
  codec::Connect identified;
  const codec::Connect* with_user = &packet;
  if (const ListenerConfig& l = *conn.listener().config;
      l.use_identity_as_username || l.use_subject_as_username) {
    const net::TlsTransport* tls = conn.transport().tls();
    if (tls) {
      cert_user = l.use_subject_as_username && tls->has_peer_certificate()
                      ? tls->peer_subject_rfc2253()
                      : tls->peer_common_name();
    }
    if (cert_user.empty()) {
      refuse_connect(conn, ReasonCode::kBadUserNameOrPassword,
                     "disconnected, no client certificate to take the user name from.");
      return;
    }
    identified = packet;
    identified.username = cert_user;
    identified.password.reset();
    with_user = &identified;
    authenticated = true;
  }
  if (with_user->username && with_user->username->empty()) {
    // Mosquitto 2.0 reads a zero-length user name as none: the client is anonymous for
    // allow_anonymous, the password file and the ACL (verified with 2.0.11).
    if (with_user != &identified) identified = packet;
    identified.username.reset();
    with_user = &identified;
  }
  const codec::Connect& p = *with_user;
  if (!second_pass) {
    MQ_LOG(kLogDebug, "Received CONNECT from %s as %.*s", conn.peer().c_str(),
           int(p.client_id.size()), p.client_id.data());
  }
  const bool v5 = p.version == ProtocolVersion::kV5;
  const ListenerConfig& lc = *conn.listener().config;
  const SecurityOptions& sec = config_.security_for(lc);

  if (v5 && p.properties.authentication_method) {
    // No enhanced authentication method is supported [MQTT-4.12.0-1].
    refuse_connect(conn, ReasonCode::kBadAuthenticationMethod);
    return;
  }

  std::string client_id(p.client_id);
  bool assigned = false;
  if (client_id.empty()) {
    // 3.1 requires an identifier; 3.1.1 allows an empty one only with clean session
    // [MQTT-3.1.3-8]; MQTT 5 lets the server assign one in either case.
    if (p.version == ProtocolVersion::kV31 || (!v5 && !p.clean_start) ||
        !sec.allow_zero_length_clientid) {
      refuse_connect(conn, ReasonCode::kClientIdentifierNotValid);
      return;
    }
    client_id = assign_client_id(lc);
    assigned = true;
  }
  if (lc.use_username_as_clientid && p.username) client_id.assign(*p.username);
  if (shards_) {
    // A client id lives on one shard, so takeover and resume stay local: move there first.
    if (size_t home = home_shard(client_id); home != shard_index_) {
      migrate(conn, client_id, body, home);
      return;
    }
  }

  uint16_t keep_alive = p.keep_alive;
  bool server_keep_alive = false;
  // max_keepalive applies to MQTT 5 clients, told through Server Keep Alive. A 3.x client
  // keeps its own value, as with Debian's Mosquitto 2.0.11 (checked: keep alive 60 and 0 with
  // max_keepalive 10 are accepted and not cut short). Later 2.0.x releases refuse such clients
  // with "identifier rejected", which would refuse mosquitto_sub's default -k 60 under the
  // notes' `max_keepalive 10`.
  if (v5 && config_.max_keepalive && (keep_alive == 0 || keep_alive > config_.max_keepalive)) {
    keep_alive = config_.max_keepalive;
    server_keep_alive = true;
  }

  if (p.will) {
    if (p.will->qos > lc.max_qos) {
      refuse_connect(conn, ReasonCode::kQosNotSupported);  // [MQTT-3.2.2-12]
      return;
    }
    if (p.will->retain && !config_.retain_available) {
      refuse_connect(conn, ReasonCode::kRetainNotSupported);  // [MQTT-3.2.2-13]
      return;
    }
  }

  // Authentication (Mosquitto 2.0 rules): no user name -> allow_anonymous decides; a user name
  // with a password_file -> the file decides; a user name and no password_file -> allowed only
  // when anonymous clients are. A refusal is "not authorised" (3.1.1 code 5, MQTT 5 0x87).
  const SecurityState& security = *conn.listener().security;
  conn.set_connect_client_id(client_id);
  if (!authenticated) {
    if (!p.username) {
      if (!security.allow_anonymous) {
        refuse_connect(conn, ReasonCode::kNotAuthorized,
                       "disconnected, not authorised: no user name and anonymous access is off.");
        return;
      }
    } else if (security.passwords) {
      // Password hashes are slow on purpose: verified on a worker thread, then this CONNECT is
      // handled again (finish_authentication). Reading pauses meanwhile.
      conn.begin_authentication(body);
      auto db = security.passwords;
      std::string user(*p.username);
      std::optional<std::string> password;
      if (p.password) password.emplace(*p.password);
      uint64_t id = conn.id();
      auth_worker_->submit([this, db, user = std::move(user), password = std::move(password), id] {
        bool ok = db->verify(user, password ? std::optional<std::string_view>(*password)
                                            : std::nullopt);
        // Why, for the log (never the password): a known user with a wrong password, or a
        // user name the file does not have.
        const char* why = ok ? nullptr
                          : db->has_user(user) ? "disconnected, not authorised: bad password."
                                               : "disconnected, not authorised: unknown user.";
        loop_.post([this, id, ok, why] { finish_authentication(id, ok, why); });
      });
      return;
    } else if (!security.allow_anonymous) {
      refuse_connect(conn, ReasonCode::kNotAuthorized,
                     "disconnected, not authorised: no password_file and anonymous access is off.");
      return;
    }
  }
  // A will the client may not write is accepted here and dropped when it would be published
  // (publish_will), as Mosquitto 2.0 does (verified with 2.0.11).

  // Session takeover [MQTT-3.1.4-3].
  Session* existing = find_session(std::string_view(client_id));
  if (Connection* old = existing ? connection_of(*existing) : nullptr) {
    if (config_.connection_messages)
      MQ_LOG(kLogNotice, "Client %s already connected, closing old connection.",
             client_id.c_str());
    if (old->terms().version == ProtocolVersion::kV5) {
      codec::Disconnect d;
      d.reason_code = ReasonCode::kSessionTakenOver;
      send_packet(*old, d);
    }
    old->close(nullptr);
  }

  ConnectTerms terms;
  terms.version = p.version;
  terms.client_id = client_id;
  if (p.username) terms.username.emplace(*p.username);
  terms.cert_identity = !cert_user.empty();
  // Kept only where a password file decides, for the re-check after SIGHUP (Mosquitto 2.0
  // re-verifies connected clients against the reloaded file).
  if (p.password && security.passwords && !terms.cert_identity)
    terms.password = std::make_unique<std::string>(*p.password);
  terms.keep_alive = keep_alive;
  if (v5) {
    terms.client_receive_max = p.properties.receive_maximum.value_or(65535);
    terms.client_max_packet = p.properties.maximum_packet_size.value_or(0);
    terms.topic_alias_max = lc.max_topic_alias;
    terms.out_alias_max =
        std::min(p.properties.topic_alias_maximum.value_or(0), lc.max_topic_alias_broker);
    terms.request_problem_info = p.properties.request_problem_information.value_or(1) != 0;
  }
  terms.bridge = p.bridge;
  conn.accept(std::move(terms));

  bool present = false;
  Session& s = attach_session(conn, p, &present);
  persist_session_attached(s);  // journaled before the CONNACK leaves
  conn.set_connected(s.id());
  stats_.clients_connected++;
  stats_.clients_maximum = std::max<uint64_t>(stats_.clients_maximum, stats_.clients_connected);

  codec::Properties props;
  if (v5) {
    // The order Mosquitto 2.0 writes them in (tools compare CONNACK bytes).
    static constexpr codec::PropertyId kConnackOrder[] = {
        codec::PropertyId::kTopicAliasMaximum, codec::PropertyId::kServerKeepAlive,
        codec::PropertyId::kAssignedClientIdentifier, codec::PropertyId::kRetainAvailable,
        codec::PropertyId::kMaximumPacketSize, codec::PropertyId::kReceiveMaximum,
        codec::PropertyId::kMaximumQos};
    props.order = kConnackOrder;
    if (assigned) props.assigned_client_identifier = conn.terms().client_id;
    if (server_keep_alive) props.server_keep_alive = keep_alive;
    if (conn.terms().topic_alias_max) props.topic_alias_maximum = conn.terms().topic_alias_max;
    if (config_.max_inflight_messages && config_.max_inflight_messages < 65535)
      props.receive_maximum = config_.max_inflight_messages;
    if (config_.max_packet_size) props.maximum_packet_size = config_.max_packet_size;
    if (!config_.retain_available) props.retain_available = 0;
    if (lc.max_qos < 2) props.maximum_qos = lc.max_qos;
    if (shards_) props.shared_subscription_available = 0;
  }
  send_connack(conn, present, ReasonCode::kSuccess, std::move(props));

  if (config_.connection_messages) {
    std::string user = p.username ? ", u'" + std::string(*p.username) + "'" : "";
    MQ_LOG(kLogNotice, "New %s connected from %s as %s (p%d, c%d, k%u%s).",
           p.bridge ? "bridge" : "client", conn.peer().c_str(), conn.terms().client_id.c_str(),
           protocol_log_number(p.version), p.clean_start ? 1 : 0, unsigned(keep_alive),
           user.c_str());
  }
  if (present) resume_session(s);
}

Session& Broker::attach_session(Connection& conn, const codec::Connect& p, bool* present) {
  *present = false;
  const ConnectTerms& t = conn.terms();
  Session* found = find_session(std::string_view(t.client_id));
  if (found) {
    Session& old = *found;
    // Reconnecting within the Will Delay Interval cancels the will [MQTT-3.1.3-9].
    if (old.will_timer) loop_.cancel_timer(old.will_timer);
    old.will_timer = 0;
    old.will.reset();
    if (old.expiry_timer) loop_.cancel_timer(old.expiry_timer);
    old.expiry_timer = 0;
    if (p.clean_start) {
      end_session(old);  // [MQTT-3.1.2-4] discard any existing session
    } else {
      *present = true;  // [MQTT-3.2.2-3]
    }
  }
  Session* s = *present ? found : &add_session(t.client_id);
  s->connection_id = conn.id();
  s->disconnected_unix_ms = 0;
  s->version = p.version;
  s->username = t.username;
  s->acl = conn.listener().security->acl;
  if (p.version == ProtocolVersion::kV5) {
    s->expiry_interval = p.properties.session_expiry_interval.value_or(0);
  } else {
    s->expiry_interval = p.clean_start ? 0 : Session::kNeverExpires;
  }
  if (s->expiry_interval == Session::kNeverExpires && config_.persistent_client_expiration > 0)
    s->expiry_interval = uint32_t(std::min<int64_t>(config_.persistent_client_expiration,
                                                    Session::kNeverExpires - 1));
  if (p.will) {
    Will w;
    std::string will_topic = conn.listener().config->mount_point;
    will_topic.append(p.will->topic);
    auto msg = make_message(will_topic, p.will->payload, p.will->qos, p.will->retain,
                            p.will->properties, clock_.unix_time() * 1000, t.client_id,
                            t.username.value_or_empty(), take_store_id());
    msg->expiry_unix_ms = 0;  // counts from publication: see publish_will
    w.delay_interval = p.will->properties.will_delay_interval.value_or(0);
    // The will's Message Expiry Interval counts from when it is published (MQTT 5 3.1.3.2.4).
    w.message_expiry = p.will->properties.message_expiry_interval;
    w.msg = std::move(msg);
    w.mount_len = conn.listener().config->mount_point.size();
    s->will = std::make_unique<Will>(std::move(w));
  }
  return *s;
}

void Broker::detach_session(Connection& conn, bool send_will) {
  Session* s = find_session(conn.take_session());
  if (!s || s->connection_id != conn.id()) return;
  s->connection_id = 0;
  if (stats_.clients_connected) stats_.clients_connected--;
  // Messages in flight stay for a resumed session; QoS 0 ones are simply lost.
  if (s->will && send_will) {
    uint32_t delay = s->will->delay_interval;
    if (delay == 0 || s->expiry_interval == 0) {
      publish_will(*s);
    } else {
      SessionId id = s->id();
      uint32_t wait = std::min(delay, s->expiry_interval);
      s->will_timer = loop_.add_timer_in(int64_t(wait) * 1000, [this, id] {
        if (Session* sess = find_session(id)) {
          sess->will_timer = 0;
          publish_will(*sess);
        }
      });
    }
  } else {
    s->will.reset();  // [MQTT-3.1.2-10] a normal DISCONNECT discards the will
  }
  s->disconnected_unix_ms = clock_.unix_time() * 1000;
  if (s->expiry_interval == 0) {
    end_session(*s);
    return;
  }
  if (std::string* j = journal_for(*s))
    persist::put_session_disconnect(*j, s->client_id(), s->expiry_interval,
                                    s->disconnected_unix_ms);
  if (s->expiry_interval != Session::kNeverExpires)
    arm_session_expiry(*s, int64_t(s->expiry_interval) * 1000);
}

void Broker::arm_session_expiry(Session& s, int64_t delay_ms) {
  SessionId id = s.id();
  s.expiry_timer = loop_.add_timer_in(delay_ms, [this, id] {
    if (Session* sess = find_session(id)) {
      sess->expiry_timer = 0;
      stats_.clients_expired++;
      end_session(*sess);
    }
  });
}

void Broker::publish_will(Session& s) {
  if (!s.will) return;
  if (s.will_timer) loop_.cancel_timer(s.will_timer);
  s.will_timer = 0;
  MessagePtr msg = std::move(s.will->msg);
  // The ACL decides now, against the topic as the client wrote it (without the mount point).
  std::string_view topic = std::string_view(msg->topic).substr(s.will->mount_len);
  if (!acl_allows(s.acl.get(), AclClient{s.client_id(), s.username.view()}, topic,
                  AclAccess::kWrite)) {
    MQ_LOG(kLogDebug, "Denied will from %s on '%.*s'.", s.client_id().c_str(), int(topic.size()),
           topic.data());
    s.will.reset();
    return;
  }
  if (s.will->message_expiry) {
    auto stamped = std::make_shared<Message>(*msg);
    stamped->expiry_unix_ms = clock_.unix_time() * 1000 + int64_t(*s.will->message_expiry) * 1000;
    msg = std::move(stamped);
  }
  s.will.reset();
  publish(msg);
}

void Broker::end_session(Session& s) {
  // A will still waiting for its delay goes out when the session ends [MQTT-3.1.3-9].
  if (s.will && s.will_timer) publish_will(s);
  if (s.expiry_timer) loop_.cancel_timer(s.expiry_timer);
  for (const auto& e : s.subscriptions()) {
    if (subs_.unsubscribe(e.sub().filter, s.id(), e.sub().share_group()) && shards_)
      interest_changed(e.sub().filter, -1);
  }
  if (std::string* j = journal_for(s)) persist::put_session_del(*j, s.client_id());
  stats_.publish_dropped += s.flow.queue.size() + s.flow.inflight.size();
  sessions_.erase(&s);
  session_by_id_.erase(s.id());  // destroys s
}

void Broker::handle_disconnect(Connection& conn, const codec::Disconnect& p) {
  Session* s = find_session(conn.session());
  if (conn.terms().version == ProtocolVersion::kV5 && s && p.properties.session_expiry_interval) {
    // [MQTT-3.14.2-2] a session expiry of 0 at CONNECT cannot be raised at DISCONNECT.
    if (s->expiry_interval == 0 && *p.properties.session_expiry_interval != 0) {
      protocol_close(conn, ReasonCode::kProtocolError, "session expiry raised at DISCONNECT");
      return;
    }
    s->expiry_interval = *p.properties.session_expiry_interval;
  }
  // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 asks for it to be sent.
  if (conn.terms().version == ProtocolVersion::kV5 &&
      p.reason_code == ReasonCode::kDisconnectWithWillMessage)
    conn.close("disconnected.");
  else
    conn.close_gracefully("disconnected.");
}

void Broker::handle_auth(Connection& conn, const codec::Auth&) {
  // No authentication method was agreed at CONNECT, so AUTH is a protocol error
  // [MQTT-3.15.0-1] [MQTT-4.12.0-1].
  protocol_close(conn, ReasonCode::kProtocolError, "AUTH without an authentication method");
}

}  // namespace mq::broker
