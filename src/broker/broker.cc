// Broker lifecycle: listeners, accepting, the per-iteration flush, reaping closed connections,
// keep-alive sweeps, and dispatching decoded packets to the handlers in handle_*.cc.
#include "broker/broker.h"

#include <sys/epoll.h>

#include <algorithm>

#include "base/log.h"
#include "broker/sys_tree.h"
#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/framer.h"
#include "net/socket_util.h"
#include "net/tcp_transport.h"

namespace mq::broker {

namespace {

// A client must send CONNECT within this time after the TCP connection is accepted.
constexpr int64_t kConnectTimeoutMs = 10'000;

net::SocketDomain to_net(SocketDomain d) {
  switch (d) {
    case SocketDomain::kIpv4: return net::SocketDomain::kIpv4;
    case SocketDomain::kIpv6: return net::SocketDomain::kIpv6;
    case SocketDomain::kAny: break;
  }
  return net::SocketDomain::kAny;
}

}  // namespace

Broker::Broker(Config config, net::EventLoop& loop)
    : config_(std::move(config)), loop_(loop), clock_(loop.clock()) {
  stats_.start_unix = clock_.unix_time();
}

Broker::~Broker() {
  if (flush_hook_) loop_.remove_before_sleep(flush_hook_);
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  // Pending retained deliveries hold cursors into retained_: drop them while it lives.
  for (net::TimerId t : retained_timers_) loop_.cancel_timer(t);
  for (auto& [id, conn] : connections_) conn->destroy(loop_);
}

Result<std::vector<uint16_t>> Broker::start() {
  std::vector<uint16_t> ports;
  for (const ListenerConfig& lc : config_.listeners) {
    std::vector<net::ListenSocket> sockets;
    if (!lc.unix_socket_path.empty()) {
      auto s = net::listen_unix(lc.unix_socket_path);
      if (!s.ok()) return make_error(ErrorKind::kIo, "Error: Unable to listen on socket " +
                                                         lc.unix_socket_path + ": " +
                                                         s.error().context);
      sockets.push_back(std::move(*s));
      MQ_LOG(kLogNotice, "Opening unix listen socket on path %s.", lc.unix_socket_path.c_str());
    } else {
      net::TcpListenOptions o;
      o.host = lc.host;
      o.port = lc.port;
      o.domain = to_net(lc.socket_domain);
      auto s = net::listen_tcp(o);
      if (!s.ok()) {
        return make_error(ErrorKind::kIo, "Error: Unable to listen on port " +
                                              std::to_string(lc.port) + ": " + s.error().context);
      }
      for (auto& sock : *s) {
        MQ_LOG(kLogNotice, "Opening %s listen socket on port %u.",
               sock.address.family() == AF_INET6 ? "ipv6" : "ipv4", unsigned(sock.port()));
        sockets.push_back(std::move(sock));
      }
    }
    for (auto& sock : sockets) {
      auto listener = std::make_unique<Listener>();
      Listener* l = listener.get();
      l->config = &lc;
      if (!sock.is_unix()) ports.push_back(sock.port());
      l->acceptor = std::make_unique<net::Acceptor>(
          loop_, std::move(sock),
          [this, l](net::UniqueFd fd, std::string peer) { accept(*l, std::move(fd), peer); });
      Status st = l->acceptor->start();
      if (!st.ok()) return st.error();
      listeners_.push_back(std::move(listener));
    }
  }
  if (Status st = load_all_security(); !st.ok()) return st.error();
  flush_hook_ = loop_.add_before_sleep([this] {
    flush_dirty();
    reap_closed();
  });
  keepalive_timer_ = loop_.add_timer_in(1000, [this] { check_keepalives(); });
  sys_ = std::make_unique<SysTree>(*this);
  sys_->start();
  return ports;
}

Result<std::shared_ptr<const SecurityState>> Broker::load_security(const SecurityOptions& o) {
  auto state = std::make_shared<SecurityState>();
  state->allow_anonymous = o.allow_anonymous == 1;
  if (!o.password_file.empty()) {
    auto db = PasswordDb::load(o.password_file);
    if (!db.ok()) return db.error();
    state->passwords = std::move(*db);
  }
  if (!o.acl_file.empty()) {
    AclOptions acl_options;
    acl_options.subscribe_check = config_.acl_subscribe_check;
    auto acl = AclFile::load(o.acl_file, acl_options);
    if (!acl.ok()) return acl.error();
    state->acl = std::move(*acl);
  }
  return std::shared_ptr<const SecurityState>(std::move(state));
}

Status Broker::load_all_security() {
  // Every listener gets its own state under per_listener_settings, else all share one.
  std::shared_ptr<const SecurityState> global;
  std::vector<std::shared_ptr<const SecurityState>> fresh;
  for (auto& l : listeners_) {
    if (config_.per_listener_settings) {
      auto st = load_security(l->config->security);
      if (!st.ok()) return st.error();
      fresh.push_back(std::move(*st));
    } else {
      if (!global) {
        auto st = load_security(config_.security);
        if (!st.ok()) return st.error();
        global = std::move(*st);
      }
      fresh.push_back(global);
    }
  }
  // All loaded: only now replace (a bad file on reload leaves the old state in force).
  bool need_worker = false;
  for (size_t i = 0; i < listeners_.size(); i++) {
    listeners_[i]->security = std::move(fresh[i]);
    need_worker = need_worker || listeners_[i]->security->passwords;
  }
  if (need_worker && !auth_worker_) {
    unsigned n = std::thread::hardware_concurrency();
    auth_worker_ = std::make_unique<AuthWorker>(n > 1 ? n - 1 : 1);
  }
  return {};
}

void Broker::accept(Listener& listener, net::UniqueFd fd, std::string peer) {
  if (shutting_down_) return;
  const ListenerConfig& lc = *listener.config;
  stats_.connections_accepted++;
  if (lc.max_connections >= 0 && listener.connections >= lc.max_connections) {
    MQ_LOG(kLogNotice, "Client connection from %s denied: max_connections exceeded.",
           peer.c_str());
    return;  // fd closes here
  }
  if (config_.set_tcp_nodelay && lc.unix_socket_path.empty()) (void)net::set_nodelay(fd.get(), true);
  MQ_LOG(kLogNotice, "New connection from %s on port %u.", peer.c_str(),
         unsigned(lc.unix_socket_path.empty() ? listener.acceptor->port() : 0));
  bool is_unix = !lc.unix_socket_path.empty();
  auto transport = std::make_unique<net::TcpTransport>(std::move(fd), std::move(peer), is_unix);
  uint64_t id = next_connection_id_++;
  uint32_t max_packet = config_.max_packet_size ? config_.max_packet_size : uint32_t(codec::Framer::kProtocolMaxPacketSize);
  auto conn = std::make_unique<Connection>(*this, id, std::move(transport), listener, max_packet);
  conn->connected_ms = loop_.now_ms();
  conn->last_rx_ms = conn->connected_ms;
  Status st = conn->start(loop_);
  if (!st.ok()) {
    MQ_LOG(kLogError, "Error: cannot watch new connection: %s", st.error().context.c_str());
    return;
  }
  listener.connections++;
  connections_.emplace(id, std::move(conn));
}

void Broker::mark_dirty(Connection& conn) {
  if (conn.in_dirty_list || !conn.open()) return;
  conn.in_dirty_list = true;
  dirty_.push_back(&conn);
}

void Broker::flush_dirty() {
  // Index loop: flushing can close a connection, whose will may make others dirty.
  for (size_t i = 0; i < dirty_.size(); i++) {
    Connection* c = dirty_[i];
    c->in_dirty_list = false;
    if (!c->open()) continue;
    size_t before = c->out().size();
    c->flush();
    stats_.bytes_sent += before - c->out().size();
  }
  dirty_.clear();
}

void Broker::schedule_reap(Connection& conn) {
  if (conn.reap_scheduled) return;
  conn.reap_scheduled = true;
  closing_.push_back(&conn);
  if (conn.session) {
    if (config_.connection_messages && conn.close_reason) {
      MQ_LOG(kLogNotice, "Client %s %s", conn.client_id.c_str(), conn.close_reason);
    }
    detach_session(conn, !conn.graceful);
  } else if (config_.connection_messages && conn.close_reason && conn.state() == Connection::State::kClosing &&
             !conn.client_id.empty()) {
    MQ_LOG(kLogNotice, "Client %s %s", conn.client_id.c_str(), conn.close_reason);
  }
  loop_.wake();
}

void Broker::reap_closed() {
  if (closing_.empty()) return;
  std::vector<Connection*> batch;
  batch.swap(closing_);
  for (Connection* c : batch) {
    // A last attempt to deliver what was queued for it (CONNACK refusals, DISCONNECT).
    if (!c->out().empty() && c->transport().fd() >= 0) {
      iovec iov[16];
      int n = c->out().fill_iov(iov, 16);
      (void)c->transport().writev(iov, n);
    }
    c->destroy(loop_);
    c->listener().connections--;
    if (c->in_dirty_list) std::erase(dirty_, c);
    connections_.erase(c->id());
  }
}

void Broker::check_keepalives() {
  int64_t now = loop_.now_ms();
  for (auto& [id, conn] : connections_) {
    Connection& c = *conn;
    if (!c.open()) continue;
    if (c.state() == Connection::State::kAwaitConnect ||
        c.state() == Connection::State::kAuthenticating) {
      if (now - c.connected_ms > kConnectTimeoutMs) c.close("did not send CONNECT in time.");
      continue;
    }
    // [MQTT-3.1.2-22] one and a half times the keep alive without a packet: disconnect.
    if (c.keep_alive > 0 && now - c.last_rx_ms > int64_t(c.keep_alive) * 1500) {
      if (c.version == codec::ProtocolVersion::kV5) {
        codec::Disconnect d;
        d.reason_code = codec::ReasonCode::kKeepAliveTimeout;
        send_packet(c, d);
      }
      c.close("has exceeded timeout, disconnecting.");
    }
  }
  keepalive_timer_ = loop_.add_timer_in(500, [this] { check_keepalives(); });
}

void Broker::shutdown() {
  shutting_down_ = true;
  for (auto& l : listeners_) l->acceptor->stop();
  for (auto& [id, conn] : connections_) {
    if (!conn->open()) continue;
    if (conn->state() == Connection::State::kConnected &&
        conn->version == codec::ProtocolVersion::kV5) {
      codec::Disconnect d;
      d.reason_code = codec::ReasonCode::kServerShuttingDown;
      send_packet(*conn, d);
    }
    conn->graceful = true;  // no wills on a clean broker shutdown, as Mosquitto
    conn->close(nullptr);
  }
  flush_dirty();
  reap_closed();
}

void Broker::on_frame_error(Connection& conn, const Error& error) {
  MQ_LOG(kLogDebug, "Bad packet from %s: %s", conn.peer().c_str(), error.context.c_str());
  auto rc = codec::ReasonCode(error.reason ? error.reason : 0x81);
  if (conn.state() == Connection::State::kConnected)
    protocol_close(conn, rc, error.context.c_str());
  else
    conn.close("disconnected due to malformed packet.");
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
  auto r = codec::decode(fixed_header, body, conn.version, codec::Direction::kClientToServer);
  if (!r.ok()) {
    auto rc = codec::ReasonCode(r.error().reason ? r.error().reason : 0x81);
    protocol_close(conn, rc, r.error().context.c_str());
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
    case codec::PacketType::kConnect:  // [MQTT-3.1.0-2] a second CONNECT is a protocol error
    default:                            // packets only a server sends
      protocol_close(conn, codec::ReasonCode::kProtocolError, "unexpected packet");
      break;
  }
}

void Broker::finish_authentication(uint64_t connection_id, bool ok) {
  auto it = connections_.find(connection_id);
  if (it == connections_.end()) return;  // gone while its password was being checked
  Connection& conn = *it->second;
  if (conn.state() != Connection::State::kAuthenticating) return;
  std::string body = conn.end_authentication();
  if (!ok) {
    refuse_connect(conn, codec::ReasonCode::kNotAuthorized, "disconnected, not authorised.");
    return;
  }
  auto r = codec::decode(0x10, body, codec::ProtocolVersion::kV5,
                         codec::Direction::kClientToServer);
  if (!r.ok()) {  // it decoded the first time
    conn.close("disconnected due to malformed packet.");
    return;
  }
  handle_connect(conn, std::get<codec::Connect>(*r), body, true);
  conn.resume_reading();  // packets that followed the CONNECT
}

void Broker::protocol_close(Connection& conn, codec::ReasonCode rc, const char* why) {
  if (!conn.open()) return;
  MQ_LOG(kLogDebug, "Protocol error from %s (%s): %s", conn.client_id.c_str(),
         conn.peer().c_str(), why);
  if (conn.state() == Connection::State::kConnected &&
      conn.version == codec::ProtocolVersion::kV5) {
    codec::Disconnect d;
    d.reason_code = rc;
    send_packet(conn, d);
  }
  conn.close("disconnected due to protocol error.");
}

void Broker::send_packet(Connection& conn, const codec::Packet& packet) {
  if (!conn.open()) return;
  scratch_.clear();
  if (!codec::encode(packet, conn.version, scratch_).ok()) return;
  if (conn.client_max_packet && scratch_.size() > conn.client_max_packet) {
    return;  // [MQTT-3.1.2-24] never send more than the client accepts
  }
  conn.out().append(scratch_);
  stats_.packets_sent++;
  mark_dirty(conn);
}

Session* Broker::find_session(SessionId id) {
  auto it = session_by_id_.find(id);
  return it == session_by_id_.end() ? nullptr : it->second;
}

void Broker::reload(const Config& fresh) {
  Status st = apply_reload(config_, fresh);
  if (!st.ok()) {
    MQ_LOG(kLogError, "%s", st.error().context.c_str());
    return;
  }
  // Password and ACL files are read again; new connections use them (a file that fails to
  // load leaves the previous one in force, with the error logged).
  if (Status sec = load_all_security(); !sec.ok())
    MQ_LOG(kLogError, "%s", sec.error().context.c_str());
  sys_->restart();
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
