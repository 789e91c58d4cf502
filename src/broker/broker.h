// Broker: the MQTT server on one event loop. It owns the listeners, connections, the session
// table (sessions/), the subscription tree and the retained store (routing/), and implements the
// protocol rules of MQTT 3.1, 3.1.1 and 5.0 on top of the pure codec. Packet handlers live in
// handle_*.cc by concern; handle_connect.cc reads as a CONNECT's life, step by step.
// Message path: a PUBLISH becomes one immutable Message shared by every subscriber; writes go
// to each connection's OutQueue and are flushed once per loop iteration (before-sleep hook).
// Connections are closed by marking them and reaping them at a safe point of the loop.
// Threading: single-threaded; everything runs on the loop thread that runs the EventLoop. With
// thread_count > 1 there is one Broker per loop (a shard, shards.h): shards talk only through
// EventLoop::post (accepted sockets, connections moving to their client id's shard, batches of
// forwarded messages, reloads), and shard 0 reads the others' Stats (single-writer atomics).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "broker/auth/acl.h"
#include "broker/auth/listener_security.h"
#include "broker/auth/auth_worker.h"
#include "broker/config/config.h"
#include "broker/connection.h"
#include "broker/linger.h"
#include "broker/listener.h"
#include "broker/message.h"
#include "broker/auth/password_db.h"
#include "broker/persist/keeper.h"
#include "broker/routing/retained_store.h"
#include "broker/session.h"
#include "broker/sessions/sessions.h"
#include "broker/slot_map.h"
#include "broker/stats.h"
#include "broker/routing/sub_tree.h"
#include "codec/packet.h"
#include "net/listener.h"
#include "net/loop.h"

namespace mq::broker {

class Bridge;
struct ShardSet;
struct ConnectAdmission;  // what the steps of handle_connect settle about one CONNECT

// SessionEvents (private): what the session table asks of the broker (wills, routing, journal).
// persist::KeeperHost (private): what persistence reads of the broker and asks of it.
class Broker : private SessionEvents, private persist::KeeperHost {
 public:
  Broker(Config config, net::EventLoop& loop);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // --- life cycle and signals (serve.cc) ----------------------------------------------------
  // Reads the persistence file, certificates, password and ACL files, then binds every
  // listener. Returns the bound ports (one per socket) for --port-file. Run after the user
  // switch: files are read with the permissions the broker will have on SIGHUP.
  [[nodiscard]] Result<std::vector<uint16_t>> start();
  // --test-config: everything start() reads, read the same way and failing the same way
  // (start_failure_status()), but nothing is bound, installed or written.
  [[nodiscard]] Status check_startup();
  // The exit status for a failed start(), as Mosquitto's: 3 or 13 for a password or ACL file
  // that does not parse or cannot be read, else 1.
  int start_failure_status() const { return start_failure_status_; }
  // Disconnects everyone and stops accepting; the loop may then stop.
  void shutdown();
  // SIGHUP: reloadable options from a freshly parsed configuration. False when the new
  // configuration was refused (logged).
  bool reload(const Config& fresh);
  // SIGUSR2: logs the subscription tree and retained topics.
  void dump_state();
  // SIGUSR1: writes a snapshot now (and compacts the journal). No-op without persistence.
  void save_now() { keeper_.save_now("SIGUSR1"); }

  // --- what it runs with and what it counts ($SYS, sys_tree.h) ------------------------------
  const Config& config() const { return config_; }
  net::EventLoop& loop() { return loop_; }
  const Stats& stats() const { return stats_; }
  // $SYS figures: this broker's counters and gauges, or with shards the sums over all of them.
  StatsValues stats_total();

  // --- shards (thread_count > 1, shards.h) --------------------------------------------------
  // This broker is shard `index` of `set`. REQUIRES: before start() / start_secondary().
  void join_shards(ShardSet* set, size_t index);
  // Shards 1..N-1, instead of start(): the listeners' state (security, TLS, WebSocket options)
  // is shard 0's, already started; nothing is bound. Run before this shard's loop runs.
  void start_secondary(const Broker& first);
  // SIGHUP on shards 1..N-1, on their own loop: `fresh` as reload() took it, with shard 0's
  // freshly loaded security state and TLS context of each listener.
  struct ListenerState {
    std::shared_ptr<const SecurityState> security;
    std::shared_ptr<const net::TlsContext> tls;
  };
  std::vector<ListenerState> listener_states() const;
  void reload_secondary(const Config& fresh, const std::vector<ListenerState>& states);

  // --- state, read-only (the other shards, tests) ------------------------------------------
  const SubscriptionTree& subscriptions() const { return subs_; }
  const RetainedStore& retained() const { return retained_; }
  size_t session_count() const { return sessions_.size(); }

  // --- called by Connection -----------------------------------------------------------------
  // One framed packet arrived. The views in `body` are valid during the call only.
  void on_frame(Connection& conn, uint8_t fixed_header, std::string_view body);
  // The framer rejected the input (malformed length, packet too large).
  void on_frame_error(Connection& conn, const Error& error);
  void mark_dirty(Connection& conn);
  // The connection is closing (peer gone, error, protocol violation, takeover): detaches its
  // session (will, expiry) now and frees it at the next safe point.
  void schedule_reap(Connection& conn);

  // --- message routing (also used by $SYS and wills) ----------------------------------------
  // Routes a message to every matching subscription and stores it if retained. Returns the
  // number of matching subscriptions.
  size_t publish(const MessagePtr& msg);

 private:
  // The local half of publish(): retained store, matching, delivery.
  size_t route(const MessagePtr& msg);
  friend class SysTree;
  friend class Bridge;  // publishes what it receives (make_message with next_store_id_)

  // Listeners and connections (listeners.cc).
  [[nodiscard]] Result<std::vector<uint16_t>> open_listeners();
  void accept(Listener& listener, net::UniqueFd fd, std::string peer);
  // Registers a connection on this loop for `transport` (new, or moved from another shard).
  // Null when the loop cannot watch its fd (logged with `what`; the transport is closed).
  Connection* add_connection(Listener& listener, std::unique_ptr<net::Transport> transport,
                             const char* what);
  void install_loop_hooks();  // the before-sleep flush and the keep-alive sweep

  // Shards (shards.cc). A connection whose CONNECT names a client id homed on another shard
  // moves there with its transport, the CONNECT and any bytes read after it.
  struct Migrant {
    std::unique_ptr<net::Transport> transport;
    std::string connect_body;
    std::string unread;
    size_t listener = 0;
  };
  size_t home_shard(std::string_view client_id) const;
  Broker* shard_broker(size_t index) const;
  void migrate(Connection& conn, std::string_view client_id, std::string_view connect_body,
               size_t home);
  void adopt(Migrant& m);
  // Routes a message published on another shard through this shard's subscriptions.
  void receive_forwarded(const std::vector<MessagePtr>& batch);
  void send_forwarded();  // before-sleep: one post per shard with what publish() queued
  void forward(const MessagePtr& msg, size_t& matched);  // queues for the other shards
  // A subscription of this shard's tree was added (+1) or removed (-1): for Interest.
  void interest_changed(std::string_view filter, int delta);
  // Retained messages on several shards: the newer store id wins per topic, so shards that
  // see two publishes of one topic in different orders agree.
  bool retained_is_newer(const Message& m);
  uint64_t take_store_id();
  void flush_dirty();
  void reap_closed();
  void check_keepalives();
  void refresh_gauges();  // this broker's session and subscription counts into its Stats

  // Handlers (handle_connect.cc). A CONNECT's life, one step each; a step that refuses the
  // CONNECT sends its CONNACK, closes and returns false.
  // `authenticated`: the password was already verified (second pass after the worker).
  void handle_connect(Connection& conn, const codec::Connect& packet, std::string_view body,
                      bool authenticated);
  enum class AuthOutcome { kAccepted, kRefused, kPending };
  bool identify_user(Connection& conn, ConnectAdmission& a);  // certificate user, empty name
  bool identify_client(Connection& conn, ConnectAdmission& a);  // given, assigned, user name
  std::string assign_client_id(const ListenerConfig& listener);
  bool check_limits(Connection& conn, ConnectAdmission& a);  // keep alive, will QoS and retain
  // Anonymous or password decisions here; a password hash goes to the auth worker (kPending)
  // and comes back through finish_authentication, which handles the CONNECT again.
  AuthOutcome authenticate(Connection& conn, const ConnectAdmission& a, std::string_view body);
  // `why`: the log text of a refusal (a string literal), null when `ok`.
  void finish_authentication(uint64_t connection_id, bool ok, const char* why);
  void take_over(const std::string& client_id);  // closes a connection using this client id
  std::unique_ptr<Will> make_will(Connection& conn, const codec::Connect& p);
  Sessions::Attached attach_session(Connection& conn, const ConnectAdmission& a);
  void send_connack(Connection& conn, bool session_present, codec::ReasonCode rc,
                    codec::Properties props = {});
  void refuse_connect(Connection& conn, codec::ReasonCode rc, const char* log_reason = nullptr);
  void handle_disconnect(Connection& conn, const codec::Disconnect& packet);
  void handle_auth(Connection& conn, const codec::Auth& packet);

  // Security state per listener (listeners.cc; loading in auth/listener_security.h).
  void install_security(const LoadedSecurity& loaded);  // REQUIRES: listeners are open
  [[nodiscard]] Status load_all_security();
  // After a reload: disconnects clients the new password file or allow_anonymous refuses.
  void recheck_connected_clients();
  void drop_unauthorised(uint64_t connection_id);

  // Sessions (sessions/sessions.h) reaching the rest of the broker (broker.cc).
  void publish_will_message(const MessagePtr& msg) override;
  void session_offline(Session& s) override;
  void session_ending(Session& s) override;

  // Handlers (handle_publish.cc).
  // A packet of a connected client failed to decode: DISCONNECT with its reason, close.
  void on_decode_error(Connection& conn, const Error& error);
  void handle_publish(Connection& conn, codec::Publish& packet);
  void handle_ack(Connection& conn, codec::PacketType type, const codec::Puback& packet);
  void deliver(Session& session, const MessagePtr& msg, const SubscriptionOptions& options,
               bool retained_on_subscribe);
  void pump(Session& session);  // moves queued messages into the in-flight window
  // A PUBLISH of `msg` with first byte `flags` (DUP, QoS, RETAIN), as the session's endpoint
  // describes it. False: larger than the client's Maximum Packet Size, nothing written.
  bool write_publish(Connection& conn, const MessagePtr& msg, uint8_t flags, uint16_t packet_id,
                     uint32_t subscription_id);
  void queue_publish(Connection& conn, const MessagePtr& msg, std::string_view header);
  void resume_session(Session& session);
  struct FlowSink;  // what a session's proto::Endpoint asks of the broker (handle_publish.cc)

  // Handlers (handle_subscribe.cc).
  void handle_subscribe(Connection& conn, const codec::Subscribe& packet);
  void handle_unsubscribe(Connection& conn, const codec::Unsubscribe& packet);
  void send_retained(Session& session, std::string_view filter, const SubscriptionOptions& opts);
  void continue_retained(SessionId id, std::shared_ptr<RetainedCursor> cursor,
                         SubscriptionOptions opts);
  void schedule_retained(SessionId id, std::shared_ptr<RetainedCursor> cursor,
                         SubscriptionOptions opts, int64_t delay_ms);

  // Protocol violations: v5 gets DISCONNECT with the reason code, then the connection closes.
  void protocol_close(Connection& conn, codec::ReasonCode rc, const char* why);
  // Dropped when bigger than the client's Maximum Packet Size [MQTT-3.1.2-24].
  void send_packet(Connection& conn, const codec::Packet& packet) {
    send_packet(conn, packet, conn.terms().client_max_packet);
  }
  // `client_max_packet` 0: no limit (the CONNACK, sent before the client's limits apply).
  void send_packet(Connection& conn, const codec::Packet& packet, uint32_t client_max_packet);

  // Persistence (persist/keeper.h) reaching the broker (persist/keeper_host.cc).
  uint64_t next_store_id() const override { return next_store_id_; }
  void for_each_retained(const std::function<void(const std::vector<MessagePtr>&)>& fn) override;
  void for_each_session(const std::function<void(Session&)>& fn) override;
  void for_each_bridge_entry(
      const std::function<void(const std::string&, const persist::StoredBridgeOut&)>& fn) override;
  void raise_next_store_id(uint64_t at_least) override;
  void restore_retained(const std::string& topic, const MessagePtr& msg) override;
  Session& restore_session(const std::string& client_id) override;
  void restore_subscription(Session& s, const std::string& key,
                            const SessionSubscription& sub) override;
  void arm_session_expiry(Session& s, int64_t left_ms) override;
  bool restore_bridge_queue(const std::string& bridge,
                            std::map<uint64_t, persist::StoredBridgeOut>& queue) override;
  void refuse_unkept_output() override;
  void hold_waiting_output(std::vector<uint64_t>& held) override;
  void release_output(uint64_t connection_id) override;
  void drop_held_output(uint64_t connection_id) override;

  // Checked handles: a stale id finds nothing.
  Session* find_session(SessionId id) const { return sessions_.find(id); }
  // The connection bound to `s`, or null while it is offline.
  Connection* connection_of(const Session& s) const { return connections_.find(s.connection_id); }

  Config config_;
  net::EventLoop& loop_;
  Clock& clock_;
  std::vector<std::unique_ptr<Listener>> listeners_;  // stable: connections refer to them
  SlotMap<Connection> connections_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> closing_;
  Linger linger_{loop_};  // reaped sockets still delivering their last packet

  SubscriptionTree subs_;
  RetainedStore retained_;
  Stats stats_;
  Sessions sessions_{loop_, stats_, *this};
  uint64_t next_store_id_ = 1;

  // Shards (null with one loop). outbox_[k]: messages for shard k, posted before sleeping.
  ShardSet* shards_ = nullptr;
  size_t shard_index_ = 0;
  size_t next_accept_shard_ = 0;
  uint64_t last_store_id_ = 0;  // the last id take_store_id() gave out on this shard
  uint64_t clients_maximum_total_ = 0;
  std::vector<std::vector<MessagePtr>> outbox_;
  struct Cleared {  // a retained topic erased on this shard, for retained_is_newer
    uint64_t store_id;
    int64_t at_ms;
  };
  std::unordered_map<std::string, Cleared> retained_cleared_;

  net::TimerId keepalive_timer_ = 0;
  std::unordered_set<net::TimerId> retained_timers_;  // retained deliveries in progress
  net::HookId flush_hook_ = 0;
  std::string scratch_;  // encoding buffer reused across packets
  // The PUBLISH header last encoded during the fan-out of one message (publish()), reused for
  // every other subscriber with the same layout: only the flags in the first byte and the
  // packet identifier are patched. Valid only inside publish(); `msg` is reset when it returns.
  // A message without MQTT 5 properties or expiry (`plain`) has a header that depends only on
  // its topic and payload size, so the next such message with the same topic and size reuses
  // it too (a stream of messages on one topic encodes one header).
  struct HeaderCache {
    const Message* msg = nullptr;
    uint8_t layout = 0;     // 1 + (v5 ? 2 : 0) + (has a packet identifier ? 1 : 0)
    size_t pid_offset = 0;  // where the packet identifier is, when there is one
    std::string bytes;
    bool plain = false;       // `bytes` is the header of a plain message: topic, payload_size
    size_t payload_size = 0;  // apply
    std::string topic;
  };
  HeaderCache header_cache_;
  int publish_depth_ = 0;   // publish() calls in progress (a will can publish inside one)
  bool shutting_down_ = false;
  int start_failure_status_ = 1;

  // Disabled when `persistence false`: then every journal call is a no-op.
  persist::Keeper keeper_{config_, loop_, *this};

  std::unique_ptr<class SysTree> sys_;
  std::unique_ptr<class LogTopic> log_topic_;  // log_dest topic
  // One per `connection` (bridge.h); not reloaded on SIGHUP (Mosquitto 2.0).
  std::vector<std::unique_ptr<Bridge>> bridges_;
  std::unique_ptr<AuthWorker> auth_worker_;  // declared last: joined first on destruction
};

}  // namespace mq::broker
