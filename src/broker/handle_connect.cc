// CONNECT, DISCONNECT and AUTH. A CONNECT's life, in the order handle_connect runs it:
// identity (user name, client identifier) -> its home shard -> limits (keep alive, will QoS and
// retain) -> authentication (here, or a password hash on a worker, then again from the top)
// -> takeover of a connection with the same client identifier -> the session (its will,
// attach or resume, sessions/) -> CONNACK. Each refusal answers with its CONNACK and stops.
#include <cinttypes>
#include <random>

#include "base/log.h"
#include "broker/broker.h"
#include "codec/decode.h"
#include "net/tls_transport.h"

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

// What the steps of handle_connect settle about one CONNECT. Not copied: `p` may point into it.
struct ConnectAdmission {
  ConnectAdmission(const codec::Connect& packet, bool already_authenticated)
      : p(&packet), second_pass(already_authenticated), authenticated(already_authenticated) {}
  ConnectAdmission(const ConnectAdmission&) = delete;
  ConnectAdmission& operator=(const ConnectAdmission&) = delete;

  bool v5() const { return p->version == ProtocolVersion::kV5; }

  const codec::Connect* p;   // the CONNECT, with the user name that counts (identify_user)
  codec::Connect rewritten;  // what `p` points to when the user name was replaced
  std::string cert_user;     // from the client certificate or PSK identity; empty: none
  std::string client_id;     // as it will be used (assigned, or the user name)
  bool assigned_client_id = false;
  uint16_t keep_alive = 0;         // as granted
  bool server_keep_alive = false;  // differs from the client's: told in CONNACK
  // The password was verified on a worker and this is the same CONNECT again.
  const bool second_pass;
  bool authenticated;
};

namespace {
// Pure steps (defined below, in their place in the CONNECT's life).
ConnectTerms connect_terms(Connection& conn, const ConnectAdmission& a);
codec::Properties connack_properties(const Config& config, Connection& conn,
                                     const ConnectAdmission& a, bool sharded);
}  // namespace

void Broker::handle_connect(Connection& conn, const codec::Connect& packet, std::string_view body,
                            bool authenticated) {
  ConnectAdmission a(packet, authenticated);
  conn.set_connect_version(packet.version);
  if (!identify_user(conn, a)) return;
  if (!a.second_pass) {
    MQ_LOG(kLogDebug, "Received CONNECT from %s as %.*s", conn.peer().c_str(),
           int(a.p->client_id.size()), a.p->client_id.data());
  }
  if (a.v5() && a.p->properties.authentication_method) {
    // No enhanced authentication method is supported [MQTT-4.12.0-1].
    refuse_connect(conn, ReasonCode::kBadAuthenticationMethod);
    return;
  }
  if (!identify_client(conn, a)) return;
  if (shards_) {
    // A client id lives on one shard, so takeover and resume stay local: move there first.
    if (size_t home = home_shard(a.client_id); home != shard_index_) {
      migrate(conn, a.client_id, body, home);
      return;
    }
  }
  if (!check_limits(conn, a)) return;
  conn.set_connect_client_id(a.client_id);
  if (!a.authenticated && authenticate(conn, a, body) != AuthOutcome::kAccepted) return;
  // A will the client may not write is accepted here and dropped when it would be published
  // (Sessions::publish_will), as Mosquitto 2.0 does (verified with 2.0.11).
  take_over(a.client_id);
  conn.accept(connect_terms(conn, a));
  auto [session, present] = attach_session(conn, a);
  send_connack(conn, present, ReasonCode::kSuccess,
               connack_properties(config_, conn, a, shards_ != nullptr));
  if (config_.connection_messages) {
    const codec::Connect& p = *a.p;
    std::string user = p.username ? ", u'" + std::string(*p.username) + "'" : "";
    MQ_LOG(kLogNotice, "New %s connected from %s as %s (p%d, c%d, k%u%s).",
           p.bridge ? "bridge" : "client", conn.peer().c_str(), conn.terms().client_id.c_str(),
           protocol_log_number(p.version), p.clean_start ? 1 : 0, unsigned(a.keep_alive),
           user.c_str());
  }
  if (present) resume_session(session);
}

// --- identity --------------------------------------------------------------------------------

bool Broker::identify_user(Connection& conn, ConnectAdmission& a) {
  // use_identity_as_username / use_subject_as_username: the client certificate (or the PSK
  // identity) names the user and no password is checked, as in Mosquitto.
  if (const ListenerConfig& l = *conn.listener().config;
      l.use_identity_as_username || l.use_subject_as_username) {
    if (const net::TlsTransport* tls = conn.transport().tls()) {
      a.cert_user = l.use_subject_as_username && tls->has_peer_certificate()
                        ? tls->peer_subject_rfc2253()
                        : tls->peer_common_name();
    }
    if (a.cert_user.empty()) {
      refuse_connect(conn, ReasonCode::kBadUserNameOrPassword,
                     "disconnected, no client certificate to take the user name from.");
      return false;
    }
    a.rewritten = *a.p;
    a.rewritten.username = a.cert_user;
    a.rewritten.password.reset();
    a.p = &a.rewritten;
    a.authenticated = true;
  }
  if (a.p->username && a.p->username->empty()) {
    // Mosquitto 2.0 reads a zero-length user name as none: the client is anonymous for
    // allow_anonymous, the password file and the ACL (verified with 2.0.11).
    if (a.p != &a.rewritten) a.rewritten = *a.p;
    a.rewritten.username.reset();
    a.p = &a.rewritten;
  }
  return true;
}

bool Broker::identify_client(Connection& conn, ConnectAdmission& a) {
  const codec::Connect& p = *a.p;
  const ListenerConfig& lc = *conn.listener().config;
  a.client_id.assign(p.client_id);
  if (a.client_id.empty()) {
    // 3.1 requires an identifier; 3.1.1 allows an empty one only with clean session
    // [MQTT-3.1.3-8]; MQTT 5 lets the server assign one in either case.
    if (p.version == ProtocolVersion::kV31 || (!a.v5() && !p.clean_start) ||
        !config_.security_for(lc).allow_zero_length_clientid) {
      refuse_connect(conn, ReasonCode::kClientIdentifierNotValid);
      return false;
    }
    a.client_id = assign_client_id(lc);
    a.assigned_client_id = true;
  }
  if (lc.use_username_as_clientid && p.username) a.client_id.assign(*p.username);
  return true;
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

// --- limits ----------------------------------------------------------------------------------

bool Broker::check_limits(Connection& conn, ConnectAdmission& a) {
  const codec::Connect& p = *a.p;
  a.keep_alive = p.keep_alive;
  // max_keepalive applies to MQTT 5 clients, told through Server Keep Alive. A 3.x client
  // keeps its own value, as with Debian's Mosquitto 2.0.11 (checked: keep alive 60 and 0 with
  // max_keepalive 10 are accepted and not cut short). Later 2.0.x releases refuse such clients
  // with "identifier rejected", which would refuse mosquitto_sub's default -k 60 under the
  // notes' `max_keepalive 10`.
  if (a.v5() && config_.max_keepalive &&
      (a.keep_alive == 0 || a.keep_alive > config_.max_keepalive)) {
    a.keep_alive = config_.max_keepalive;
    a.server_keep_alive = true;
  }
  if (p.will) {
    if (p.will->qos > conn.listener().config->max_qos) {
      refuse_connect(conn, ReasonCode::kQosNotSupported);  // [MQTT-3.2.2-12]
      return false;
    }
    if (p.will->retain && !config_.retain_available) {
      refuse_connect(conn, ReasonCode::kRetainNotSupported);  // [MQTT-3.2.2-13]
      return false;
    }
  }
  return true;
}

// --- authentication --------------------------------------------------------------------------

Broker::AuthOutcome Broker::authenticate(Connection& conn, const ConnectAdmission& a,
                                         std::string_view body) {
  // Mosquitto 2.0 rules: no user name -> allow_anonymous decides; a user name with a
  // password_file -> the file decides; a user name and no password_file -> allowed only when
  // anonymous clients are. A refusal is "not authorised" (3.1.1 code 5, MQTT 5 0x87).
  const codec::Connect& p = *a.p;
  const SecurityState& security = *conn.listener().security;
  if (!p.username) {
    if (security.allow_anonymous) return AuthOutcome::kAccepted;
    refuse_connect(conn, ReasonCode::kNotAuthorized,
                   "disconnected, not authorised: no user name and anonymous access is off.");
    return AuthOutcome::kRefused;
  }
  if (!security.passwords) {
    if (security.allow_anonymous) return AuthOutcome::kAccepted;
    refuse_connect(conn, ReasonCode::kNotAuthorized,
                   "disconnected, not authorised: no password_file and anonymous access is off.");
    return AuthOutcome::kRefused;
  }
  // Password hashes are slow on purpose: verified on a worker thread, then this CONNECT is
  // handled again (finish_authentication). Reading pauses meanwhile.
  conn.begin_authentication(body);
  auto db = security.passwords;
  std::string user(*p.username);
  std::optional<std::string> password;
  if (p.password) password.emplace(*p.password);
  uint64_t id = conn.id();
  auth_worker_->submit([this, db, user = std::move(user), password = std::move(password), id] {
    bool ok =
        db->verify(user, password ? std::optional<std::string_view>(*password) : std::nullopt);
    // Why, for the log (never the password): a known user with a wrong password, or a
    // user name the file does not have.
    const char* why = ok ? nullptr
                      : db->has_user(user) ? "disconnected, not authorised: bad password."
                                           : "disconnected, not authorised: unknown user.";
    loop_.post([this, id, ok, why] { finish_authentication(id, ok, why); });
  });
  return AuthOutcome::kPending;
}

void Broker::finish_authentication(uint64_t connection_id, bool ok, const char* why) {
  Connection* found = connections_.find(connection_id);
  if (!found) return;  // gone while its password was being checked
  Connection& conn = *found;
  if (conn.state() != Connection::State::kAuthenticating) return;
  std::string body = conn.end_authentication();
  if (!ok) {
    refuse_connect(conn, ReasonCode::kNotAuthorized, why ? why : "disconnected, not authorised.");
    return;
  }
  auto r = codec::decode(0x10, body, ProtocolVersion::kV5, codec::Direction::kClientToServer);
  if (!r.ok()) {  // it decoded the first time
    conn.close("disconnected due to malformed packet.");
    return;
  }
  handle_connect(conn, std::get<codec::Connect>(*r), body, true);
  conn.resume_reading();  // packets that followed the CONNECT
}

// --- takeover, terms, session ----------------------------------------------------------------

void Broker::take_over(const std::string& client_id) {
  // Session takeover [MQTT-3.1.4-3]: the connection now using this client id is closed (its
  // will goes out as for any unexpected close) before the new one attaches to the session.
  Session* existing = sessions_.find(std::string_view(client_id));
  Connection* old = existing ? connection_of(*existing) : nullptr;
  if (!old) return;
  if (config_.connection_messages)
    MQ_LOG(kLogNotice, "Client %s already connected, closing old connection.", client_id.c_str());
  if (old->terms().version == ProtocolVersion::kV5) {
    codec::Disconnect d;
    d.reason_code = ReasonCode::kSessionTakenOver;
    send_packet(*old, d);
  }
  old->close(nullptr);
}

namespace {

// What the connection keeps of its CONNECT (read-only once accepted).
ConnectTerms connect_terms(Connection& conn, const ConnectAdmission& a) {
  const codec::Connect& p = *a.p;
  const ListenerConfig& lc = *conn.listener().config;
  ConnectTerms terms;
  terms.version = p.version;
  terms.client_id = a.client_id;
  if (p.username) terms.username.emplace(*p.username);
  terms.cert_identity = !a.cert_user.empty();
  // Kept only where a password file decides, for the re-check after SIGHUP (Mosquitto 2.0
  // re-verifies connected clients against the reloaded file).
  if (p.password && conn.listener().security->passwords && !terms.cert_identity)
    terms.password = std::make_unique<std::string>(*p.password);
  terms.keep_alive = a.keep_alive;
  if (a.v5()) {
    terms.client_receive_max = p.properties.receive_maximum.value_or(65535);
    terms.client_max_packet = p.properties.maximum_packet_size.value_or(0);
    terms.topic_alias_max = lc.max_topic_alias;
    terms.out_alias_max =
        std::min(p.properties.topic_alias_maximum.value_or(0), lc.max_topic_alias_broker);
    terms.request_problem_info = p.properties.request_problem_information.value_or(1) != 0;
  }
  terms.bridge = p.bridge;
  return terms;
}

}  // namespace

std::unique_ptr<Will> Broker::make_will(Connection& conn, const codec::Connect& p) {
  if (!p.will) return nullptr;
  const ConnectTerms& t = conn.terms();
  const std::string& mount_point = conn.listener().config->mount_point;
  auto w = std::make_unique<Will>();
  auto msg = make_message(mount_point + std::string(p.will->topic), p.will->payload, p.will->qos,
                          p.will->retain, p.will->properties, clock_.unix_time() * 1000,
                          t.client_id, t.username.value_or_empty(), take_store_id());
  msg->expiry_unix_ms = 0;  // counts from publication: see Sessions::publish_will
  w->delay_interval = p.will->properties.will_delay_interval.value_or(0);
  // The will's Message Expiry Interval counts from when it is published (MQTT 5 3.1.3.2.4).
  w->message_expiry = p.will->properties.message_expiry_interval;
  w->msg = std::move(msg);
  w->mount_len = mount_point.size();
  return w;
}

Sessions::Attached Broker::attach_session(Connection& conn, const ConnectAdmission& a) {
  const codec::Connect& p = *a.p;
  const ConnectTerms& t = conn.terms();
  Sessions::Attach req;
  req.client_id = t.client_id;
  req.connection_id = conn.id();
  req.version = p.version;
  req.clean_start = p.clean_start;
  uint32_t expiry = a.v5()          ? p.properties.session_expiry_interval.value_or(0)
                    : p.clean_start ? 0
                                    : Session::kNeverExpires;
  req.expiry_interval = bounded_expiry(expiry, config_.persistent_client_expiration);
  req.username = &t.username;
  req.acl = conn.listener().security->acl;
  // Built after the takeover: the old connection's will is published first, as before.
  req.will = make_will(conn, p);
  Sessions::Attached attached = sessions_.attach(std::move(req));
  keeper_.session_attached(attached.session);  // journaled before the CONNACK leaves
  conn.set_connected(attached.session.id());
  stats_.clients_connected++;
  stats_.clients_maximum = std::max<uint64_t>(stats_.clients_maximum, stats_.clients_connected);
  return attached;
}

// --- CONNACK ---------------------------------------------------------------------------------

namespace {

// The MQTT 5 CONNACK properties: what the broker grants or does not offer.
// `sharded`: thread_count > 1, where shared subscriptions are refused.
codec::Properties connack_properties(const Config& config, Connection& conn,
                                     const ConnectAdmission& a, bool sharded) {
  codec::Properties props;
  if (!a.v5()) return props;
  // The order Mosquitto 2.0 writes them in (tools compare CONNACK bytes).
  static constexpr codec::PropertyId kConnackOrder[] = {
      codec::PropertyId::kTopicAliasMaximum,
      codec::PropertyId::kServerKeepAlive,
      codec::PropertyId::kAssignedClientIdentifier,
      codec::PropertyId::kRetainAvailable,
      codec::PropertyId::kMaximumPacketSize,
      codec::PropertyId::kReceiveMaximum,
      codec::PropertyId::kMaximumQos};
  props.order = kConnackOrder;
  const ListenerConfig& lc = *conn.listener().config;
  if (a.assigned_client_id) props.assigned_client_identifier = conn.terms().client_id;
  if (a.server_keep_alive) props.server_keep_alive = a.keep_alive;
  if (conn.terms().topic_alias_max) props.topic_alias_maximum = conn.terms().topic_alias_max;
  if (config.max_inflight_messages && config.max_inflight_messages < 65535)
    props.receive_maximum = config.max_inflight_messages;
  if (config.max_packet_size) props.maximum_packet_size = config.max_packet_size;
  if (!config.retain_available) props.retain_available = 0;
  if (lc.max_qos < 2) props.maximum_qos = lc.max_qos;
  if (sharded) props.shared_subscription_available = 0;
  return props;
}

}  // namespace

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

// --- DISCONNECT and AUTH ---------------------------------------------------------------------

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
