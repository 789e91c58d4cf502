// Bridge: one outgoing MQTT client connection to a remote broker (mosquitto.conf `connection`),
// as Mosquitto 2.0 runs it: `out` topics to the remote, `in` topics published locally, prefixes
// swapped, QoS 1/2 both ways, keep-alive, notifications, reconnects with backoff across
// `addresses` and back to the first. Messages it published locally never go back out over it.
// What it holds for the remote is bounded and, with persistence, journaled (bridge_queue.cc).
// Ownership: the Broker owns one Bridge per BridgeConfig; a Bridge owns its socket, transport,
// framer and output queue on the broker's loop, which it never blocks (only host name
// resolution is synchronous). Threading: single-threaded, on the broker loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "broker/config/config.h"
#include "broker/message.h"
#include "broker/out_queue.h"
#include "broker/persist/persist_records.h"
#include "broker/session.h"
#include "codec/framer.h"
#include "codec/packet.h"
#include "net/connect.h"
#include "net/loop.h"
#include "net/tls_context.h"
#include "net/transport.h"
#include "proto/endpoint.h"

namespace mq::broker {

class Broker;

// --- topic remapping (pure; mosquitto.conf(5) "topic" table) ---------------------------------
inline bool is_out(BridgeDirection d) {
  return d == BridgeDirection::kOut || d == BridgeDirection::kBoth;
}
inline bool is_in(BridgeDirection d) {
  return d == BridgeDirection::kIn || d == BridgeDirection::kBoth;
}
struct BridgeRoute {
  std::string topic;  // the topic on the other side
  uint8_t qos = 0;    // the bridge topic's QoS
};
// A local message going out: the first out/both topic whose local topic (local prefix + pattern)
// matches gives the remote topic (local prefix removed, remote prefix added). nullopt: no match.
std::optional<BridgeRoute> bridge_map_out(const std::vector<BridgeTopic>& topics,
                                          std::string_view local_topic);
// A message from the remote: the first in/both topic whose remote topic matches swaps the
// prefixes; a topic no in/both topic matches is kept as it is (Mosquitto's behaviour).
std::string bridge_map_in(const std::vector<BridgeTopic>& topics, std::string_view remote_topic);

class Bridge final : public net::IoHandler {
 public:
  // The TLS client context for the bridge_* TLS options; null when the bridge uses plain TCP.
  [[nodiscard]] static Result<std::shared_ptr<const net::TlsContext>> make_tls(
      const BridgeConfig& config);

  Bridge(Broker& broker, net::EventLoop& loop, BridgeConfig config,
         std::shared_ptr<const net::TlsContext> tls);
  ~Bridge() override;
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  const BridgeConfig& config() const { return cfg_; }
  bool connected() const { return state_ == State::kConnected; }
  // Held for the remote (queued and in flight, not yet acknowledged by it): count and payload
  // bytes, for $SYS and the queue bounds.
  uint64_t held_messages() const { return held_msgs_; }
  uint64_t held_bytes() const { return held_bytes_; }
  uint64_t dropped() const { return dropped_; }  // refused or dropped by the queue bounds
  const std::string& last_error() const { return last_error_; }
  std::string current_address() const;  // host:port of the address in use or being tried

  // Persistence: the queue restored at start-up (before start()); the entries a snapshot
  // stores (QoS 1/2 messages with a store id).
  void restore(std::map<uint64_t, persist::StoredBridgeOut>& stored);
  std::vector<persist::StoredBridgeOut> stored_entries();  // (Fifo has no const iteration)

  // Subscribes locally (logs it) and makes the first connection attempt.
  void start();
  // Broker shutdown: DISCONNECT to the remote, close, no reconnect.
  void stop();
  // A message routed by the broker. Returns whether an out/both topic matched (the message is
  // then sent or queued for the remote).
  bool forward(const MessagePtr& msg, bool retained_on_connect = false);
  // Writes output queued since the last call; called once per loop iteration (the broker's
  // before-sleep hook).
  void flush() {
    if (dirty_) write_out();
  }

  void on_io(uint32_t events) override;

 private:
  enum class State : uint8_t { kIdle, kConnecting, kHandshake, kAwaitConnack, kConnected, kStopped };
  // One message on its way to the remote.
  struct Out {
    MessagePtr msg;
    std::string topic;  // remapped
    uint16_t packet_id = 0;
    uint8_t qos = 0;
    bool retain = false;
    bool dup = false;
    bool pubrec_received = false;
    bool held = false;  // counted in held_msgs_/held_bytes_ (hold())
    uint32_t bytes = 0;  // payload bytes counted
    uint64_t seq = 0;    // its journal number; 0 = not journaled
  };

  void connect();
  void on_connected(Result<net::UniqueFd> fd);
  void begin_mqtt();  // transport ready: CONNECT
  void connect_failed();
  // The connection is gone (or is being dropped): close it, notify, schedule a reconnect.
  void lost(const char* log_text);
  void lost_client(const char* what);  // lost(), logged as "Client <local id> <what>"
  void close_transport();
  void schedule_restart(int64_t delay_ms);
  int64_t next_delay_ms();
  void keepalive_tick();
  void idle_tick();  // start_type lazy: disconnect after idle_timeout without messages
  bool lazy() const { return cfg_.start_type == BridgeStartType::kLazy; }

  void read();
  void handle_frame(uint8_t fixed_header, std::string_view body);
  void handle_connack(const codec::Connack& c);
  void subscribe_remote();

  // What the protocol endpoint asks of the bridge (proto/endpoint.h): packets to write,
  // messages from the remote to publish locally, the queue's bookkeeping (bridge_queue.cc).
  struct Sink {
    using Entry = Out;
    using Held = proto::NothingHeld;  // delivered on PUBLISH (method A)
    Bridge& b;
    void send(const codec::Packet& p) { b.send(p); }
    bool send_publish(Out& o, const proto::PublishOut& out);
    void received(const codec::Publish& p, std::string_view topic);
    void deliver(const codec::Publish& p, std::string_view topic);
    proto::NothingHeld hold(const codec::Publish&, std::string_view) { return {}; }
    void deliver_held(uint16_t, proto::NothingHeld&) {}
    void admitted(Out& o) { b.hold(o); }
    void dequeued(Out&) {}
    void entered_window(Out& o) { b.journal_packet_id(o); }
    void released(Out& o);
    void finished(Out& o, proto::Finish) { b.release(o); }
    bool expired(const Out& o) const;
    void protocol_error(codec::ReasonCode) { b.lost_client("closed its connection."); }
  };

  void write_out();  // writes as much of out_ as the socket takes; lost() on failure
  void send(const codec::Packet& packet);
  void queue_out(Out out);
  void update_interest();
  // Queue bookkeeping (bridge_queue.cc): counts an entry and journals it (QoS 1/2 with
  // persistence); release() undoes both when it leaves for good.
  void hold(Out& o);
  void release(const Out& o);
  void journal_packet_id(const Out& o);
  void journal_pubrec(const Out& o);
  // The queue bounds: false when `o` must be refused; may drop the oldest queued entry.
  bool make_room(const Out& o);
  // round_robin false, connected to another address than the first: the first (primary) is
  // probed with a TCP connect every kPrimaryRetryMs; once it answers the bridge moves back
  // (bridge_primary.cc).
  static constexpr int64_t kPrimaryRetryMs = 5000;
  void arm_primary_retry();
  void cancel_primary_retry();
  void primary_tick();
  void back_to_primary();
  void notify_local(char state);
  MessagePtr make_local(std::string_view topic, std::string_view payload, uint8_t qos,
                        bool retain, const codec::Properties& props);

  Broker& broker_;
  net::EventLoop& loop_;
  BridgeConfig cfg_;
  std::shared_ptr<const net::TlsContext> tls_;
  net::Connector connector_;
  net::Connector primary_probe_;
  net::TimerId primary_timer_ = 0;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<codec::Framer> framer_;
  OutQueue out_;
  std::string scratch_;
  std::string notification_topic_;
  codec::ProtocolVersion version_;
  State state_ = State::kIdle;
  bool try_private_;  // cleared when the remote refuses the bridge bit
  bool initial_notification_done_ = false;
  bool dirty_ = false;
  uint32_t interest_ = 0;
  size_t address_ = 0;           // index into cfg_.addresses
  int64_t backoff_ms_ = 0;       // the last jittered delay
  net::TimerId restart_timer_ = 0;
  net::TimerId keepalive_timer_ = 0;
  net::TimerId idle_timer_ = 0;
  int64_t last_activity_ms_ = 0;  // monotonic: last PUBLISH sent or received (lazy bridges)
  // QoS 1/2 sent (or to re-send) and not yet acknowledged, and messages waiting for the
  // connection or for room in the window.
  proto::Outbound<Out> flow_;
  proto::InboundQos2<proto::NothingHeld> incoming_qos2_;  // QoS 2 from the remote, delivered
  proto::LinkState link_;  // the remote's limits, keep alive
  Sink sink_{*this};
  proto::Endpoint<Sink> endpoint_{proto::kBridgePolicy, flow_, incoming_qos2_, link_, sink_};
  uint64_t next_seq_ = 1;
  uint64_t held_msgs_ = 0;
  uint64_t held_bytes_ = 0;
  uint64_t dropped_ = 0;
  bool limit_logged_ = false;  // the bounds acted since the queue was last below them
  std::string last_error_;
};

}  // namespace mq::broker
