// Connection: one client's network connection to the broker: its transport, the framer that
// turns bytes into packets, the output queue, what its CONNECT settled (ConnectTerms, fixed once
// the CONNECT is accepted) and the broker's bookkeeping about it. Packets go to the Broker; the
// Broker decides and writes replies into out(). Closing marks the connection and the broker
// reaps it at a safe point, never inside its own callback.
// Owned by the Broker; single-threaded on the broker loop. With shards (thread_count > 1) the
// transport and unread bytes may move once, before the CONNECT is handled, to a new Connection
// on another shard's loop (Broker::migrate); this object is then reaped without a socket.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/connect_terms.h"
#include "broker/out_queue.h"
#include "broker/routing/sub_tree.h"
#include "codec/framer.h"
#include "codec/packet.h"
#include "net/loop.h"
#include "net/transport.h"
#include "proto/topic_aliases.h"

namespace mq::broker {

class Broker;
struct Listener;

class Connection final : public net::IoHandler {
 public:
  // kAuthenticating: CONNECT received, its password being verified off the loop; reading is
  // paused so later packets wait in the framer.
  enum class State : uint8_t { kAwaitConnect, kAuthenticating, kConnected, kClosing };

  Connection(Broker& broker, uint64_t id, std::unique_ptr<net::Transport> transport,
             Listener& listener, uint32_t max_packet_size);
  ~Connection() override;

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool open() const { return state_ != State::kClosing; }
  Listener& listener() { return listener_; }
  const std::string& peer() const;
  net::Transport& transport() { return *transport_; }
  bool has_transport() const { return transport_ != nullptr; }  // false once moved away
  OutQueue& out() { return out_; }

  // Registers the fd on the loop. REQUIRES: called once.
  [[nodiscard]] Status start(net::EventLoop& loop);
  void on_io(uint32_t events) override;

  // Writes as much of the output queue as the socket takes; arms EPOLLOUT after a short write.
  // Returns false when the transport failed (the connection is then closing).
  bool flush();
  // Marks the connection closing; the broker reaps it after a last flush. `reason` is for logs.
  void close(const char* reason);
  // Closes after a normal DISCONNECT or at broker shutdown: no will is published.
  void close_gracefully(const char* reason) {
    if (state_ != State::kClosing) graceful_ = true;
    close(reason);
  }
  // Stops the loop from dispatching further events; closes the socket. Broker-only (reaping).
  void destroy(net::EventLoop& loop);
  // Hands the transport over (to Linger) when reaping. REQUIRES: its fd is no longer in the
  // loop; afterwards only destroy() and the destructor may be called.
  std::unique_ptr<net::Transport> release_transport() { return std::move(transport_); }

  // --- the CONNECT -------------------------------------------------------------------------------
  // What the accepted CONNECT settled; defaults (3.1.1, no limits) before that.
  const ConnectTerms& terms() const { return terms_; }
  // While the CONNECT is being decided: the version it asked for (a refusing CONNACK is encoded
  // in it) and the client identifier (named in the log lines about a refusal).
  // REQUIRES: not yet accepted.
  void set_connect_version(codec::ProtocolVersion v) {
    assert(!accepted_);
    terms_.version = v;
  }
  void set_connect_client_id(std::string client_id) {
    assert(!accepted_);
    terms_.client_id = std::move(client_id);
  }
  // The CONNECT is accepted: its terms hold from now on. REQUIRES: called once.
  void accept(ConnectTerms terms) {
    assert(!accepted_);
    accepted_ = true;
    terms_ = std::move(terms);
  }
  // The session is attached: packets other than CONNECT are taken, up to our maximum size.
  void set_connected(SessionId session) {
    session_ = session;
    state_ = State::kConnected;
    framer_.set_max_packet_size(max_packet_size_);
  }
  // Pauses reading while the CONNECT is authenticated; `connect_body` keeps a copy of it.
  void begin_authentication(std::string_view connect_body);
  // Back to kAwaitConnect with reading resumed (the broker then re-handles the saved CONNECT).
  std::string end_authentication();
  // Dispatches packets already buffered (after authentication) and reads again.
  void resume_reading();
  // Moving to another shard (thread_count > 1): the bytes read after the CONNECT, taken out of
  // the framer, and put back into the new connection's framer before it reads again.
  std::string take_unread() { return framer_.take_buffered(); }
  // The read buffer, when it holds `bytes` (inside the packet being handled) and little else:
  // see Framer::release_buffer_holding. Null otherwise.
  std::unique_ptr<char[]> take_read_buffer(std::string_view bytes) {
    return framer_.release_buffer_holding(bytes, bytes.size() / 8);
  }
  void put_unread(std::string_view bytes) {
    if (!bytes.empty()) framer_.append(bytes);
  }

  // --- kept for the broker -----------------------------------------------------------------------
  // The attached session; 0 before CONNECT and once detached.
  SessionId session() const { return session_; }
  // Detaches: returns the session and forgets it.
  SessionId take_session() { return std::exchange(session_, 0); }
  // MQTT 5 topic aliases of this connection, made on first use.
  struct TopicAliases {
    proto::InboundAliases in;    // client->broker
    proto::OutboundAliases out;  // broker->client
  };
  TopicAliases& topic_aliases() {
    if (!aliases_) aliases_ = std::make_unique<TopicAliases>();
    return *aliases_;
  }
  int64_t connected_ms() const { return connected_ms_; }  // monotonic time of start()
  int64_t last_rx_ms() const { return last_rx_ms_; }      // of the last packet received
  // Why the connection closed, for the log (nullptr: say nothing).
  const char* close_reason() const { return close_reason_; }
  // DISCONNECT received (no will unless 0x04) or the broker is shutting down.
  bool graceful() const { return graceful_; }

  // Membership of the broker's list of connections with output to flush: enter returns false
  // when the connection already is in it.
  bool enter_dirty_list() { return !std::exchange(in_dirty_list_, true); }
  void leave_dirty_list() { in_dirty_list_ = false; }
  bool in_dirty_list() const { return in_dirty_list_; }
  // Output waits for an fdatasync of the journal records it acknowledges (persistence_fsync):
  // flush() writes nothing while held.
  void hold_output() { output_held_ = true; }
  void release_output() { output_held_ = false; }
  bool output_held() const { return output_held_; }
  // The broker queues a closing connection for reaping once: false when it already was.
  bool mark_reap_scheduled() { return !std::exchange(reap_scheduled_, true); }

 private:
  bool continue_handshake();  // false when the handshake failed (the connection is closing)
  void log_transport_error(const net::IoResult& r);
  void on_readable();
  bool dispatch_buffered();  // false when the connection closed or paused meanwhile
  void update_interest();

  // Fields ordered by size: an idle connection is one 264-byte allocation (malloc's 272-byte
  // class), and there are tens of thousands of them.
  ConnectTerms terms_;
  Broker& broker_;
  uint64_t id_;
  std::unique_ptr<net::Transport> transport_;
  Listener& listener_;
  net::EventLoop* loop_ = nullptr;
  std::unique_ptr<std::string> pending_connect_;  // only while authenticating
  std::unique_ptr<TopicAliases> aliases_;
  SessionId session_ = 0;
  int64_t connected_ms_ = 0;
  int64_t last_rx_ms_ = 0;
  const char* close_reason_ = nullptr;
  codec::Framer framer_;
  OutQueue out_;
  uint32_t max_packet_size_;
  uint32_t interest_ = 0;
  State state_ = State::kAwaitConnect;
  bool accepted_ = false;
  bool graceful_ = false;
  bool in_dirty_list_ = false;
  bool output_held_ = false;
  bool reap_scheduled_ = false;
};

}  // namespace mq::broker
