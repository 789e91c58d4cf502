// Session: one MQTT client connection driven by an EventLoop, the engine behind pub, sub and rr.
// It connects (blocking, as a CLI's first step), sends CONNECT, keeps the connection alive with
// PINGREQ, runs the QoS 1 and 2 flows both ways (outgoing messages beyond the in-flight limit wait
// in a queue; incoming QoS 2 messages are delivered on PUBREL, as libmosquitto does), resolves
// incoming topic aliases and reports events to a SessionListener. With `debug` it prints
// libmosquitto's "Client <id> sending ..." lines on stdout. A lost connection keeps the
// outgoing QoS 1/2 state: after connect() again, the messages that were in flight go again
// with DUP set (PUBREL for those already PUBRECed) once CONNACK arrives, as libmosquitto does
// for a clean session too.
// Ownership: the Session owns its transport and copies of everything it must keep; the listener
// and loop outlive it. Listener callbacks run on the loop and may call back into the Session.
// Single-threaded: use on the loop's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "client/format.h"
#include "codec/framer.h"
#include "codec/packet.h"
#include "net/connect.h"
#include "net/loop.h"
#include "net/socks5.h"
#include "net/tls_context.h"
#include "net/ws_transport.h"
#include "net/transport.h"
#include "proto/connect_request.h"
#include "proto/endpoint.h"

namespace mq::client {

struct SessionConfig {
  net::ConnectOptions connect;
  std::optional<net::Socks5Request> proxy;  // connect through this SOCKS5 proxy (connect.host)
  std::shared_ptr<const net::TlsContext> tls;  // null: no TLS
  std::string tls_server_name;                 // the broker's name for SNI and verification
  std::optional<net::WebSocketClientOptions> ws;  // MQTT over WebSockets (over TLS with `tls`)
  // Version, client id (empty: the broker assigns one), clean start, keep alive, credentials,
  // will and MQTT 5 properties (views into storage that outlives the Session).
  proto::ConnectRequest request;
  unsigned max_inflight = 20;
  bool debug = false;
};

class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // CONNACK arrived; reason is the v5 reason code or the v3 return code.
  virtual void on_connack(uint8_t reason, const codec::Connack& connack) = 0;
  virtual void on_message(const ReceivedMessage& message) = 0;
  virtual void on_suback(uint16_t /*mid*/, const std::vector<codec::ReasonCode>& /*codes*/) {}
  virtual void on_unsuback(uint16_t /*mid*/) {}
  // A publish completed: QoS 0 once queued for writing, QoS 1 on PUBACK, QoS 2 on PUBCOMP.
  virtual void on_published(uint16_t /*mid*/) {}
  // The connection is gone: `requested` after our own disconnect(), else lost (`why`; see
  // Session::loss_code()). The Session may connect() again, keeping its outgoing messages.
  virtual void on_closed(bool requested, const std::string& why) = 0;
};

class Session final : public net::IoHandler {
 public:
  Session(net::EventLoop& loop, SessionConfig config, SessionListener& listener);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects the socket (blocking) and queues CONNECT. Error text as Mosquitto prints it.
  // REQUIRES: !open() (first call, or after on_closed).
  [[nodiscard]] Status connect();

  // Returns the packet identifier (libmosquitto's "mid"; QoS 0 messages get one too). QoS 1/2
  // messages published while not connected wait for the next CONNACK; QoS 0 ones are dropped
  // (libmosquitto's publish fails with MOSQ_ERR_NO_CONN), reported through on_published.
  uint16_t publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                   const codec::Properties& properties);
  uint16_t subscribe(const std::vector<std::string>& filters, uint8_t qos, uint8_t options,
                     const codec::Properties& properties);
  uint16_t unsubscribe(const std::string& filter, const codec::Properties& properties);
  // Queues DISCONNECT and closes once it is written; on_closed(true) follows.
  void disconnect(uint8_t reason, const codec::Properties& properties);

  bool connected() const { return state_ == State::kConnected; }
  bool open() const { return transport_ != nullptr; }
  // Outgoing QoS > 0 messages not yet completed (in flight + waiting).
  size_t unfinished_publishes() const { return flow_.inflight.size() + flow_.queue.size(); }
  const std::string& client_id() const { return client_id_; }
  // Why the last connection was lost, as libmosquitto's error number (what mosquitto_pub exits
  // with): 7 MOSQ_ERR_CONN_LOST, 2 MOSQ_ERR_PROTOCOL, 14 MOSQ_ERR_ERRNO (a socket error).
  int loss_code() const { return loss_code_; }
  codec::ProtocolVersion version() const { return config_.request.version; }

  void on_io(uint32_t events) override;

 private:
  enum class State : uint8_t { kIdle, kConnecting, kConnected, kClosing };
  // A message's MQTT 5 properties with copies of the strings they point into, on the heap so
  // that the views stay valid while the entry moves between queue and window.
  struct HeldProperties {
    codec::Properties properties;
    std::vector<std::string> storage;
  };
  struct Outgoing {
    uint16_t packet_id = 0;  // libmosquitto's mid, given when the message is published
    uint8_t qos = 0;
    bool retain = false;
    bool pubrec_received = false;  // PUBREL sent, PUBCOMP awaited
    bool dup = false;              // sent on an earlier connection
    std::string topic, payload;
    std::unique_ptr<HeldProperties> held;
  };
  struct Incoming {
    std::string topic, payload, properties;
    uint8_t qos = 2;
    bool retain = false;
    uint16_t mid = 0;
  };

  // What the protocol endpoint asks of the Session (proto/endpoint.h): packets to write with
  // their debug lines, messages for the listener.
  struct Sink {
    using Entry = Outgoing;
    using Held = Incoming;
    Session& s;
    void send(const codec::Packet& p);
    bool send_publish(Outgoing& o, const proto::PublishOut& out);
    void received(const codec::Publish& p, std::string_view topic);
    void deliver(const codec::Publish& p, std::string_view topic);
    Incoming hold(const codec::Publish& p, std::string_view topic);
    void deliver_held(uint16_t packet_id, Incoming& in);
    void admitted(Outgoing&) {}
    void dequeued(Outgoing&) {}
    void entered_window(Outgoing&) {}
    void released(Outgoing&) {}
    void finished(Outgoing& o, proto::Finish why);
    bool expired(const Outgoing&) { return false; }
    void protocol_error(codec::ReasonCode);
  };

  uint16_t next_mid();
  void send(const codec::Packet& p);
  void flush();
  void read_input();
  void handle(const codec::Packet& p);
  void lose(int code, const std::string& why);
  void lose_io(const net::IoResult& r);
  void close_now(bool requested, const std::string& why);
  void arm_keepalive();
  void debug(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  const char* debug_id() const { return client_id_.empty() ? "(null)" : client_id_.c_str(); }
  void update_events();

  net::EventLoop& loop_;
  SessionConfig config_;
  SessionListener& listener_;
  State state_ = State::kIdle;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<codec::Framer> framer_;
  std::string out_;
  net::HookId flush_hook_ = 0;
  net::TimerId keepalive_timer_ = 0;
  std::string client_id_;
  uint16_t last_mid_ = 0;
  proto::Outbound<Outgoing> flow_;
  proto::InboundQos2<Incoming> incoming_qos2_;  // delivered on PUBREL, as libmosquitto does
  proto::LinkState link_;  // the broker's Receive Maximum, aliases, keep-alive clock
  Sink sink_{*this};
  proto::Endpoint<Sink> endpoint_{proto::kClientPolicy, flow_, incoming_qos2_, link_, sink_};
  bool close_pending_ = false;
  int loss_code_ = 0;
};

// The text Mosquitto prints when the first connect fails ("Error: Connection refused\n",
// "Unable to connect (Lookup error.).\n").
std::string connect_error_text(const Error& e);

// libmosquitto's CONNACK refusal strings: mosquitto_connack_string (v3) and
// mosquitto_reason_string (v5).
const char* connack_string_v3(uint8_t code);
const char* reason_string_v5(uint8_t code);

}  // namespace mq::client
