// WebSocketTransport: MQTT over WebSocket (RFC 6455, MQTT 3.1.1/5.0 section 6) as a Transport
// layered on an inner Transport (TCP, or TLS for wss), which it owns and does all I/O through.
// Server role: answers the HTTP upgrade; client role: sends it. After the handshake read() yields
// the payload bytes of binary frames and writev() sends binary frames. Decoding happens in place
// in the caller's read buffer and server writes go out as header iov + the caller's payload iovs,
// so an idle connection holds no buffers (312 bytes in all; figures in ws_transport.cc).
// Not thread-safe: used only on its connection's loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/transport.h"
#include "net/ws_frame.h"

namespace mq::net {

// MQTT's largest packet (256 MiB - 1 of remaining length, plus a 5-byte fixed header) in one
// frame, with room for a few small packets batched with it.
inline constexpr uint64_t kWsDefaultMaxFrameSize = (uint64_t(256) << 20) + 65536;
inline constexpr size_t kWsDefaultMaxSendFrame = size_t(1) << 20;

// Per listener; shared by its connections and released by each one after its handshake.
struct WebSocketServerOptions {
  size_t max_headers_size = 4096;            // Mosquitto `websockets_headers_size`; over -> 431
  std::vector<std::string> allowed_origins;  // Mosquitto 2.1 `websockets_origin`; empty: any
  uint64_t max_frame_size = kWsDefaultMaxFrameSize;  // a larger incoming frame -> close 1009
  size_t max_send_frame = kWsDefaultMaxSendFrame;    // outgoing writes are split at this size
};

struct WebSocketClientOptions {
  std::string host;  // for the Host header (no brackets needed around IPv6 literals)
  uint16_t port = 0;
  std::string path = "/mqtt";
  std::string subprotocol = "mqtt";  // Sec-WebSocket-Protocol; empty: none offered
  size_t max_response_size = 8192;
  uint64_t max_frame_size = kWsDefaultMaxFrameSize;
  size_t max_send_frame = kWsDefaultMaxSendFrame;
};

class WebSocketTransport final : public Transport {
 public:
  // Server role. REQUIRES: inner and options non-null.
  WebSocketTransport(std::unique_ptr<Transport> inner,
                     std::shared_ptr<const WebSocketServerOptions> options);
  // Client role. REQUIRES: inner non-null.
  WebSocketTransport(std::unique_ptr<Transport> inner, WebSocketClientOptions options);
  ~WebSocketTransport() override;

  // "ws", or "wss" when the inner transport is "tls".
  const char* name() const override { return secure_ ? "wss" : "ws"; }
  int fd() const override { return inner_->fd(); }
  const std::string& peer_address() const override { return inner_->peer_address(); }

  // Drives the inner handshake first, then the HTTP upgrade. A refused request (400, 403, 426,
  // 431) is answered, then reported as kError with error_text() saying why.
  IoResult handshake() override;
  bool handshake_done() const override { return state_ == State::kOpen; }

  // Payload bytes of binary (and continuation) frames, across frame boundaries. Pings are
  // answered, pongs ignored. A close frame is echoed and read() returns kClosed; a protocol
  // violation sends a close frame with its code and returns kError (sys_errno 0).
  IoResult read(void* buf, size_t len) override;
  bool has_buffered_input() const override;
  // Sends the bytes as binary frames of at most max_send_frame payload. A frame whose header
  // went out is owned by this layer: the caller's retry with the same unwritten data continues it.
  IoResult writev(const iovec* iov, int iovcnt) override;
  // Pushes the inner layer's tail, then queued pong / close frames.
  IoResult flush() override;
  uint32_t wanted_events(bool want_read, bool want_write) const override;

  // Sends a close frame (1000) best effort, then shuts the inner transport down once it is out.
  void shutdown() override;
  void close() override { inner_->close(); }
  const TlsTransport* tls() const override { return inner_->tls(); }  // wss: the TLS layer
  void release_idle_buffers(bool periodic) override { inner_->release_idle_buffers(periodic); }
  std::string error_text(const IoResult& r) const override;

  // After a server handshake: the request target ("/mqtt"), the chosen subprotocol ("mqtt",
  // "mqttv3.1" or empty) and the X-Forwarded-For header (empty if absent). After a client
  // handshake subprotocol() is what the server accepted.
  const std::string& request_path() const { return path_; }
  const std::string& subprotocol() const { return subprotocol_; }
  const std::string& forwarded_for() const { return forwarded_for_; }
  // The status code of the peer's close frame (kNone if none arrived or it had no code).
  ws::CloseCode peer_close_code() const { return peer_close_; }
  Transport& inner() { return *inner_; }

 private:
  enum class State : uint8_t { kHandshake, kOpen, kFailed };
  enum class Blocked : uint8_t { kNone, kData, kControl };  // what the inner layer refused last
  struct Handshake;                                         // the HTTP exchange, freed once open
  struct Control;  // control frame buffers, allocated on the first control frame
  struct Client;   // client-only settings and the masking-key pool

  IoResult server_handshake();
  IoResult read_request();
  IoResult client_handshake();
  IoResult read_head(size_t max, size_t& end);
  IoResult write_handshake_out();
  void refuse(int status, const std::string& why);
  IoResult fail_handshake(std::string why);
  void keep_leftover(size_t end);

  size_t decode(uint8_t* buf, size_t n);  // in place; returns the payload bytes left at buf[0..)
  void frame_done();
  void control_done();
  void fail(ws::CloseCode code, std::string why);
  void queue_close(ws::CloseCode code);
  Control& control();
  bool control_pending() const;
  bool at_frame_boundary() const { return out_hdr_len_ == 0; }
  IoResult push_control();
  void try_push_control();
  size_t encode_control(uint8_t opcode, const uint8_t* payload, size_t len);
  void start_frame(uint64_t len);
  std::array<uint8_t, 4> next_mask_key();

  std::unique_ptr<Transport> inner_;
  std::unique_ptr<Handshake> hs_;
  std::unique_ptr<Control> ctl_;
  std::unique_ptr<Client> client_;
  std::string path_, subprotocol_, forwarded_for_;
  std::string error_;       // why the last kError happened, when it was ours
  std::string pending_in_;  // frame bytes that arrived with the handshake, read before inner_
  size_t pending_pos_ = 0;

  // Incoming frame.
  uint64_t max_frame_ = kWsDefaultMaxFrameSize;
  uint64_t in_left_ = 0;  // payload bytes of the current frame still to come
  uint64_t in_pos_ = 0;   // payload bytes of the current frame seen (the masking offset)
  std::array<uint8_t, 4> in_key_{};
  std::array<uint8_t, ws::kMaxFrameHeaderSize> in_hdr_{};
  uint8_t in_hdr_len_ = 0;
  uint8_t in_opcode_ = 0;
  bool in_payload_ = false;  // between a parsed header and the end of its payload
  bool in_masked_ = false;
  bool in_message_ = false;  // a fragmented data message is open (section 5.4)

  // Outgoing data frame (the one whose header has been committed to).
  uint64_t out_left_ = 0;  // payload bytes still to send
  uint64_t out_pos_ = 0;   // payload bytes sent (the masking offset)
  uint32_t max_send_frame_ = uint32_t(kWsDefaultMaxSendFrame);
  std::array<uint8_t, 4> out_key_{};
  std::array<uint8_t, ws::kMaxFrameHeaderSize> out_hdr_{};
  uint8_t out_hdr_len_ = 0;  // 0: no frame in progress
  uint8_t out_hdr_sent_ = 0;

  ws::Role role_;
  State state_ = State::kHandshake;
  Blocked blocked_ = Blocked::kNone;
  ws::CloseCode peer_close_ = ws::CloseCode::kNone;
  bool secure_ = false;
  bool broken_ = false;  // a protocol violation: close frame queued, no more reads or writes
  bool close_received_ = false;
  bool close_queued_ = false;  // a close frame is queued or sent: no more data frames (5.5.1)
  bool shutdown_requested_ = false;
  bool inner_shut_ = false;
};

}  // namespace mq::net
