// Listeners: binding the configured sockets, installing the security state each listener
// enforces (loaded by auth/listener_security.cc) and re-checking connected clients after a
// reload, and turning an accepted socket into a Connection over the listener's transport stack.
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>

#include <thread>

#include "base/log.h"
#include "broker/broker.h"
#include "codec/framer.h"
#include "net/socket_util.h"
#include "net/tcp_transport.h"
#include "net/tls_transport.h"
#include "net/ws_transport.h"

namespace mq::broker {

namespace {

net::SocketDomain to_net(SocketDomain d) {
  switch (d) {
    case SocketDomain::kIpv4: return net::SocketDomain::kIpv4;
    case SocketDomain::kIpv6: return net::SocketDomain::kIpv6;
    case SocketDomain::kAny: break;
  }
  return net::SocketDomain::kAny;
}

}  // namespace

bool may_bind_port(uint16_t port) {
  if (port == 0 || geteuid() == 0) return true;
  int start = 1024;
  if (FILE* f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re")) {
    if (fscanf(f, "%d", &start) != 1) start = 1024;
    fclose(f);
  }
  if (port >= start) return true;
  // CapEff is a hex mask; CAP_NET_BIND_SERVICE is bit 10.
  bool cap = false;
  if (FILE* f = fopen("/proc/self/status", "re")) {
    char line[256];
    while (fgets(line, sizeof line, f)) {
      unsigned long long eff;
      if (sscanf(line, "CapEff: %llx", &eff) == 1) cap = (eff >> 10) & 1;
    }
    fclose(f);
  }
  return cap;
}

std::string privileged_port_hint() {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string path = n > 0 ? std::string(exe, size_t(n)) : "mq";
  return "If you are trying to bind to a privileged port (<1024), try using setcap and do not "
         "start the broker as root:\n    sudo setcap 'CAP_NET_BIND_SERVICE=+ep " + path + "'";
}

Result<std::vector<uint16_t>> Broker::open_listeners() {
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
        std::string hint = may_bind_port(lc.port) ? "" : privileged_port_hint() + "\n";
        return make_error(ErrorKind::kIo, hint + "Error: Unable to listen on port " +
                                              std::to_string(lc.port) + ": " + s.error().context);
      }
      for (auto& sock : *s) {
        const char* kind = lc.protocol == ListenerProtocol::kWebsockets ? "websockets"
                           : sock.address.family() == AF_INET6       ? "ipv6"
                                                                      : "ipv4";
        MQ_LOG(kLogNotice, "Opening %s listen socket on port %u.", kind, unsigned(sock.port()));
        sockets.push_back(std::move(sock));
      }
    }
    for (auto& sock : sockets) {
      auto listener = std::make_unique<Listener>();
      Listener* l = listener.get();
      l->config = &lc;
      l->index = listeners_.size();
      if (!sock.is_unix()) ports.push_back(sock.port());
      l->acceptor = std::make_unique<net::Acceptor>(
          loop_, std::move(sock),
          [this, l](net::UniqueFd fd, std::string peer) { accept(*l, std::move(fd), peer); });
      l->port = l->acceptor->port();
      Status st = l->acceptor->start();
      if (!st.ok()) return st.error();
      listeners_.push_back(std::move(listener));
    }
  }
  return ports;
}

Status Broker::load_all_security() {
  auto loaded = load_listener_security(config_, &start_failure_status_);
  if (!loaded.ok()) return loaded.error();
  install_security(*loaded);
  return {};
}

void Broker::install_security(const LoadedSecurity& loaded) {
  std::vector<std::shared_ptr<const SecurityState>> fresh;
  std::vector<std::shared_ptr<const net::TlsContext>> tls;
  for (auto& l : listeners_) {
    size_t i = size_t(l->config - config_.listeners.data());
    fresh.push_back(loaded.security[i]);
    tls.push_back(loaded.tls[i]);
  }
  // All loaded: only now replace (a bad file on reload leaves the old state in force).
  bool need_worker = false;
  for (size_t i = 0; i < listeners_.size(); i++) {
    listeners_[i]->tls = std::move(tls[i]);
    const ListenerConfig& lc = *listeners_[i]->config;
    if (lc.protocol == ListenerProtocol::kWebsockets && !listeners_[i]->ws) {
      auto ws = std::make_shared<net::WebSocketServerOptions>();
      if (config_.websockets_headers_size > 0) ws->max_headers_size = size_t(config_.websockets_headers_size);
      ws->allowed_origins = lc.websockets_origins;
      listeners_[i]->ws = std::move(ws);
    }
    listeners_[i]->security = std::move(fresh[i]);
    need_worker = need_worker || listeners_[i]->security->passwords;
  }
  if (need_worker && !auth_worker_) {
    unsigned n = std::thread::hardware_concurrency();
    auth_worker_ = std::make_unique<AuthWorker>(n > 1 ? n - 1 : 1);
  }
}

void Broker::recheck_connected_clients() {
  connections_.for_each([this](Connection& conn) {
    uint64_t id = conn.id();
    const ConnectTerms& t = conn.terms();
    if (conn.state() != Connection::State::kConnected || t.cert_identity) return;
    const SecurityState& sec = *conn.listener().security;
    if (!t.username || !sec.passwords) {
      // Anonymous, or a user name with no password file: allow_anonymous decides.
      if (!sec.allow_anonymous) drop_unauthorised(id);
      return;
    }
    // The hash is slow on purpose: verified on a worker like a CONNECT.
    std::optional<std::string> password;
    if (t.password) password.emplace(*t.password);
    auth_worker_->submit([this, db = sec.passwords, user = *t.username,
                          password = std::move(password), id = id] {
      bool ok = db->verify(user, password ? std::optional<std::string_view>(*password)
                                          : std::nullopt);
      if (!ok) loop_.post([this, id] { drop_unauthorised(id); });
    });
  });
}

void Broker::drop_unauthorised(uint64_t connection_id) {
  Connection* found = connections_.find(connection_id);
  if (!found) return;
  Connection& conn = *found;
  if (conn.state() != Connection::State::kConnected) return;
  if (conn.terms().version == codec::ProtocolVersion::kV5) {
    codec::Disconnect d;
    d.reason_code = codec::ReasonCode::kNotAuthorized;
    send_packet(conn, d);
  }
  conn.close("disconnected, not authorised.");
}

void Broker::accept(Listener& listener, net::UniqueFd fd, std::string peer) {
  if (shutting_down_) return;
  if (shards_ && shard_index_ == 0) {
    // Shard 0 accepts for all: sockets are dealt round robin, so TLS handshakes spread.
    size_t target = next_accept_shard_++ % outbox_.size();
    if (target != 0) {
      Broker* b = shard_broker(target);
      int raw = fd.release();
      b->loop_.post([b, index = listener.index, raw, peer = std::move(peer)]() mutable {
        b->accept(*b->listeners_[index], net::UniqueFd(raw), std::move(peer));
      });
      return;
    }
  }
  const ListenerConfig& lc = *listener.config;
  stats_.connections_accepted++;
  if (lc.max_connections >= 0 && *listener.connections >= lc.max_connections) {
    MQ_LOG(kLogNotice, "Client connection from %s denied: max_connections exceeded.",
           peer.c_str());
    return;  // fd closes here
  }
  if (config_.set_tcp_nodelay && lc.unix_socket_path.empty()) (void)net::set_nodelay(fd.get(), true);
  MQ_LOG(kLogNotice, "New connection from %s on port %u.", peer.c_str(),
         unsigned(lc.unix_socket_path.empty() ? listener.port : 0));
  bool is_unix = !lc.unix_socket_path.empty();
  std::unique_ptr<net::Transport> transport =
      std::make_unique<net::TcpTransport>(std::move(fd), std::move(peer), is_unix);
  if (listener.tls) transport = std::make_unique<net::TlsTransport>(std::move(transport), listener.tls);
  if (listener.ws) transport = std::make_unique<net::WebSocketTransport>(std::move(transport), listener.ws);
  (void)add_connection(listener, std::move(transport), "new");
}

Connection* Broker::add_connection(Listener& listener, std::unique_ptr<net::Transport> transport,
                                   const char* what) {
  uint32_t max_packet = config_.max_packet_size ? config_.max_packet_size
                                                : uint32_t(codec::Framer::kProtocolMaxPacketSize);
  Connection& conn = connections_.emplace([&](uint64_t id) {
    return std::make_unique<Connection>(*this, id, std::move(transport), listener, max_packet);
  });
  Status st = conn.start(loop_);
  if (!st.ok()) {
    MQ_LOG(kLogError, "Error: cannot watch %s connection: %s", what, st.error().context.c_str());
    conn.destroy(loop_);
    connections_.erase(conn.id());
    return nullptr;
  }
  (*listener.connections)++;
  return &conn;
}

}  // namespace mq::broker
