// Connection: one client's network connection to the broker: its transport, the framer that
// turns bytes into packets, the output queue, and the per-connection protocol state (version,
// keep alive, topic aliases, the limits the client announced). Packets go to the Broker; the
// Broker decides and writes replies into out(). Closing marks the connection and the broker
// reaps it at a safe point, never inside its own callback.
// Owned by the Broker; single-threaded on the broker loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/optional_string.h"
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
  const std::string& peer() const { return transport_->peer_address(); }
  net::Transport& transport() { return *transport_; }
  OutQueue& out() { return out_; }

  // Registers the fd on the loop. REQUIRES: called once.
  [[nodiscard]] Status start(net::EventLoop& loop);
  void on_io(uint32_t events) override;

  // Writes as much of the output queue as the socket takes; arms EPOLLOUT after a short write.
  // Returns false when the transport failed (the connection is then closing).
  bool flush();
  // Marks the connection closing; the broker reaps it after a last flush. `reason` is for logs.
  void close(const char* reason);
  // Stops the loop from dispatching further events; closes the socket. Broker-only (reaping).
  void destroy(net::EventLoop& loop);
  // Hands the transport over (to Linger) when reaping. REQUIRES: its fd is no longer in the
  // loop; afterwards only destroy() and the destructor may be called.
  std::unique_ptr<net::Transport> release_transport() { return std::move(transport_); }

  // --- protocol state, set by the broker ------------------------------------------------------
  void set_connected() {
    state_ = State::kConnected;
    framer_.set_max_packet_size(max_packet_size_);
  }
  // Pauses reading while the CONNECT is authenticated; `connect_body` keeps a copy of it.
  void begin_authentication(std::string_view connect_body);
  // Back to kAwaitConnect with reading resumed (the broker then re-handles the saved CONNECT).
  std::string end_authentication();
  // Dispatches packets already buffered (after authentication) and reads again.
  void resume_reading();
  // Fields ordered by size: an idle connection is one 264-byte allocation (malloc's 272-byte
  // class), and there are tens of thousands of them.
  std::string client_id;
  OptionalString username;
  std::unique_ptr<std::string> password;   // only with a password_file (SIGHUP re-check)
  // MQTT 5 topic aliases of this connection, made on first use.
  struct TopicAliases {
    proto::InboundAliases in;    // client->broker
    proto::OutboundAliases out;  // broker->client
  };
  std::unique_ptr<TopicAliases> aliases;
  TopicAliases& topic_aliases() {
    if (!aliases) aliases = std::make_unique<TopicAliases>();
    return *aliases;
  }
  SessionId session = 0;
  int64_t last_rx_ms = 0;            // monotonic time of the last packet received
  int64_t connected_ms = 0;
  const char* close_reason = nullptr;
  uint32_t client_max_packet = 0;    // the client's Maximum Packet Size (0 = protocol maximum)
  uint16_t keep_alive = 0;           // seconds, as negotiated; 0 = none
  uint16_t client_receive_max = 65535;
  uint16_t topic_alias_max = 0;      // ours, announced in CONNACK
  uint16_t out_alias_max = 0;        // broker->client: min(client's maximum, ours)
  codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
  bool cert_identity = false;        // user name from the TLS certificate / PSK identity
  bool request_problem_info = true;
  bool graceful = false;             // DISCONNECT received (no will unless 0x04)
  bool in_dirty_list = false;
  // Output waits for an fdatasync of the journal records it acknowledges (persistence_fsync).
  bool output_held = false;
  bool reap_scheduled = false;
  // The client is a Mosquitto bridge (bit 7 of the CONNECT protocol level, try_private): it is
  // never sent its own messages back (bridge loop prevention).
  bool bridge = false;

 private:
  bool continue_handshake();  // false when the handshake failed (the connection is closing)
  void log_transport_error(const net::IoResult& r);
  void on_readable();
  bool dispatch_buffered();  // false when the connection closed or paused meanwhile
  void update_interest();

  State state_ = State::kAwaitConnect;
  uint32_t max_packet_size_;
  uint32_t interest_ = 0;
  Broker& broker_;
  uint64_t id_;
  std::unique_ptr<net::Transport> transport_;
  Listener& listener_;
  net::EventLoop* loop_ = nullptr;
  std::unique_ptr<std::string> pending_connect_;  // only while authenticating
  codec::Framer framer_;
  OutQueue out_;
};

}  // namespace mq::broker
