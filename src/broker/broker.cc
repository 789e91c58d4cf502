// Broker lifecycle: listeners, accepting, the per-iteration flush, reaping closed connections,
// keep-alive sweeps, and dispatching decoded packets to the handlers in handle_*.cc.
#include "broker/broker.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "broker/bridge/bridge.h"
#include "broker/log_topic.h"
#include "broker/sys_tree.h"
#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/framer.h"
#include "net/socket_util.h"
#include "proto/keepalive.h"

namespace mq::broker {

namespace {

// A client must send CONNECT within this time after the TCP connection is accepted.
constexpr int64_t kConnectTimeoutMs = 10'000;


}  // namespace

Broker::Broker(Config config, net::EventLoop& loop)
    : config_(std::move(config)), loop_(loop), clock_(loop.clock()) {
  stats_.start_unix = clock_.unix_time();
}

Broker::~Broker() {
  log_topic_.reset();  // no more log lines for this broker
  bridges_.clear();  // their fds and timers are on loop_
  if (flush_hook_) loop_.remove_before_sleep(flush_hook_);
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  // Pending retained deliveries hold cursors into retained_: drop them while it lives.
  for (net::TimerId t : retained_timers_) loop_.cancel_timer(t);
  connections_.for_each([this](Connection& c) { c.destroy(loop_); });
}

Result<std::vector<uint16_t>> Broker::start() {
  persist::State stored;
  if (config_.persistence) {
    if (Status st = keeper_.load(stored); !st.ok()) return st.error();
  }
  // Bridge TLS contexts first: a bad certificate stops start-up before any socket is bound.
  std::vector<std::shared_ptr<const net::TlsContext>> bridge_tls;
  for (const BridgeConfig& bc : config_.bridges) {
    auto tls = Bridge::make_tls(bc);
    if (!tls.ok()) return tls.error();
    bridge_tls.push_back(*tls);
  }
  // Password and ACL files before any socket is bound, as Mosquitto.
  auto security = load_listener_security(config_, &start_failure_status_);
  if (!security.ok()) return security.error();
  auto ports = open_listeners();
  if (!ports.ok()) return ports.error();
  install_security(*security);
  // The bridges exist (not started) before the stored state is installed: it holds their
  // queues, and the start-up snapshot must keep them.
  for (size_t i = 0; i < config_.bridges.size(); i++) {
    bridges_.push_back(std::make_unique<Bridge>(*this, loop_, config_.bridges[i], bridge_tls[i]));
  }
  // Stored state is installed before the loop runs, so before any client is accepted.
  if (keeper_.enabled()) keeper_.start(stored);
  install_loop_hooks();
  sys_ = std::make_unique<SysTree>(*this);
  sys_->start();
  // Always installed: the logger calls it only while log_dest topic is configured (SIGHUP).
  log_topic_ = std::make_unique<LogTopic>(*this, loop_);
  log_topic_->install();
  for (auto& b : bridges_) b->start();
  return *ports;
}

void Broker::install_loop_hooks() {
  flush_hook_ = loop_.add_before_sleep([this] {
    keeper_.commit();  // journal records reach the kernel before the acks that depend on them
    for (auto& b : bridges_) b->flush();
    if (shards_) send_forwarded();
    flush_dirty();
    reap_closed();
  });
  keepalive_timer_ = loop_.add_timer_in(1000, [this] { check_keepalives(); });
}

Status Broker::check_startup() {
  if (config_.persistence) {
    if (Status st = keeper_.check(); !st.ok()) return st;
  }
  for (const BridgeConfig& bc : config_.bridges) {
    auto tls = Bridge::make_tls(bc);
    if (!tls.ok()) return tls.error();
  }
  auto loaded = load_listener_security(config_, &start_failure_status_);
  if (!loaded.ok()) return loaded.error();
  return {};
}

void Broker::mark_dirty(Connection& conn) {
  if (!conn.open() || !conn.enter_dirty_list()) return;
  dirty_.push_back(&conn);
}

void Broker::flush_dirty() {
  // Index loop: flushing can close a connection, whose will may make others dirty.
  for (size_t i = 0; i < dirty_.size(); i++) {
    Connection* c = dirty_[i];
    c->leave_dirty_list();
    if (!c->open()) continue;
    size_t before = c->out().size();
    c->flush();
    stats_.bytes_sent += before - c->out().size();
  }
  dirty_.clear();
}

void Broker::schedule_reap(Connection& conn) {
  if (!conn.mark_reap_scheduled()) return;
  closing_.push_back(&conn);
  const std::string& client_id = conn.terms().client_id;
  const char* reason = conn.close_reason();
  if (conn.session()) {
    if (config_.connection_messages && reason) {
      MQ_LOG(kLogNotice, "Client %s %s", client_id.c_str(), reason);
    }
    sessions_.detach(conn.take_session(), conn.id(), /*send_will=*/!conn.graceful());
  } else if (config_.connection_messages && reason && conn.state() == Connection::State::kClosing &&
             !client_id.empty()) {
    MQ_LOG(kLogNotice, "Client %s %s", client_id.c_str(), reason);
  }
  loop_.wake();
}

void Broker::reap_closed() {
  if (closing_.empty()) return;
  std::vector<Connection*> batch;
  batch.swap(closing_);
  for (Connection* c : batch) {
    if (!c->has_transport()) {
      // Moved to another shard (migrate): its socket lives on there.
    } else if (!shutting_down_ && c->transport().fd() >= 0) {
      // What was queued for it (a refusing CONNACK, a DISCONNECT with its reason) must reach
      // the client even if it is still sending: see linger.h.
      loop_.remove(c->transport().fd());
      linger_.adopt(c->release_transport(), std::move(c->out()));
    } else if (!c->out().empty() && c->transport().fd() >= 0) {
      // Shutting down: one last attempt, the loop will not run again.
      iovec iov[16];
      int n = c->out().fill_iov(iov, 16);
      (void)c->transport().writev(iov, n);
    }
    c->destroy(loop_);
    (*c->listener().connections)--;
    if (c->in_dirty_list()) std::erase(dirty_, c);
    connections_.erase(c->id());
  }
}

void Broker::check_keepalives() {
  int64_t now = loop_.now_ms();
  connections_.for_each([&](Connection& c) {
    if (!c.open()) return;
    // A connection quiet since its last read or write may still hold TLS record buffers (a
    // busy one keeps them after a few releases per period): give them back now.
    if (c.has_transport() && c.out().empty()) c.transport().release_idle_buffers(true);
    if (c.state() == Connection::State::kAwaitConnect ||
        c.state() == Connection::State::kAuthenticating) {
      if (now - c.connected_ms() > kConnectTimeoutMs) c.close("did not send CONNECT in time.");
      return;
    }
    // [MQTT-3.1.2-22] one and a half times the keep alive without a packet: disconnect. The
    // rule is proto::keepalive_expired, as in Endpoint::keepalive_expired; no Endpoint here,
    // since one is a view over a session's state and this sweep walks connections.
    if (proto::keepalive_expired(now, c.last_rx_ms(), c.terms().keep_alive)) {
      if (c.terms().version == codec::ProtocolVersion::kV5) {
        codec::Disconnect d;
        d.reason_code = codec::ReasonCode::kKeepAliveTimeout;
        send_packet(c, d);
      }
      c.close("has exceeded timeout, disconnecting.");
    }
  });
  if (shards_) {
    // Shard 0 reads these for $SYS; tombstones of retained topics outlive any batch in flight.
    refresh_gauges();
    std::erase_if(retained_cleared_, [now](const auto& e) { return now - e.second.at_ms > 60'000; });
  }
  keepalive_timer_ = loop_.add_timer_in(500, [this] { check_keepalives(); });
}

void Broker::refresh_gauges() {
  stats_.sessions = sessions_.size();
  stats_.subscriptions = subs_.subscription_count();
  stats_.shared_subscriptions = subs_.shared_subscription_count();
}

StatsValues Broker::stats_total() {
  refresh_gauges();
  StatsValues v;
  v.start_unix = stats_.start_unix;
  if (!shards_) {
    v.add(stats_);
    return v;
  }
  for (size_t k = 0; k < outbox_.size(); k++) v.add(shard_broker(k)->stats_);
  // A sum of per-shard maxima is not the maximum of the sum: shard 0 keeps that one.
  clients_maximum_total_ = std::max(clients_maximum_total_, v.clients_connected);
  v.clients_maximum = clients_maximum_total_;
  return v;
}

void Broker::shutdown() {
  shutting_down_ = true;
  for (auto& l : listeners_)
    if (l->acceptor) l->acceptor->stop();
  for (auto& b : bridges_) b->stop();  // DISCONNECT to each remote
  connections_.for_each([this](Connection& conn) {
    if (!conn.open()) return;
    if (conn.state() == Connection::State::kConnected &&
        conn.terms().version == codec::ProtocolVersion::kV5) {
      codec::Disconnect d;
      d.reason_code = codec::ReasonCode::kServerShuttingDown;
      send_packet(conn, d);
    }
    conn.close_gracefully(nullptr);  // no wills on a clean broker shutdown, as Mosquitto
  });
  keeper_.shutdown();  // the journal committed and synced before the last output leaves
  flush_dirty();
  reap_closed();
  linger_.close_all();
  keeper_.save_now("shutdown");
}

void Broker::on_frame_error(Connection& conn, const Error& error) {
  MQ_LOG(kLogDebug, "Bad packet from %s: %s", conn.peer().c_str(), error.context.c_str());
  auto rc = codec::ReasonCode(error.reason ? error.reason : 0x81);
  if (conn.state() == Connection::State::kConnected)
    protocol_close(conn, rc, error.context.c_str());
  else
    conn.close("disconnected due to malformed packet.");
}

void Broker::on_decode_error(Connection& conn, const Error& error) {
  // The codec names the precise reason; on the wire, Mosquitto 2.0's codes are used where
  // the specification leaves the choice: a wildcard in a topic name is a Protocol Error and
  // a bad topic filter a Malformed Packet there (tools compare the DISCONNECT bytes).
  uint8_t reason = error.reason ? error.reason : 0x81;
  if (reason == uint8_t(codec::ReasonCode::kTopicNameInvalid)) reason = 0x82;
  if (reason == uint8_t(codec::ReasonCode::kTopicFilterInvalid)) reason = 0x81;
  protocol_close(conn, codec::ReasonCode(reason), error.context.c_str());
}

void Broker::on_frame(Connection& conn, uint8_t fixed_header, std::string_view body) {
  stats_.packets_received++;
  stats_.bytes_received += 2 + body.size();
  auto type = codec::PacketType(fixed_header >> 4);
  if (conn.state() == Connection::State::kAwaitConnect) {
    if (type != codec::PacketType::kConnect) {  // [MQTT-3.1.0-1]
      conn.close("disconnected: first packet was not CONNECT.");
      return;
    }
    auto r = codec::decode(fixed_header, body, codec::ProtocolVersion::kV5,
                           codec::Direction::kClientToServer);
    if (!r.ok()) {
      if (r.error().reason == uint8_t(codec::ReasonCode::kUnsupportedProtocolVersion)) {
        // [MQTT-3.1.2-2] refuse the protocol level with return code 1, then close. The client's
        // version is unknown: the 3.1.1 form (2 bytes) is what old and new clients can read.
        conn.out().append(std::string_view("\x20\x02\x00\x01", 4));
        mark_dirty(conn);
        conn.close("disconnected: unsupported protocol version.");
      } else {
        MQ_LOG(kLogDebug, "Bad CONNECT from %s: %s", conn.peer().c_str(),
               r.error().context.c_str());
        conn.close("disconnected due to malformed packet.");
      }
      return;
    }
    handle_connect(conn, std::get<codec::Connect>(*r), body, false);
    return;
  }
  if (type == codec::PacketType::kPublish) {
    // The per-message path: decoded in place, not moved through a Packet variant.
    codec::Publish p;
    if (Status st = codec::decode_publish(fixed_header, body, conn.terms().version,
                                          codec::Direction::kClientToServer, p);
        !st) {
      on_decode_error(conn, st.error());
      return;
    }
    handle_publish(conn, p);
    return;
  }
  auto r =
      codec::decode(fixed_header, body, conn.terms().version, codec::Direction::kClientToServer);
  if (!r.ok()) {
    on_decode_error(conn, r.error());
    return;
  }
  codec::Packet& p = *r;
  switch (type) {
    case codec::PacketType::kPublish: handle_publish(conn, std::get<codec::Publish>(p)); break;
    case codec::PacketType::kPuback:
      handle_ack(conn, type, std::get<codec::Puback>(p));
      break;
    case codec::PacketType::kPubrec: {
      auto& a = std::get<codec::Pubrec>(p);
      handle_ack(conn, type, codec::Puback{a.packet_id, a.reason_code, a.properties});
      break;
    }
    case codec::PacketType::kPubrel: {
      auto& a = std::get<codec::Pubrel>(p);
      handle_ack(conn, type, codec::Puback{a.packet_id, a.reason_code, a.properties});
      break;
    }
    case codec::PacketType::kPubcomp: {
      auto& a = std::get<codec::Pubcomp>(p);
      handle_ack(conn, type, codec::Puback{a.packet_id, a.reason_code, a.properties});
      break;
    }
    case codec::PacketType::kSubscribe: handle_subscribe(conn, std::get<codec::Subscribe>(p)); break;
    case codec::PacketType::kUnsubscribe:
      handle_unsubscribe(conn, std::get<codec::Unsubscribe>(p));
      break;
    case codec::PacketType::kPingreq: send_packet(conn, codec::Pingresp{}); break;
    case codec::PacketType::kDisconnect: handle_disconnect(conn, std::get<codec::Disconnect>(p)); break;
    case codec::PacketType::kAuth: handle_auth(conn, std::get<codec::Auth>(p)); break;
    case codec::PacketType::kConnect:
      // [MQTT-3.1.0-2] a second CONNECT is a protocol error: closed without a DISCONNECT, as
      // Mosquitto 2.0 does.
      MQ_LOG(kLogDebug, "Protocol error from %s (%s): second CONNECT",
             conn.terms().client_id.c_str(), conn.peer().c_str());
      conn.close("disconnected due to protocol error.");
      break;
    default:  // packets only a server sends
      protocol_close(conn, codec::ReasonCode::kProtocolError, "unexpected packet");
      break;
  }
}

void Broker::protocol_close(Connection& conn, codec::ReasonCode rc, const char* why) {
  if (!conn.open()) return;
  MQ_LOG(kLogDebug, "Protocol error from %s (%s): %s", conn.terms().client_id.c_str(),
         conn.peer().c_str(), why);
  if (conn.state() == Connection::State::kConnected &&
      conn.terms().version == codec::ProtocolVersion::kV5) {
    codec::Disconnect d;
    d.reason_code = rc;
    send_packet(conn, d);
  }
  conn.close("disconnected due to protocol error.");
}

void Broker::send_packet(Connection& conn, const codec::Packet& packet,
                         uint32_t client_max_packet) {
  if (!conn.open()) return;
  scratch_.clear();
  if (!codec::encode(packet, conn.terms().version, scratch_).ok()) return;
  if (client_max_packet && scratch_.size() > client_max_packet) {
    return;  // [MQTT-3.1.2-24] never send more than the client accepts
  }
  conn.out().append(scratch_);
  stats_.packets_sent++;
  mark_dirty(conn);
}

void Broker::publish_will_message(const MessagePtr& msg) { publish(msg); }

void Broker::session_offline(Session& s) {
  if (std::string* j = keeper_.journal(s))
    persist::put_session_disconnect(*j, s.client_id(), s.expiry_interval,
                                    s.disconnected_unix_ms);
}

void Broker::session_ending(Session& s) {
  for (const auto& e : s.subscriptions()) {
    if (subs_.unsubscribe(e.sub().filter, s.id(), e.sub().share_group()) && shards_)
      interest_changed(e.sub().filter, -1);
  }
  if (std::string* j = keeper_.journal(s)) persist::put_session_del(*j, s.client_id());
}

bool Broker::reload(const Config& fresh) {
  Status st = apply_reload(config_, fresh);
  if (!st.ok()) {
    MQ_LOG(kLogError, "%s", st.error().context.c_str());
    return false;
  }
  // Password and ACL files are read again; new connections use them (a file that fails to
  // load leaves the previous one in force, with the error logged).
  if (Status sec = load_all_security(); !sec.ok())
    MQ_LOG(kLogError, "%s", sec.error().context.c_str());
  else
    recheck_connected_clients();
  if (sys_) sys_->restart();
  return true;
}

void Broker::dump_state() {
  subs_.dump([](std::string_view filter, SessionId session, const SubscriptionOptions& o,
                std::string_view group) {
    MQ_LOG(kLogNotice, "subscription %s%.*s%s%.*s session=%llu qos=%u",
           group.empty() ? "" : "$share/", int(group.size()), group.data(),
           group.empty() ? "" : "/", int(filter.size()), filter.data(),
           static_cast<unsigned long long>(session), unsigned(o.qos));
  });
  retained_.match("#", [](const MessagePtr& m) {
    MQ_LOG(kLogNotice, "retained %s (%zu bytes)", m->topic.c_str(), m->payload.size());
  });
}

}  // namespace mq::broker
