// Bridge connection life cycle: connect (try each address in turn), TLS, CONNECT/CONNACK,
// remote SUBSCRIBEs for in/both topics, re-sending what was in flight, PINGREQ, reconnect delays,
// lazy/once start types, notifications. Log lines follow Debian's Mosquitto 2.0.11
// (`mosquitto -v`). Topic remapping and the message flow both ways are in bridge_flow.cc.
#include "broker/bridge/bridge.h"

#include <sys/epoll.h>

#include <algorithm>
#include <random>

#include "base/file.h"
#include "base/log.h"
#include "broker/broker.h"
#include "codec/decode.h"
#include "codec/encode.h"
#include "net/tcp_transport.h"
#include "net/tls_transport.h"
#include "proto/connect_request.h"

namespace mq::broker {

using codec::PacketType;
using codec::ProtocolVersion;
using codec::ReasonCode;

namespace {

constexpr size_t kReadChunk = 16 * 1024;

ProtocolVersion to_version(BridgeProtocolVersion v) {
  switch (v) {
    case BridgeProtocolVersion::kMqtt31: return ProtocolVersion::kV31;
    case BridgeProtocolVersion::kMqtt5: return ProtocolVersion::kV5;
    case BridgeProtocolVersion::kMqtt311: break;
  }
  return ProtocolVersion::kV311;
}

const char* connack_text(uint8_t rc) {
  switch (rc) {
    case 1: return "Connection Refused: unacceptable protocol version";
    case 2: return "Connection Refused: identifier rejected";
    case 3: return "Connection Refused: broker unavailable";
    case 4: return "Connection Refused: bad user name or password";
    case 5: return "Connection Refused: not authorised";
    default: return "Connection Refused: unknown reason";
  }
}

}  // namespace

Result<std::shared_ptr<const net::TlsContext>> Bridge::make_tls(const BridgeConfig& c) {
  if (c.tls.cafile.empty() && c.tls.capath.empty() && c.tls.psk.empty()) {
    return std::shared_ptr<const net::TlsContext>();
  }
  auto ctx = net::TlsContext::client(c.tls);
  if (!ctx.ok()) {
    Error e = ctx.error();
    e.context = "Error: Bridge " + c.name + " TLS: " + e.context + " (" + c.where.to_string() + ").";
    for (const std::string& path : {c.tls.cafile, c.tls.certfile, c.tls.keyfile}) {
      std::string why = access_problem(path);  // after the user switch: say for whom
      if (!why.empty()) e.context += "\nError: " + why + ".";
    }
    return e;
  }
  return *ctx;
}

Bridge::Bridge(Broker& broker, net::EventLoop& loop, BridgeConfig config,
               std::shared_ptr<const net::TlsContext> tls)
    : broker_(broker),
      loop_(loop),
      cfg_(std::move(config)),
      tls_(std::move(tls)),
      connector_(loop),
      primary_probe_(loop),
      version_(to_version(cfg_.protocol_version)),
      try_private_(cfg_.try_private && version_ != ProtocolVersion::kV5) {
  notification_topic_ = cfg_.notification_topic.empty()
                            ? "$SYS/broker/connection/" + cfg_.remote_clientid + "/state"
                            : cfg_.notification_topic;
  link_.keep_alive_s = cfg_.keepalive;
  link_.own_maximum_packet_size = cfg_.max_packet_size;  // applied to what we send too
}

Bridge::~Bridge() {
  connector_.cancel();
  cancel_primary_retry();
  if (idle_timer_) loop_.cancel_timer(idle_timer_);
  if (restart_timer_) loop_.cancel_timer(restart_timer_);
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  close_transport();
}

void Bridge::start() {
  for (const BridgeTopic& t : cfg_.topics) {
    if (is_out(t.direction)) {
      MQ_LOG(kLogDebug, "Bridge %s doing local SUBSCRIBE on topic %s", cfg_.local_clientid.c_str(),
             t.local_topic.c_str());
    }
  }
  // lazy: connects once `threshold` messages are queued for the remote (queue_out), which
  // a queue restored from persistence may already be.
  if (!lazy() || flow_.queue.size() >= size_t(cfg_.threshold)) connect();
}

void Bridge::stop() {
  if (state_ == State::kStopped) return;
  connector_.cancel();
  cancel_primary_retry();
  if (restart_timer_) loop_.cancel_timer(restart_timer_);
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  if (idle_timer_) loop_.cancel_timer(idle_timer_);
  restart_timer_ = keepalive_timer_ = idle_timer_ = 0;
  if (state_ == State::kConnected) {
    codec::Disconnect d;
    send(d);
    write_out();
  }
  state_ = State::kStopped;
  close_transport();
}

// --- connecting ------------------------------------------------------------------------------

void Bridge::connect() {
  if (state_ == State::kStopped) return;
  const BridgeAddress& a = cfg_.addresses[address_ % cfg_.addresses.size()];
  MQ_LOG(kLogNotice, "Connecting bridge (step 1) %s (%s:%u)", cfg_.name.c_str(), a.host.c_str(),
         unsigned(a.port));
  if (cfg_.notifications && !initial_notification_done_) {
    initial_notification_done_ = true;
    notify_local('0');
  }
  state_ = State::kConnecting;
  net::ConnectOptions o;
  o.host = a.host;
  o.port = a.port;
  o.bind_address = cfg_.bind_address;
  o.timeout_ms = std::max(1000, int(cfg_.keepalive) * 1000);
  Status st = connector_.start(o, [this](Result<net::UniqueFd> fd) { on_connected(std::move(fd)); });
  if (!st.ok()) {
    MQ_LOG(kLogError, "Error creating bridge: %s.", st.error().context.c_str());
    last_error_ = current_address() + ": " + st.error().context;
    connect_failed();
    return;
  }
  MQ_LOG(kLogNotice, "Connecting bridge (step 2) %s (%s:%u)", cfg_.name.c_str(), a.host.c_str(),
         unsigned(a.port));
}

void Bridge::on_connected(Result<net::UniqueFd> fd) {
  if (state_ != State::kConnecting) return;
  if (!fd.ok()) {
    MQ_LOG(kLogError, "Error creating bridge: %s.", fd.error().context.c_str());
    last_error_ = current_address() + ": " + fd.error().context;
    connect_failed();
    return;
  }
  const BridgeAddress& a = cfg_.addresses[address_ % cfg_.addresses.size()];
  std::unique_ptr<net::Transport> t = std::make_unique<net::TcpTransport>(
      std::move(*fd), a.host + ":" + std::to_string(a.port));
  if (tls_) t = std::make_unique<net::TlsTransport>(std::move(t), tls_, a.host);
  transport_ = std::move(t);
  framer_ = std::make_unique<codec::Framer>(cfg_.max_packet_size ? cfg_.max_packet_size
                                                                 : codec::Framer::kProtocolMaxPacketSize);
  out_.clear();
  interest_ = transport_->wanted_events(true, true);
  if (Status st = loop_.add(transport_->fd(), interest_, this); !st.ok()) {
    MQ_LOG(kLogError, "Error creating bridge: %s.", st.error().context.c_str());
    close_transport();
    connect_failed();
    return;
  }
  // The remote has one keep-alive interval to complete the handshake and answer CONNECT.
  keepalive_timer_ = loop_.add_timer_in(int64_t(cfg_.keepalive) * 1000, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });
  state_ = State::kHandshake;
  if (transport_->handshake_done()) begin_mqtt();
}

void Bridge::begin_mqtt() {
  proto::ConnectRequest r;
  r.version = version_;
  r.bridge = try_private_;
  r.clean_start = cfg_.clean_start;
  r.keep_alive = cfg_.keepalive;
  r.client_id = cfg_.remote_clientid;
  if (!cfg_.remote_username.empty()) r.username = cfg_.remote_username;
  if (!cfg_.remote_password.empty()) r.password = cfg_.remote_password;
  if (cfg_.notifications && !cfg_.notifications_local_only)
    r.will = proto::WillRequest{notification_topic_, "0", 1, true, {}};
  if (cfg_.max_packet_size) r.properties.maximum_packet_size = cfg_.max_packet_size;
  MQ_LOG(kLogDebug, "Bridge %s sending CONNECT", cfg_.remote_clientid.c_str());
  state_ = State::kAwaitConnack;
  send(r.packet());
  write_out();
}

void Bridge::connect_failed() {
  state_ = State::kIdle;
  address_ = (address_ + 1) % cfg_.addresses.size();
  if (address_ == 0 && cfg_.start_type == BridgeStartType::kOnce) {
    MQ_LOG(kLogNotice, "Bridge %s: start_type once, not retrying.", cfg_.name.c_str());
    return;
  }
  // Every address tried once: wait before the next round (at once while some are left).
  schedule_restart(address_ == 0 ? next_delay_ms() : 0);
}

void Bridge::lost(const char* log_text) {
  if (state_ == State::kStopped || state_ == State::kIdle) return;
  bool was_connected = state_ == State::kConnected;
  cancel_primary_retry();
  if (log_text) {
    MQ_LOG(kLogNotice, "%s", log_text);
    last_error_ = current_address() + ": " + log_text;
  }
  close_transport();
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  if (idle_timer_) loop_.cancel_timer(idle_timer_);
  keepalive_timer_ = idle_timer_ = 0;
  state_ = State::kIdle;
  if (was_connected && cfg_.notifications) notify_local('0');  // as the bridge's local will
  if (lazy() && flow_.queue.size() < size_t(cfg_.threshold)) return;  // until enough is queued
  if (cfg_.start_type == BridgeStartType::kOnce) {
    MQ_LOG(kLogNotice, "Bridge %s: start_type once, not reconnecting.", cfg_.name.c_str());
    return;
  }
  if (was_connected) {
    backoff_ms_ = 0;
    // The primary address first again (round_robin: the next one).
    address_ = cfg_.round_robin ? (address_ + 1) % cfg_.addresses.size() : 0;
    schedule_restart(next_delay_ms());
  } else {
    connect_failed();
  }
}

void Bridge::lost_client(const char* what) {
  std::string text = "Client " + cfg_.local_clientid + " " + what;
  lost(text.c_str());
}

void Bridge::close_transport() {
  if (transport_) {
    if (transport_->fd() >= 0) loop_.remove(transport_->fd());
    transport_->shutdown();
    transport_->close();
    transport_.reset();
  }
  framer_.reset();
  out_.clear();
  dirty_ = false;
  interest_ = 0;
  endpoint_.on_closed();  // the remote's limits go with the connection; the queue stays
}

void Bridge::schedule_restart(int64_t delay_ms) {
  if (state_ == State::kStopped) return;
  if (restart_timer_) loop_.cancel_timer(restart_timer_);
  restart_timer_ = loop_.add_timer_in(delay_ms, [this] {
    restart_timer_ = 0;
    connect();
  });
}

int64_t Bridge::next_delay_ms() {
  if (cfg_.restart_constant) return int64_t(cfg_.restart_timeout) * 1000;
  // Decorrelated jitter (Mosquitto's backoff): between the base and three times the last
  // delay, capped.
  int64_t base = int64_t(cfg_.backoff_base) * 1000, cap = int64_t(cfg_.backoff_cap) * 1000;
  int64_t hi = std::max(base, backoff_ms_ * 3);
  static std::minstd_rand rng{std::random_device{}()};
  int64_t d = base + int64_t(rng() % uint64_t(hi - base + 1));
  backoff_ms_ = std::min(cap, d);
  return backoff_ms_;
}

void Bridge::idle_tick() {
  idle_timer_ = 0;
  if (state_ != State::kConnected) return;
  int64_t idle_ms = int64_t(cfg_.idle_timeout) * 1000;
  int64_t quiet = loop_.now_ms() - last_activity_ms_;
  if (quiet < idle_ms) {
    idle_timer_ = loop_.add_timer_in(idle_ms - quiet, [this] { idle_tick(); });
    return;
  }
  MQ_LOG(kLogNotice, "Bridge %s reached idle_timeout, disconnecting.", cfg_.name.c_str());
  send(codec::Disconnect{});
  write_out();
  if (state_ != State::kConnected) return;  // the write failed: lost() ran
  cancel_primary_retry();
  close_transport();
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  keepalive_timer_ = 0;
  state_ = State::kIdle;
  if (cfg_.notifications) notify_local('0');
}

void Bridge::keepalive_tick() {
  if (state_ != State::kConnected) {
    lost("Bridge connection timed out.");  // no CONNACK within the keep alive
    return;
  }
  // A ping every interval; no PINGRESP within one means the remote is gone.
  if (!endpoint_.on_keepalive_timer(loop_.now_ms())) {
    lost_client("has exceeded timeout, disconnecting.");
    return;
  }
  keepalive_timer_ = loop_.add_timer_in(int64_t(cfg_.keepalive) * 1000, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });
}

// --- I/O -------------------------------------------------------------------------------------

void Bridge::on_io(uint32_t events) {
  if (!transport_) return;
  if (state_ == State::kHandshake) {
    net::IoResult r = transport_->handshake();
    if (r.status == net::IoStatus::kError || r.status == net::IoStatus::kClosed) {
      std::string text = "Bridge " + cfg_.name + ": " + transport_->name() + " handshake failed: " +
                         transport_->error_text(r) + ".";
      lost(text.c_str());
      return;
    }
    if (!transport_->handshake_done()) {
      update_interest();
      return;
    }
    begin_mqtt();
    if (!transport_) return;
    events |= EPOLLIN;
  }
  if (events & EPOLLOUT) {
    write_out();
    if (!transport_) return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) read();
}

void Bridge::read() {
  for (int i = 0; transport_; i++) {
    if (i >= 4 && !transport_->has_buffered_input()) break;
    std::span<char> space = framer_->prepare(kReadChunk);
    net::IoResult r = transport_->read(space.data(), space.size());
    if (r.status == net::IoStatus::kWouldBlock) break;
    if (r.status != net::IoStatus::kOk) {
      lost_client("closed its connection.");
      return;
    }
    framer_->commit(r.bytes);
    for (;;) {
      auto frame = framer_->next();
      if (!frame.ok()) {
        MQ_LOG(kLogDebug, "Bad packet from bridge %s: %s", cfg_.name.c_str(),
               frame.error().context.c_str());
        lost_client("closed its connection.");
        return;
      }
      if (!frame->has_value()) break;
      handle_frame((*frame)->fixed_header, (*frame)->body);
      if (!transport_) return;  // dropped by the handler
    }
    if (r.bytes < space.size() && !transport_->has_buffered_input()) break;
  }
  if (framer_) framer_->release_if_empty();
}

void Bridge::write_out() {
  if (!transport_ || state_ == State::kHandshake) return;
  dirty_ = false;
  net::IoResult r = out_.write_to(*transport_);
  if (r.status == net::IoStatus::kError || r.status == net::IoStatus::kClosed) {
    lost_client("closed its connection.");
    return;
  }
  update_interest();
}

void Bridge::update_interest() {
  if (!transport_) return;
  uint32_t want = transport_->wanted_events(true, !out_.empty());
  if (want != interest_) {
    interest_ = want;
    (void)loop_.modify(transport_->fd(), want);
  }
}

void Bridge::send(const codec::Packet& packet) {
  if (!transport_) return;
  scratch_.clear();
  if (!codec::encode(packet, version_, scratch_).ok()) return;
  out_.append(scratch_);
  dirty_ = true;
}

// --- packets from the remote -----------------------------------------------------------------

void Bridge::handle_frame(uint8_t fixed_header, std::string_view body) {
  auto type = PacketType(fixed_header >> 4);
  auto r = codec::decode(fixed_header, body, version_, codec::Direction::kServerToClient);
  if (!r.ok()) {
    MQ_LOG(kLogDebug, "Bad packet from bridge %s: %s", cfg_.name.c_str(), r.error().context.c_str());
    lost_client("closed its connection.");
    return;
  }
  if (state_ == State::kAwaitConnack) {
    if (type != PacketType::kConnack) {
      lost_client("closed its connection.");
      return;
    }
    handle_connack(std::get<codec::Connack>(*r));
    return;
  }
  switch (type) {
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubcomp: {
      uint16_t id = 0;
      ReasonCode rc = ReasonCode::kSuccess;
      std::visit([&](const auto& a) {
        if constexpr (requires { a.reason_code; a.packet_id; }) {
          id = a.packet_id;
          rc = a.reason_code;
        }
      }, *r);
      MQ_LOG(kLogDebug, "Received %s from %s (Mid: %u, RC:%u)", codec::packet_type_name(type),
             cfg_.local_clientid.c_str(), unsigned(id), unsigned(rc));
      break;
    }
    case PacketType::kSuback:
      MQ_LOG(kLogDebug, "Received SUBACK from %s", cfg_.local_clientid.c_str());
      return;
    case PacketType::kUnsuback:
      MQ_LOG(kLogDebug, "Received UNSUBACK from %s", cfg_.local_clientid.c_str());
      return;
    case PacketType::kDisconnect:
      lost_client("disconnected.");
      return;
    default: break;
  }
  // PUBLISH, its acknowledgements and PINGRESP: the protocol endpoint's (Sink carries out what
  // it asks); anything else ends the connection.
  if (!endpoint_.on_packet(*r, loop_.now_ms())) lost_client("closed its connection.");
}

void Bridge::handle_connack(const codec::Connack& c) {
  MQ_LOG(kLogDebug, "Received CONNACK on connection %s.", cfg_.local_clientid.c_str());
  uint8_t rc = uint8_t(c.reason_code);
  if (rc != 0) {
    if (version_ != ProtocolVersion::kV5 && rc == 1 && try_private_) {
      // The remote does not know the bridge bit: try again at once without it (Mosquitto).
      try_private_ = false;
      close_transport();
      if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
      keepalive_timer_ = 0;
      state_ = State::kIdle;
      schedule_restart(0);
      return;
    }
    std::string text = version_ == ProtocolVersion::kV5
                           ? std::string("Connection Refused: ") + codec::reason_code_name(c.reason_code)
                           : std::string(connack_text(rc));
    lost(text.c_str());
    return;
  }
  state_ = State::kConnected;
  backoff_ms_ = 0;
  last_activity_ms_ = loop_.now_ms();
  arm_primary_retry();
  if (lazy()) {
    idle_timer_ = loop_.add_timer_in(int64_t(cfg_.idle_timeout) * 1000, [this] { idle_tick(); });
  }
  link_.peer_receive_maximum = c.properties.receive_maximum.value_or(65535);
  link_.peer_maximum_packet_size = c.properties.maximum_packet_size.value_or(0);
  link_.own_inflight_limit = broker_.config().max_inflight_messages;
  // Re-arm the timer as the keep alive (it was the CONNACK timeout).
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  keepalive_timer_ = loop_.add_timer_in(int64_t(cfg_.keepalive) * 1000, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });

  // What was in flight goes again once the notification and the SUBSCRIBEs are out
  // [MQTT-4.4.0-1]: with DUP (PUBREL once PUBRECed) when the remote kept the session, else from
  // scratch ahead of the queue (a PUBREL for a message it never saw is dropped), and the
  // remote's QoS 2 state is forgotten (proto::kBridgePolicy); then the queue is pumped.
  endpoint_.on_connected(c.session_present, [this] {
    if (cfg_.notifications) {
      if (!cfg_.notifications_local_only) {
        Out n;
        n.msg = make_local(notification_topic_, "1", 1, true, {});
        n.topic = notification_topic_;
        n.qos = 1;
        n.retain = true;
        endpoint_.publish_now(std::move(n));
      }
      notify_local('1');
    }
    subscribe_remote();
  });
  // Retained messages for the out topics, as a new local subscription gets them.
  for (const BridgeTopic& t : cfg_.topics) {
    if (!is_out(t.direction)) continue;
    std::vector<MessagePtr> found;
    broker_.retained().match(t.local_topic, [&](const MessagePtr& m) { found.push_back(m); });
    for (const MessagePtr& m : found) forward(m, true);
  }
}

// For the in/both topics a remote SUBSCRIBE, for the others an UNSUBSCRIBE when asked to.
void Bridge::subscribe_remote() {
  for (const BridgeTopic& t : cfg_.topics) {
    if (is_in(t.direction)) {
      codec::Subscribe s;
      s.packet_id = flow_.next_packet_id();
      codec::Subscription sub;
      sub.filter = t.remote_topic;
      sub.qos = t.qos;
      if (version_ == ProtocolVersion::kV5) {
        // The remote must not send our own messages back (try_private does it before MQTT 5).
        sub.no_local = true;
        sub.retain_as_published = true;
      }
      s.subscriptions.push_back(sub);
      MQ_LOG(kLogDebug, "Bridge %s sending SUBSCRIBE (Mid: %u, Topic: %s, QoS: %u, Options: 0x%02x)",
             cfg_.local_clientid.c_str(), unsigned(s.packet_id), t.remote_topic.c_str(),
             unsigned(t.qos), unsigned((sub.no_local ? 0x04 : 0) | (sub.retain_as_published ? 0x08 : 0)));
      send(s);
    } else if (cfg_.attempt_unsubscribe) {
      codec::Unsubscribe u;
      u.packet_id = flow_.next_packet_id();
      u.filters.push_back(t.remote_topic);
      MQ_LOG(kLogDebug, "Bridge %s sending UNSUBSCRIBE (Mid: %u, Topic: %s)",
             cfg_.local_clientid.c_str(), unsigned(u.packet_id), t.remote_topic.c_str());
      send(u);
    }
  }
}

}  // namespace mq::broker
