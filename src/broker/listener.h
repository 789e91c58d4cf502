// Listener: one bound socket of a configured `listener`, with the security state and the
// transport options (TLS, WebSockets) every connection accepted on it uses.
// Owned by the Broker; used on the broker loop only (SecurityState is also read by auth workers,
// and with thread_count > 1 by every shard: it is immutable).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "broker/auth/acl.h"
#include "broker/config/config.h"
#include "broker/auth/password_db.h"
#include "net/listener.h"
#include "net/tls_context.h"
#include "net/ws_transport.h"

namespace mq::broker {

// Authentication and authorisation in force for one listener (shared by every listener when
// per_listener_settings is false). Loaded at start and on SIGHUP; immutable once loaded, so
// worker threads may read the password database.
struct SecurityState {
  bool allow_anonymous = false;
  std::shared_ptr<const PasswordDb> passwords;  // null: no password_file
  std::shared_ptr<const AclFile> acl;           // null: no acl_file (everything allowed)
};

// A listening endpoint and the options of the `listener` it came from.
struct Listener {
  const ListenerConfig* config = nullptr;  // points into Broker::config_ (stable after start)
  std::unique_ptr<net::Acceptor> acceptor;  // null on shards other than 0 (they bind nothing)
  size_t index = 0;                          // in Broker::listeners_, the same on every shard
  uint16_t port = 0;                         // bound TCP port (0 for a Unix socket)
  // Open connections, for max_connections: shared by the copies of this listener on every
  // shard (thread_count > 1).
  std::shared_ptr<std::atomic<int>> connections = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<const SecurityState> security;
  std::shared_ptr<const net::TlsContext> tls;                // null: no TLS on this listener
  std::shared_ptr<const net::WebSocketServerOptions> ws;   // null: plain MQTT, no WebSockets
};

// Whether this process may bind TCP `port`: root, CAP_NET_BIND_SERVICE, or a port at or above
// net.ipv4.ip_unprivileged_port_start. Used to explain a refused bind, and by --test-config,
// which binds nothing.
bool may_bind_port(uint16_t port);
// Mosquitto's advice after a refused privileged port, naming this executable.
std::string privileged_port_hint();

}  // namespace mq::broker
