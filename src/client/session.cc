// Session: the client side of one MQTT connection (see session.h). Output is coalesced in out_
// and written once per loop iteration by a before-sleep hook; EPOLLOUT is armed only while
// bytes remain after a short write.
#include "client/session.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <span>

#include "codec/decode.h"
#include "codec/encode.h"
#include "net/tcp_transport.h"
#include "net/tls_transport.h"

namespace mq::client {

namespace {
constexpr size_t kReadChunk = 16 * 1024;
// libmosquitto's error numbers and mosquitto_strerror texts for a lost connection.
constexpr int kProtocolError = 2;   // MOSQ_ERR_PROTOCOL
constexpr int kConnLost = 7;        // MOSQ_ERR_CONN_LOST
constexpr int kErrno = 14;          // MOSQ_ERR_ERRNO
constexpr const char* kProtocolErrorText =
    "A network protocol error occurred when communicating with the broker.";
constexpr const char* kConnLostText = "The connection was lost.";
}  // namespace

Session::Session(net::EventLoop& loop, SessionConfig config, SessionListener& listener)
    : loop_(loop), config_(std::move(config)), listener_(listener), client_id_(config_.request.client_id) {
  link_.own_inflight_limit = config_.max_inflight;
  flush_hook_ = loop_.add_before_sleep([this] { flush(); });
}

Session::~Session() {
  loop_.remove_before_sleep(flush_hook_);
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  if (transport_) {
    loop_.remove(transport_->fd());
    transport_->close();
  }
}

void Session::debug(const char* fmt, ...) {
  if (!config_.debug) return;
  va_list ap;
  va_start(ap, fmt);
  printf("Client %s ", debug_id());
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
}

Status Session::connect() {
  Result<net::UniqueFd> fd = net::connect_blocking(config_.connect);
  if (!fd) return fd.error();
  if (config_.proxy) {
    Status s = net::socks5_connect_blocking(fd->get(), *config_.proxy, config_.connect.timeout_ms);
    if (!s) return s;
  }
  int raw = fd->get();
  bool is_unix = !config_.connect.unix_path.empty();
  std::unique_ptr<net::Transport> t = std::make_unique<net::TcpTransport>(std::move(*fd), "", is_unix);
  if (config_.tls) {
    t = std::make_unique<net::TlsTransport>(std::move(t), config_.tls, config_.tls_server_name);
  }
  if (config_.ws) t = std::make_unique<net::WebSocketTransport>(std::move(t), *config_.ws);
  if (!t->handshake_done()) {
    if (Status s = net::handshake_blocking(*t, config_.connect.timeout_ms); !s) return s;
  }
  transport_ = std::move(t);
  if (Status s = loop_.add(raw, EPOLLIN, this); !s) return s;
  state_ = State::kConnecting;
  link_.reset();
  // No maximum is checked on incoming aliases: libmosquitto takes any alias the broker sends.
  link_.inbound_alias_maximum = 65535;
  link_.keep_alive_s = config_.request.keep_alive;
  framer_ = std::make_unique<codec::Framer>();

  debug("sending CONNECT");
  send(config_.request.packet());
  arm_keepalive();
  return Status();
}

uint16_t Session::next_mid() {
  if (++last_mid_ == 0) last_mid_ = 1;
  return last_mid_;
}

void Session::send(const codec::Packet& p) {
  if (!transport_ || state_ == State::kClosing) return;
  Status s = codec::encode(p, config_.request.version, out_);
  (void)s;  // sizes were checked when the options were parsed
  link_.last_send_ms = loop_.now_ms();
}

// --- what the protocol endpoint asks for ---------------------------------------------------------

void Session::Sink::send(const codec::Packet& p) {
  switch (codec::packet_type(p)) {
    case codec::PacketType::kPuback: {
      const auto& a = std::get<codec::Puback>(p);
      s.debug("sending PUBACK (m%d, rc%d)", a.packet_id, int(a.reason_code));
      break;
    }
    case codec::PacketType::kPubrec: {
      const auto& a = std::get<codec::Pubrec>(p);
      s.debug("sending PUBREC (m%d, rc%d)", a.packet_id, int(a.reason_code));
      break;
    }
    case codec::PacketType::kPubrel:
      s.debug("sending PUBREL (m%d)", std::get<codec::Pubrel>(p).packet_id);
      break;
    case codec::PacketType::kPubcomp:
      s.debug("sending PUBCOMP (m%d)", std::get<codec::Pubcomp>(p).packet_id);
      break;
    case codec::PacketType::kPingreq: s.debug("sending PINGREQ"); break;
    default: break;
  }
  s.send(p);
}

bool Session::Sink::send_publish(Outgoing& o, const proto::PublishOut& out) {
  codec::Publish p;
  p.topic = o.topic;
  p.payload = o.payload;
  p.qos = out.qos;
  p.retain = o.retain;
  p.dup = out.dup;
  p.packet_id = out.packet_id;
  if (o.held) p.properties = o.held->properties;
  s.debug("sending PUBLISH (d%d, q%d, r%d, m%d, '%s', ... (%zu bytes))", out.dup ? 1 : 0, o.qos,
          o.retain ? 1 : 0, o.packet_id, o.topic.c_str(), o.payload.size());
  s.send(p);
  return true;  // the client sets no Maximum Packet Size on what it sends
}

void Session::Sink::received(const codec::Publish& p, std::string_view topic) {
  s.debug("received PUBLISH (d%d, q%d, r%d, m%d, '%.*s', ... (%zu bytes))", p.dup ? 1 : 0, p.qos,
          p.retain ? 1 : 0, p.packet_id, int(topic.size()), topic.data(), p.payload.size());
}

void Session::Sink::deliver(const codec::Publish& p, std::string_view topic) {
  ReceivedMessage m{topic, p.payload, p.qos, p.retain, p.packet_id, p.properties.raw};
  s.listener_.on_message(m);
}

// QoS 2 is delivered on PUBREL, as libmosquitto does: keep a copy until then.
Session::Incoming Session::Sink::hold(const codec::Publish& p, std::string_view topic) {
  return Incoming{std::string(topic), std::string(p.payload), std::string(p.properties.raw), 2,
                  p.retain, p.packet_id};
}

void Session::Sink::deliver_held(uint16_t, Incoming& in) {
  ReceivedMessage m{in.topic, in.payload, in.qos, in.retain, in.mid, in.properties};
  s.listener_.on_message(m);
}

void Session::Sink::finished(Outgoing& o, proto::Finish why) {
  // QoS 0 is reported by publish() itself, whether or not it could be sent.
  if (why == proto::Finish::kAcknowledged) s.listener_.on_published(o.packet_id);
}

void Session::Sink::protocol_error(codec::ReasonCode) { s.lose(kProtocolError, kProtocolErrorText); }

// --- the client's calls ----------------------------------------------------------------------

uint16_t Session::publish(std::string_view topic, std::string_view payload, uint8_t qos,
                          bool retain, const codec::Properties& properties) {
  Outgoing o;
  o.packet_id = next_mid();
  o.topic = std::string(topic);
  o.payload = std::string(payload);
  o.qos = qos;
  o.retain = retain;
  // Copy the property strings so the message may wait in the queue.
  if (!properties.empty()) {
    o.held = std::make_unique<HeldProperties>();
    codec::Properties& props = o.held->properties;
    std::vector<std::string>& storage = o.held->storage;
    props = properties;
    storage.reserve(4 + properties.user_properties.size() * 2);
    auto keep = [&storage](std::optional<std::string_view>& v) {
      if (v) v = storage.emplace_back(*v);
    };
    keep(props.content_type);
    keep(props.response_topic);
    keep(props.correlation_data);
    for (auto& [k, v] : props.user_properties) {
      k = storage.emplace_back(k);
      v = storage.emplace_back(v);
    }
    props.raw = {};
  }
  uint16_t mid = o.packet_id;
  // QoS 1/2 wait for room in the window, or for the next CONNACK while not connected. After
  // a reconnect what was in flight goes again with DUP set, PUBREL for those already PUBRECed,
  // as libmosquitto's message__retry_check does whether or not the broker kept the session.
  if (qos > 0 || connected()) endpoint_.publish(std::move(o));
  if (qos == 0) loop_.post([this, mid] { listener_.on_published(mid); });
  return mid;
}

uint16_t Session::subscribe(const std::vector<std::string>& filters, uint8_t qos, uint8_t options,
                            const codec::Properties& properties) {
  codec::Subscribe s;
  s.packet_id = next_mid();
  s.properties = properties;
  for (const std::string& f : filters) {
    codec::Subscription sub;
    sub.filter = f;
    sub.qos = qos;
    sub.no_local = options & 0x04;
    sub.retain_as_published = options & 0x08;
    sub.retain_handling = uint8_t((options >> 4) & 0x03);
    s.subscriptions.push_back(sub);
    debug("sending SUBSCRIBE (Mid: %d, Topic: %s, QoS: %d, Options: 0x%02x)", s.packet_id,
          f.c_str(), qos, options);
  }
  send(s);
  return s.packet_id;
}

uint16_t Session::unsubscribe(const std::string& filter, const codec::Properties& properties) {
  codec::Unsubscribe u;
  u.packet_id = next_mid();
  u.properties = properties;
  u.filters.push_back(filter);
  debug("sending UNSUBSCRIBE (Mid: %d, Topic: %s)", u.packet_id, filter.c_str());
  send(u);
  return u.packet_id;
}

void Session::disconnect(uint8_t reason, const codec::Properties& properties) {
  if (!transport_) return;
  if (state_ != State::kClosing) {
    codec::Disconnect d;
    d.reason_code = codec::ReasonCode(reason);
    d.properties = properties;
    debug("sending DISCONNECT");
    send(d);
  }
  state_ = State::kClosing;
  link_.connected = false;  // nothing more is published
  close_pending_ = true;
  flush();
}

void Session::flush() {
  if (!transport_) return;
  while (!out_.empty()) {
    iovec iov{out_.data(), out_.size()};
    net::IoResult r = transport_->writev(&iov, 1);
    if (r.status == net::IoStatus::kOk) {
      out_.erase(0, r.bytes);
      continue;
    }
    if (r.status == net::IoStatus::kWouldBlock) break;
    lose_io(r);
    return;
  }
  if (out_.empty()) {
    // A TLS record tail or a WebSocket control frame the layer still holds.
    net::IoResult r = transport_->flush();
    if (r.status == net::IoStatus::kError) {
      lose_io(r);
      return;
    }
  }
  if (out_.empty() && close_pending_) {
    close_now(true, "");
    return;
  }
  update_events();
}

void Session::update_events() {
  if (!transport_) return;
  Status s = loop_.modify(transport_->fd(), transport_->wanted_events(true, !out_.empty()));
  (void)s;
}

void Session::on_io(uint32_t events) {
  if (!transport_) return;
  if (events & EPOLLOUT) flush();
  if (transport_ && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_input();
}

void Session::read_input() {
  while (transport_) {
    std::span<char> buf = framer_->prepare(kReadChunk);
    net::IoResult r = transport_->read(buf.data(), buf.size());
    if (r.status == net::IoStatus::kWouldBlock) break;
    if (r.status == net::IoStatus::kClosed) {
      if (close_pending_) close_now(true, "");
      else lose(kConnLost, kConnLostText);
      return;
    }
    if (r.status == net::IoStatus::kError) {
      lose_io(r);
      return;
    }
    framer_->commit(r.bytes);
    for (;;) {
      Result<std::optional<codec::Frame>> f = framer_->next();
      if (!f) {
        lose(kProtocolError, kProtocolErrorText);
        return;
      }
      if (!*f) break;
      Result<codec::Packet> p = codec::decode((*f)->fixed_header, (*f)->body, config_.request.version,
                                              codec::Direction::kServerToClient);
      if (!p) {
        lose(kProtocolError, kProtocolErrorText);
        return;
      }
      handle(*p);
      if (!transport_) return;
    }
  }
}

void Session::handle(const codec::Packet& packet) {
  using codec::PacketType;
  switch (codec::packet_type(packet)) {
    case PacketType::kConnack: {
      const auto& c = std::get<codec::Connack>(packet);
      uint8_t rc = uint8_t(c.reason_code);
      if (c.properties.assigned_client_identifier)
        client_id_ = std::string(*c.properties.assigned_client_identifier);
      if (c.properties.receive_maximum) link_.peer_receive_maximum = *c.properties.receive_maximum;
      if (c.properties.server_keep_alive) {
        config_.request.keep_alive = *c.properties.server_keep_alive;
        link_.keep_alive_s = config_.request.keep_alive;
        arm_keepalive();
      }
      debug("received CONNACK (%d)", rc);
      if (rc == 0) {
        state_ = State::kConnected;
        // What was in flight goes again now; the waiting queue after the listener has seen
        // the CONNACK (and perhaps published).
        endpoint_.on_connected(c.session_present, [] {}, false);
      }
      listener_.on_connack(rc, c);
      if (rc == 0) endpoint_.pump();
      return;
    }
    case PacketType::kPuback: {
      const auto& a = std::get<codec::Puback>(packet);
      debug("received PUBACK (Mid: %d, RC:%d)", a.packet_id, int(a.reason_code));
      break;
    }
    case PacketType::kPubrec:
      debug("received PUBREC (Mid: %d)", std::get<codec::Pubrec>(packet).packet_id);
      break;
    case PacketType::kPubcomp: {
      const auto& a = std::get<codec::Pubcomp>(packet);
      debug("received PUBCOMP (Mid: %d, RC:%d)", a.packet_id, int(a.reason_code));
      break;
    }
    case PacketType::kPubrel:
      debug("received PUBREL (Mid: %d)", std::get<codec::Pubrel>(packet).packet_id);
      break;
    case PacketType::kPingresp: debug("received PINGRESP"); break;
    case PacketType::kSuback: {
      const auto& s = std::get<codec::Suback>(packet);
      debug("received SUBACK");
      listener_.on_suback(s.packet_id, s.reason_codes);
      return;
    }
    case PacketType::kUnsuback: {
      const auto& u = std::get<codec::Unsuback>(packet);
      debug("received UNSUBACK");
      listener_.on_unsuback(u.packet_id);
      return;
    }
    case PacketType::kDisconnect: {
      const auto& d = std::get<codec::Disconnect>(packet);
      debug("received DISCONNECT (%d)", int(d.reason_code));
      lose(kConnLost, reason_string_v5(uint8_t(d.reason_code)));
      return;
    }
    default: break;
  }
  // PUBLISH, its acknowledgements and PINGRESP: the protocol endpoint's (which sends what
  // they ask for and calls the listener through Sink); anything else is a protocol error.
  if (!endpoint_.on_packet(packet, loop_.now_ms())) lose(kProtocolError, kProtocolErrorText);
}

void Session::arm_keepalive() {
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  keepalive_timer_ = 0;
  if (config_.request.keep_alive == 0 || !transport_) return;
  keepalive_timer_ = loop_.add_timer(endpoint_.keepalive_due_ms(0), [this] {
    keepalive_timer_ = 0;
    if (!transport_) return;
    if (!endpoint_.on_keepalive_timer(loop_.now_ms())) {  // PINGREQ went unanswered
      lose(kConnLost, kConnLostText);
      return;
    }
    arm_keepalive();
  });
}

void Session::lose(int code, const std::string& why) {
  loss_code_ = code;
  close_now(false, why);
}

// libmosquitto's packet__read / packet__write: ECONNRESET is a lost connection, any other
// socket error MOSQ_ERR_ERRNO with strerror's text.
void Session::lose_io(const net::IoResult& r) {
  if (r.sys_errno == ECONNRESET) lose(kConnLost, kConnLostText);
  else lose(kErrno, transport_->error_text(r));
}

void Session::close_now(bool requested, const std::string& why) {
  if (!transport_) return;
  loop_.remove(transport_->fd());
  transport_->close();
  transport_.reset();
  out_.clear();
  close_pending_ = false;
  state_ = State::kIdle;
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  keepalive_timer_ = 0;
  endpoint_.on_closed();  // libmosquitto forgets the incoming QoS 2 state with the connection
  listener_.on_closed(requested, why);
}

std::string connect_error_text(const Error& e) {
  const std::string& c = e.context;
  if (c.rfind("cannot resolve", 0) == 0 || c.rfind("no usable address", 0) == 0)
    return "Unable to connect (Lookup error.).\n";
  // Socket errors print as Mosquitto's do ("Error: Connection refused"); proxy, TLS and
  // WebSocket errors keep their whole text, which says which layer failed.
  size_t colon = c.rfind(": ");
  bool socket_error = e.kind == ErrorKind::kIo;
  std::string text = colon == std::string::npos || !socket_error ? c : c.substr(colon + 2);
  if (text == "timed out") text = "Connection timed out";
  return "Error: " + text + "\n";
}

const char* connack_string_v3(uint8_t code) {
  switch (code) {
    case 0: return "Connection Accepted.";
    case 1: return "Connection Refused: unacceptable protocol version.";
    case 2: return "Connection Refused: identifier rejected.";
    case 3: return "Connection Refused: broker unavailable.";
    case 4: return "Connection Refused: bad user name or password.";
    case 5: return "Connection Refused: not authorised.";
    default: return "Connection Refused: unknown reason.";
  }
}

const char* reason_string_v5(uint8_t code) {
  switch (code) {
    case 0x00: return "Success";
    case 0x04: return "Disconnect with Will Message";
    case 0x80: return "Unspecified error";
    case 0x81: return "Malformed Packet";
    case 0x82: return "Protocol Error";
    case 0x83: return "Implementation specific error";
    case 0x84: return "Unsupported Protocol Version";
    case 0x85: return "Client Identifier not valid";
    case 0x86: return "Bad User Name or Password";
    case 0x87: return "Not authorized";
    case 0x88: return "Server unavailable";
    case 0x89: return "Server busy";
    case 0x8A: return "Banned";
    case 0x8B: return "Server shutting down";
    case 0x8C: return "Bad authentication method";
    case 0x8D: return "Keep Alive timeout";
    case 0x8E: return "Session taken over";
    case 0x95: return "Packet too large";
    case 0x97: return "Quota exceeded";
    case 0x98: return "Administrative action";
    case 0x9C: return "Use another server";
    case 0x9D: return "Server moved";
    case 0x9F: return "Connection rate exceeded";
    default: return "Unknown reason";
  }
}

}  // namespace mq::client
