// Design note. Reads decode in place: read() asks the inner transport for at most `len` bytes
// straight into the caller's buffer, strips frame headers, unmasks payload bytes and moves them
// down to the front of the same buffer. A header split across reads waits in in_hdr_ (14 bytes);
// control frame bodies (<= 125 bytes) go to a Control block allocated on the first control frame.
// Nothing read is ever held back, so has_buffered_input() only reflects the inner layer and the
// bytes that arrived together with the handshake.
// Writes: a data frame's header is committed once, for min(bytes offered, max_send_frame); the
// server then hands the inner layer [header][the caller's own iovs] (no copy); the client masks a
// copy in a 16 KiB stack buffer, which it can regenerate byte for byte, so nothing is kept when
// the inner layer refuses it. The caller's retry with the same unwritten data continues the frame.
// Control frames (pong, close) are sent only between data frames and in inner calls of their
// own, so that after an inner kWouldBlock the next inner call offers the same bytes again.
// Memory (x86-64): an open, idle connection is the object itself, 312 bytes, with no heap blocks
// beyond path/subprotocol strings longer than 15 bytes; +~400 bytes once the peer has sent a
// control frame (Control); +~240 bytes in the client role (Client). During the handshake the
// head buffer grows to at most max_headers_size (server) or max_response_size (client).
#include "net/ws_transport.h"

#include <sys/epoll.h>
#include <sys/random.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace mq::net {

using ws::CloseCode;
using ws::Opcode;

namespace {
constexpr size_t kNpos = std::string_view::npos;
constexpr int kMaxIov = 64;
constexpr size_t kMaskChunk = 16384;
}  // namespace

struct WebSocketTransport::Handshake {
  std::shared_ptr<const WebSocketServerOptions> opts;  // server role only
  std::string in;                                      // request or response head as it arrives
  std::string out;                                     // our request, response or refusal
  size_t out_sent = 0;
  bool writing = false;  // server: the answer is ready to send
  int refusal = 0;       // server: the HTTP status being sent instead of 101
  std::string why;
};

struct WebSocketTransport::Control {
  std::array<uint8_t, ws::kMaxControlPayload> in{};  // the body of the control frame being read
  uint8_t in_len = 0;
  std::array<uint8_t, 6 + ws::kMaxControlPayload> out{};  // one control frame on its way out
  uint8_t out_len = 0, out_sent = 0;
  std::array<uint8_t, ws::kMaxControlPayload> pong{};  // 5.5.3: answer only the latest ping
  uint8_t pong_len = 0;
  bool pong_pending = false;
  bool close_pending = false;
  uint16_t close_code = 0;  // 0: a close frame without a body
};

struct WebSocketTransport::Client {
  WebSocketClientOptions opts;
  std::string key;
  std::array<uint8_t, 64> pool{};  // random bytes for masking keys (section 10.3)
  size_t pool_pos = 64;
  uint64_t fallback = 0;
};

WebSocketTransport::WebSocketTransport(std::unique_ptr<Transport> inner,
                                       std::shared_ptr<const WebSocketServerOptions> options)
    : inner_(std::move(inner)), hs_(std::make_unique<Handshake>()), role_(ws::Role::kServer) {
  assert(inner_ && options);
  secure_ = std::strcmp(inner_->name(), "tls") == 0;
  max_frame_ = options->max_frame_size;
  max_send_frame_ = uint32_t(std::clamp<size_t>(options->max_send_frame, 1, UINT32_MAX));
  hs_->opts = std::move(options);
}

WebSocketTransport::WebSocketTransport(std::unique_ptr<Transport> inner,
                                       WebSocketClientOptions options)
    : inner_(std::move(inner)),
      hs_(std::make_unique<Handshake>()),
      client_(std::make_unique<Client>()),
      role_(ws::Role::kClient) {
  assert(inner_);
  secure_ = std::strcmp(inner_->name(), "tls") == 0;
  max_frame_ = options.max_frame_size;
  max_send_frame_ = uint32_t(std::clamp<size_t>(options.max_send_frame, 1, UINT32_MAX));
  client_->opts = std::move(options);
}

WebSocketTransport::~WebSocketTransport() = default;

// --- opening handshake (section 4) ------------------------------------------------------------

IoResult WebSocketTransport::handshake() {
  if (state_ == State::kOpen) return IoResult::ok(0);
  if (state_ == State::kFailed) return IoResult::error(0);
  if (!inner_->handshake_done()) {
    IoResult r = inner_->handshake();
    if (!r.is_ok()) return r;
  }
  return role_ == ws::Role::kServer ? server_handshake() : client_handshake();
}

IoResult WebSocketTransport::read_head(size_t max, size_t& end) {
  std::string& in = hs_->in;
  for (;;) {
    const size_t have = in.size();
    if (have >= max) {
      end = kNpos;  // the limit is reached without a blank line
      return IoResult::ok(0);
    }
    in.resize(max);
    IoResult r = inner_->read(in.data() + have, max - have);
    in.resize(have + (r.is_ok() ? r.bytes : 0));
    if (!r.is_ok()) return r;
    const size_t from = have >= 3 ? have - 3 : 0;  // the terminator may straddle two reads
    end = ws::find_header_end(std::string_view(in).substr(from));
    if (end != kNpos) {
      end += from;
      return IoResult::ok(0);
    }
  }
}

IoResult WebSocketTransport::write_handshake_out() {
  Handshake& hs = *hs_;
  while (hs.out_sent < hs.out.size()) {
    iovec iov{hs.out.data() + hs.out_sent, hs.out.size() - hs.out_sent};
    IoResult r = inner_->writev(&iov, 1);
    if (!r.is_ok()) return r;
    hs.out_sent += r.bytes;
  }
  return IoResult::ok(0);
}

IoResult WebSocketTransport::fail_handshake(std::string why) {
  state_ = State::kFailed;
  error_ = std::move(why);
  hs_.reset();
  return IoResult::error(0);
}

void WebSocketTransport::keep_leftover(size_t end) {
  // Frame bytes that came in the same read as the end of the HTTP head.
  if (end < hs_->in.size()) pending_in_.assign(hs_->in, end, std::string::npos);
}

void WebSocketTransport::refuse(int status, const std::string& why) {
  Handshake& hs = *hs_;
  hs.out = ws::build_error_response(status);
  hs.refusal = status;
  hs.why = "WebSocket handshake refused with HTTP " + std::to_string(status) + " " +
           ws::http_reason_phrase(status) + ": " + why;
  hs.writing = true;
}

IoResult WebSocketTransport::read_request() {
  Handshake& hs = *hs_;
  const size_t max = hs.opts->max_headers_size;
  size_t end = 0;
  IoResult r = read_head(max, end);
  if (!r.is_ok()) return r;
  if (end == kNpos) {
    refuse(431, "request head larger than " + std::to_string(max) + " bytes");
    return IoResult::ok(0);
  }
  Result<ws::UpgradeRequest> req =
      ws::parse_upgrade_request(std::string_view(hs.in).substr(0, end));
  if (!req) {
    refuse(ws::http_status_for(req.error()), req.error().context);
    return IoResult::ok(0);
  }
  if (!ws::origin_allowed(req->origin, hs.opts->allowed_origins)) {
    refuse(403, req->origin.empty() ? std::string("no Origin header")
                                    : "Origin \"" + std::string(req->origin) + "\" not allowed");
    return IoResult::ok(0);
  }
  path_ = req->target;
  subprotocol_ = req->subprotocol;
  forwarded_for_ = req->forwarded_for;
  hs.out = ws::build_upgrade_response(req->key, req->subprotocol);
  keep_leftover(end);
  hs.writing = true;
  return IoResult::ok(0);
}

IoResult WebSocketTransport::server_handshake() {
  if (!hs_->writing) {
    IoResult r = read_request();
    if (!r.is_ok()) return r;
  }
  IoResult w = write_handshake_out();
  if (!w.is_ok()) return w;
  if (hs_->refusal != 0) {
    inner_->shutdown();
    inner_shut_ = true;
    return fail_handshake(std::move(hs_->why));
  }
  state_ = State::kOpen;
  hs_.reset();
  return IoResult::ok(0);
}

IoResult WebSocketTransport::client_handshake() {
  Handshake& hs = *hs_;
  const WebSocketClientOptions& o = client_->opts;
  if (hs.out.empty()) {
    client_->key = ws::make_client_key();
    hs.out = ws::build_client_request(o.host, o.port, o.path, client_->key, o.subprotocol);
  }
  IoResult w = write_handshake_out();
  if (!w.is_ok()) return w;
  size_t end = 0;
  IoResult r = read_head(o.max_response_size, end);
  if (r.status == IoStatus::kClosed) {
    return fail_handshake("server closed the connection during the WebSocket handshake");
  }
  if (!r.is_ok()) return r;
  if (end == kNpos) return fail_handshake("WebSocket handshake response too large");
  Result<std::string> v = ws::validate_upgrade_response(std::string_view(hs.in).substr(0, end),
                                                        client_->key, o.subprotocol);
  if (!v) return fail_handshake(v.error().context);
  subprotocol_ = std::move(*v);
  path_ = o.path;
  keep_leftover(end);
  state_ = State::kOpen;
  hs_.reset();
  return IoResult::ok(0);
}

// --- reading frames (section 5) ---------------------------------------------------------------

IoResult WebSocketTransport::read(void* buf, size_t len) {
  if (state_ == State::kFailed || broken_) return IoResult::error(0);
  if (state_ != State::kOpen) return IoResult::error(ENOTCONN);
  if (close_received_) return IoResult::closed();
  if (len == 0) return IoResult::would_block();
  auto* p = static_cast<uint8_t*>(buf);
  for (;;) {
    size_t n;
    if (pending_pos_ < pending_in_.size()) {
      n = std::min(len, pending_in_.size() - pending_pos_);
      std::memcpy(p, pending_in_.data() + pending_pos_, n);
      pending_pos_ += n;
      if (pending_pos_ == pending_in_.size()) {
        std::string().swap(pending_in_);
        pending_pos_ = 0;
      }
    } else {
      IoResult r = inner_->read(p, len);
      if (!r.is_ok()) return r;
      n = r.bytes;
    }
    const size_t produced = decode(p, n);
    if (produced > 0) return IoResult::ok(produced);  // a close or error comes with the next call
    if (broken_) return IoResult::error(0);
    if (close_received_) return IoResult::closed();
  }
}

bool WebSocketTransport::has_buffered_input() const {
  if (state_ != State::kOpen || broken_ || close_received_) return false;
  return pending_pos_ < pending_in_.size() || inner_->has_buffered_input();
}

WebSocketTransport::Control& WebSocketTransport::control() {
  if (!ctl_) ctl_ = std::make_unique<Control>();
  return *ctl_;
}

size_t WebSocketTransport::decode(uint8_t* buf, size_t n) {
  size_t r = 0, w = 0;  // read and write positions in buf; w <= r always
  while (r < n && !broken_ && !close_received_) {
    if (!in_payload_) {
      const size_t take = std::min(n - r, in_hdr_.size() - in_hdr_len_);
      std::memcpy(in_hdr_.data() + in_hdr_len_, buf + r, take);
      ws::FrameHeader h;
      Result<size_t> hr =
          ws::parse_frame_header(std::span<const uint8_t>(in_hdr_.data(), in_hdr_len_ + take), h);
      if (!hr) {
        fail(CloseCode::kProtocolError, hr.error().context);
        break;
      }
      if (*hr == 0) {  // still a partial header: all of `take` belongs to it
        in_hdr_len_ = uint8_t(in_hdr_len_ + take);
        r += take;
        continue;
      }
      r += *hr - in_hdr_len_;
      in_hdr_len_ = 0;
      const char* problem = "";
      const CloseCode bad = ws::check_frame_header(h, {role_, in_message_, max_frame_}, &problem);
      if (bad != CloseCode::kNone) {
        std::string why = problem;
        if (bad == CloseCode::kMessageTooBig) {
          why += " (" + std::to_string(h.payload_length) + " > " + std::to_string(max_frame_) + ")";
        }
        fail(bad, std::move(why));
        break;
      }
      in_opcode_ = h.opcode;
      in_masked_ = h.masked;
      in_key_ = h.mask_key;
      in_left_ = h.payload_length;
      in_pos_ = 0;
      in_payload_ = true;
      if (ws::is_control(h.opcode)) {
        control().in_len = 0;
      } else {
        in_message_ = !h.fin;
      }
      if (in_left_ == 0) frame_done();
      continue;
    }
    const size_t m = size_t(std::min<uint64_t>(n - r, in_left_));
    if (!ws::is_control(in_opcode_)) {
      if (w != r) std::memmove(buf + w, buf + r, m);
      if (in_masked_) ws::apply_mask(buf + w, m, in_key_, in_pos_);
      w += m;
    } else {
      Control& c = *ctl_;
      std::memcpy(c.in.data() + c.in_len, buf + r, m);  // m <= 125 - in_len: checked at the header
      if (in_masked_) ws::apply_mask(c.in.data() + c.in_len, m, in_key_, in_pos_);
      c.in_len = uint8_t(c.in_len + m);
    }
    r += m;
    in_left_ -= m;
    in_pos_ += m;
    if (in_left_ == 0) frame_done();
  }
  return w;
}

void WebSocketTransport::frame_done() {
  in_payload_ = false;
  if (ws::is_control(in_opcode_)) control_done();
}

void WebSocketTransport::control_done() {
  Control& c = *ctl_;
  if (in_opcode_ == uint8_t(Opcode::kPing)) {
    // 5.5.2: answer a ping with a pong carrying the same application data, unless we already
    // sent a close frame; 5.5.3 allows answering only the most recent of several pings.
    if (close_queued_) return;
    c.pong = c.in;
    c.pong_len = c.in_len;
    c.pong_pending = true;
    try_push_control();
  } else if (in_opcode_ == uint8_t(Opcode::kClose)) {
    Result<ws::ClosePayload> cp =
        ws::parse_close_payload(std::span<const uint8_t>(c.in.data(), c.in_len));
    if (!cp) {
      fail(ws::close_code_for(cp.error()), cp.error().context);
      return;
    }
    peer_close_ = cp->code;
    close_received_ = true;
    // 5.5.1: "If an endpoint receives a Close frame and did not previously send a Close frame,
    // the endpoint MUST send a Close frame in response" (echoing the status code).
    if (!close_queued_) queue_close(cp->code);
    try_push_control();
  }
  // Pongs need no answer (5.5.3: unsolicited ones included).
}

void WebSocketTransport::fail(CloseCode code, std::string why) {
  broken_ = true;
  error_ = "WebSocket " + std::string(ws::close_reason_text(code)) + ": " + why + " (close " +
           std::to_string(uint16_t(code)) + ")";
  if (!close_queued_) queue_close(code);
  try_push_control();
}

void WebSocketTransport::queue_close(CloseCode code) {
  Control& c = control();
  c.close_pending = true;
  c.close_code = uint16_t(code);
  close_queued_ = true;
}

// --- writing frames -----------------------------------------------------------------------------

std::array<uint8_t, 4> WebSocketTransport::next_mask_key() {
  Client& c = *client_;
  if (c.pool_pos + 4 > c.pool.size()) {
    ssize_t n = getrandom(c.pool.data(), c.pool.size(), GRND_NONBLOCK);
    if (n != ssize_t(c.pool.size())) {  // no kernel entropy: still vary the key per frame
      for (uint8_t& b : c.pool) {
        c.fallback = c.fallback * 6364136223846793005ull + 1442695040888963407ull +
                     uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
        b = uint8_t(c.fallback >> 56);
      }
    }
    c.pool_pos = 0;
  }
  std::array<uint8_t, 4> k;
  std::memcpy(k.data(), c.pool.data() + c.pool_pos, 4);
  c.pool_pos += 4;
  return k;
}

size_t WebSocketTransport::encode_control(uint8_t opcode, const uint8_t* payload, size_t len) {
  Control& c = *ctl_;
  ws::FrameHeader h;
  h.opcode = opcode;
  h.payload_length = len;
  h.masked = role_ == ws::Role::kClient;
  if (h.masked) h.mask_key = next_mask_key();
  size_t hl = ws::encode_frame_header(
      h, std::span<uint8_t, ws::kMaxFrameHeaderSize>(c.out.data(), ws::kMaxFrameHeaderSize));
  if (len != 0) std::memcpy(c.out.data() + hl, payload, len);
  if (h.masked) ws::apply_mask(c.out.data() + hl, len, h.mask_key, 0);
  c.out_len = uint8_t(hl + len);
  c.out_sent = 0;
  return c.out_len;
}

bool WebSocketTransport::control_pending() const {
  return ctl_ && (ctl_->out_sent < ctl_->out_len || ctl_->pong_pending || ctl_->close_pending);
}

IoResult WebSocketTransport::push_control() {
  if (ctl_) {
    Control& c = *ctl_;
    for (;;) {
      if (c.out_sent == c.out_len) {
        if (c.pong_pending) {
          c.pong_pending = false;
          encode_control(uint8_t(Opcode::kPong), c.pong.data(), c.pong_len);
        } else if (c.close_pending) {
          c.close_pending = false;
          uint8_t body[2] = {uint8_t(c.close_code >> 8), uint8_t(c.close_code)};
          encode_control(uint8_t(Opcode::kClose), body, c.close_code ? 2 : 0);
        } else {
          break;
        }
      }
      iovec iov{c.out.data() + c.out_sent, size_t(c.out_len - c.out_sent)};
      IoResult r = inner_->writev(&iov, 1);
      if (r.status == IoStatus::kWouldBlock) blocked_ = Blocked::kControl;
      if (!r.is_ok()) return r;
      blocked_ = Blocked::kNone;
      if (r.bytes == 0) return IoResult::would_block();  // defensive: no progress
      c.out_sent = uint8_t(c.out_sent + r.bytes);
    }
  }
  if (shutdown_requested_ && !inner_shut_) {
    inner_->shutdown();
    inner_shut_ = true;
  }
  return IoResult::ok(0);
}

void WebSocketTransport::try_push_control() {
  if (state_ == State::kOpen && at_frame_boundary() && blocked_ != Blocked::kData) {
    (void)push_control();
  }
}

void WebSocketTransport::start_frame(uint64_t len) {
  ws::FrameHeader h;
  h.opcode = uint8_t(Opcode::kBinary);  // [MQTT-6.0.0-1] binary data frames only
  h.payload_length = len;
  h.masked = role_ == ws::Role::kClient;
  if (h.masked) h.mask_key = next_mask_key();
  out_key_ = h.mask_key;
  out_hdr_len_ = uint8_t(ws::encode_frame_header(h, out_hdr_));
  out_hdr_sent_ = 0;
  out_left_ = len;
  out_pos_ = 0;
}

IoResult WebSocketTransport::writev(const iovec* iov, int iovcnt) {
  if (state_ == State::kFailed || broken_) return IoResult::error(0);
  if (state_ != State::kOpen) return IoResult::error(ENOTCONN);
  if (close_queued_) return IoResult::error(EPIPE);  // 5.5.1: no data after a close frame
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  if (total == 0) return IoResult::ok(0);
  if (at_frame_boundary() && control_pending()) {
    IoResult r = push_control();
    if (!r.is_ok()) return r;
  }

  int idx = 0;     // cursor over the caller's buffers: the first not fully accepted
  size_t off = 0;  // and the offset in it
  size_t accepted = 0;
  uint8_t scratch[kMaskChunk];
  while (accepted < total) {
    if (at_frame_boundary()) start_frame(std::min<uint64_t>(total - accepted, max_send_frame_));
    iovec out[kMaxIov];
    int cnt = 0;
    const size_t hdr_rem = size_t(out_hdr_len_ - out_hdr_sent_);
    if (hdr_rem != 0) out[cnt++] = {out_hdr_.data() + out_hdr_sent_, hdr_rem};
    const size_t want = size_t(std::min<uint64_t>(out_left_, total - accepted));
    size_t offered = 0;
    int i = idx;
    size_t o = off;
    if (role_ == ws::Role::kServer) {
      for (; offered < want && cnt < kMaxIov && i < iovcnt; ++i, o = 0) {
        size_t piece = std::min(iov[i].iov_len - o, want - offered);
        if (piece != 0) out[cnt++] = {static_cast<char*>(iov[i].iov_base) + o, piece};
        offered += piece;
      }
    } else {
      // 5.3: the client masks a copy; the same key and offset give the same bytes on a retry.
      const size_t cap = std::min(want, sizeof scratch);
      for (; offered < cap && i < iovcnt; ++i, o = 0) {
        size_t piece = std::min(iov[i].iov_len - o, cap - offered);
        std::memcpy(scratch + offered, static_cast<const char*>(iov[i].iov_base) + o, piece);
        offered += piece;
      }
      ws::apply_mask(scratch, offered, out_key_, out_pos_);
      out[cnt++] = {scratch, offered};
    }
    IoResult r = inner_->writev(out, cnt);
    if (r.status == IoStatus::kWouldBlock) {
      blocked_ = Blocked::kData;
      break;
    }
    if (!r.is_ok()) {
      if (accepted != 0) break;  // report progress now; the error will come back next time
      return r;
    }
    blocked_ = Blocked::kNone;
    size_t b = r.bytes;
    const size_t h = std::min(b, hdr_rem);
    out_hdr_sent_ = uint8_t(out_hdr_sent_ + h);
    b -= h;
    accepted += b;
    out_left_ -= b;
    out_pos_ += b;
    while (b != 0) {  // advance the cursor
      size_t step = std::min(b, iov[idx].iov_len - off);
      b -= step;
      off += step;
      if (off == iov[idx].iov_len) ++idx, off = 0;
    }
    if (out_hdr_sent_ == out_hdr_len_ && out_left_ == 0) out_hdr_len_ = out_hdr_sent_ = 0;
    if (r.bytes == 0) break;
  }
  if (at_frame_boundary() && control_pending()) try_push_control();
  return accepted != 0 ? IoResult::ok(accepted) : IoResult::would_block();
}

IoResult WebSocketTransport::flush() {
  IoResult r = inner_->flush();
  if (!r.is_ok() || state_ != State::kOpen || !control_pending()) return r;
  if (!at_frame_boundary()) return IoResult::would_block();  // after the caller's frame ends
  return push_control();
}

uint32_t WebSocketTransport::wanted_events(bool want_read, bool want_write) const {
  if (state_ == State::kHandshake) {
    if (!inner_->handshake_done()) return inner_->wanted_events(true, false);
    bool writing = role_ == ws::Role::kServer
                       ? hs_->writing
                       : (hs_->out.empty() || hs_->out_sent < hs_->out.size());
    return inner_->wanted_events(!writing, writing);
  }
  if (state_ == State::kOpen) {
    want_read = want_read && !close_received_ && !broken_;
    want_write = want_write || (control_pending() && at_frame_boundary());
  }
  return inner_->wanted_events(want_read, want_write);
}

void WebSocketTransport::shutdown() {
  shutdown_requested_ = true;
  if (state_ == State::kOpen) {
    if (!close_queued_) queue_close(CloseCode::kNormal);
    try_push_control();  // shuts the inner transport down once the close frame is out
  }
  if (!control_pending() && !inner_shut_) {
    inner_->shutdown();
    inner_shut_ = true;
  }
}

std::string WebSocketTransport::error_text(const IoResult& r) const {
  if (r.status == IoStatus::kError && r.sys_errno == 0 && !error_.empty()) return error_;
  if (r.status == IoStatus::kError && r.sys_errno == ENOTCONN && state_ == State::kHandshake) {
    return "WebSocket handshake not finished";
  }
  if (r.status == IoStatus::kClosed && close_received_) {
    return "WebSocket closed by peer (" + std::to_string(uint16_t(peer_close_)) + " " +
           ws::close_reason_text(peer_close_) + ")";
  }
  return inner_->error_text(r);
}

}  // namespace mq::net
