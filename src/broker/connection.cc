#include "broker/connection.h"

#include <sys/epoll.h>

#include <algorithm>

#include "base/log.h"
#include "broker/broker.h"

namespace mq::broker {

// An idle connection is one allocation of malloc's 272-byte class (see connection.h).
static_assert(sizeof(void*) != 8 || sizeof(Connection) <= 264, "Connection grew past 264 bytes");

namespace {
constexpr size_t kReadChunk = 16 * 1024;
constexpr int kMaxReadsPerWakeup = 4;  // fairness: level-triggered epoll calls us again
// Before CONNECT nothing is known about the client: a CONNECT bigger than this (a will, user
// name and password of 64 KiB each still fit) is refused before its body is buffered.
constexpr size_t kMaxConnectPacket = 256 * 1024;
}  // namespace

Connection::Connection(Broker& broker, uint64_t id, std::unique_ptr<net::Transport> transport,
                       Listener& listener, uint32_t max_packet_size)
    : broker_(broker),
      id_(id),
      transport_(std::move(transport)),
      listener_(listener),
      framer_(std::min<size_t>(max_packet_size, kMaxConnectPacket)),
      max_packet_size_(max_packet_size) {}

Connection::~Connection() = default;

const std::string& Connection::peer() const {
  static const std::string kMoved = "(moved)";
  return transport_ ? transport_->peer_address() : kMoved;
}

Status Connection::start(net::EventLoop& loop) {
  loop_ = &loop;
  connected_ms_ = loop.now_ms();
  last_rx_ms_ = connected_ms_;
  interest_ = transport_->wanted_events(true, false);
  return loop.add(transport_->fd(), interest_, this);
}

void Connection::on_io(uint32_t events) {
  if (state_ == State::kClosing) return;
  if (state_ == State::kAuthenticating) {  // not reading: only notice a dead peer
    if (events & (EPOLLERR | EPOLLHUP)) close("closed its connection.");
    return;
  }
  if (!transport_->handshake_done()) {
    if (!continue_handshake()) return;
    if (!transport_->handshake_done()) return;
    // Established: application data may already sit decrypted in the transport.
    events |= EPOLLIN;
  }
  if (events & EPOLLOUT) {
    if (!flush()) return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) on_readable();
}

bool Connection::continue_handshake() {
  net::IoResult r = transport_->handshake();
  if (r.status == net::IoStatus::kOk || r.status == net::IoStatus::kWouldBlock) {
    update_interest();
    return true;
  }
  if (r.status == net::IoStatus::kError) {
    MQ_LOG(kLogNotice, "Client connection from %s failed: %s handshake: %s.", peer().c_str(),
           transport_->name(), transport_->error_text(r).c_str());
  }
  close("closed its connection.");
  return false;
}

void Connection::on_readable() {
  // Level-triggered epoll calls again while the socket has data; bytes a layer (TLS, WebSocket)
  // already decoded do not make the socket readable, so those are always drained here.
  for (int i = 0; state_ != State::kClosing; i++) {
    if (i >= kMaxReadsPerWakeup && !transport_->has_buffered_input()) break;
    // Inside a large packet whose size is known, make room for all of it at once: the buffer
    // is allocated once and the bytes already in are moved once, instead of doubling (and
    // copying) its way up from 16 KiB.
    size_t want = kReadChunk;
    if (size_t pending = framer_.pending_packet_size(); pending > framer_.buffered() + want) {
      want = pending - framer_.buffered();
    }
    std::span<char> space = framer_.prepare(want);
    net::IoResult r = transport_->read(space.data(), space.size());
    if (r.status == net::IoStatus::kWouldBlock) break;
    if (r.status == net::IoStatus::kClosed) {
      close("closed its connection.");
      return;
    }
    if (r.status == net::IoStatus::kError) {
      log_transport_error(r);
      close("closed its connection.");
      return;
    }
    framer_.commit(r.bytes);
    if (!dispatch_buffered()) return;
    if (r.bytes < space.size() && !transport_->has_buffered_input()) break;  // drained
  }
  framer_.release_if_empty();
  // Nothing to answer (a reply would put the connection in the dirty list, flushed later).
  if (state_ != State::kClosing && out_.empty() && !in_dirty_list_)
    transport_->release_idle_buffers(false);
}

bool Connection::dispatch_buffered() {
  bool stamped = false;  // one clock read per batch of packets, not one per packet
  for (;;) {
    auto frame = framer_.next();
    if (!frame.ok()) {
      broker_.on_frame_error(*this, frame.error());
      return false;
    }
    if (!frame->has_value()) return true;
    if (!stamped) {
      last_rx_ms_ = loop_->now_ms();
      stamped = true;
    }
    broker_.on_frame(*this, (*frame)->fixed_header, (*frame)->body);
    if (state_ == State::kClosing || state_ == State::kAuthenticating) return false;
  }
}

void Connection::begin_authentication(std::string_view connect_body) {
  pending_connect_ = std::make_unique<std::string>(connect_body);
  state_ = State::kAuthenticating;
  update_interest();
}

std::string Connection::end_authentication() {
  if (state_ == State::kAuthenticating) state_ = State::kAwaitConnect;
  std::string body = pending_connect_ ? std::move(*pending_connect_) : std::string();
  pending_connect_.reset();
  return body;
}

void Connection::resume_reading() {
  if (state_ == State::kClosing || state_ == State::kAuthenticating) return;
  update_interest();
  if (framer_.buffered() > 0 && !dispatch_buffered()) return;
  framer_.release_if_empty();
  // Input a layer decoded while reading was paused will not wake the loop again.
  if (transport_->has_buffered_input()) on_readable();
}

bool Connection::flush() {
  if (!transport_ || transport_->fd() < 0) return false;
  if (output_held_) {  // released (and flushed) by the broker once the journal is synced
    update_interest();
    return true;
  }
  net::IoResult r = out_.write_to(*transport_);
  if (r.status == net::IoStatus::kError || r.status == net::IoStatus::kClosed) {
    // The peer is gone; what we had for it is lost with the connection.
    if (r.status == net::IoStatus::kError) log_transport_error(r);
    out_.clear();
    close("closed its connection.");
    return false;
  }
  update_interest();
  if (out_.empty()) transport_->release_idle_buffers(false);
  return true;
}

void Connection::log_transport_error(const net::IoResult& r) {
  if (r.sys_errno != 0) return;  // resets and broken pipes are ordinary disconnects
  const std::string& client_id = terms_.client_id;
  MQ_LOG(kLogNotice, "Client %s: %s error: %s.",
         client_id.empty() ? peer().c_str() : client_id.c_str(), transport_->name(),
         transport_->error_text(r).c_str());
}

void Connection::update_interest() {
  if (!loop_ || state_ == State::kClosing) return;
  uint32_t want =
      transport_->wanted_events(state_ != State::kAuthenticating, !out_.empty() && !output_held_);
  if (want != interest_) {
    interest_ = want;
    (void)loop_->modify(transport_->fd(), want);
  }
}

void Connection::close(const char* reason) {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  close_reason_ = reason;
  broker_.schedule_reap(*this);
}

void Connection::destroy(net::EventLoop& loop) {
  if (transport_ && transport_->fd() >= 0) {
    loop.remove(transport_->fd());
    transport_->shutdown();
    transport_->close();
  }
}

}  // namespace mq::broker
