// libFuzzer target for the WebSocket layer: the HTTP upgrade handshake and the frame decoder of
// WebSocketTransport, over an in-memory inner Transport, plus the pure parsers of ws_frame.h.
// Input layout: byte 0 selects the read chunk size (bits 0-1), write throttling (bit 2), the role
// (bit 3: client, which first gets a valid 101 answer so that the fuzz bytes reach its frame
// decoder), the header size limit (bits 4-5), an origin list (bit 6) and a 100-byte frame limit
// (bit 7). The rest is what the peer sends. The inner transport aborts if a retry after
// kWouldBlock does not start with the same bytes (transport.h); reads echo the payload back.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "net/ws_frame.h"
#include "net/ws_transport.h"

namespace {

using namespace mq::net;  // NOLINT: a test program

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ws_fuzz: %s\n", what);
  std::abort();
}

class MemTransport final : public Transport {
 public:
  MemTransport(size_t chunk, bool throttle) : chunk_(chunk), throttle_(throttle) {}
  const char* name() const override { return "tcp"; }
  int fd() const override { return -1; }
  const std::string& peer_address() const override { return peer_; }
  IoResult handshake() override { return IoResult::ok(0); }
  bool handshake_done() const override { return true; }
  IoResult read(void* buf, size_t len) override {
    if (pos_ == in_.size()) return eof_ ? IoResult::closed() : IoResult::would_block();
    size_t n = std::min({len, chunk_, size_t(in_.size() - pos_)});
    std::memcpy(buf, in_.data() + pos_, n);
    pos_ += n;
    return IoResult::ok(n);
  }
  IoResult writev(const iovec* iov, int iovcnt) override {
    if (shut_) return IoResult::error(EPIPE);
    std::string offer;
    for (int i = 0; i < iovcnt && offer.size() < 300; ++i) {
      offer.append(static_cast<const char*>(iov[i].iov_base),
                   std::min<size_t>(iov[i].iov_len, 300 - offer.size()));
    }
    if (!blocked_.empty() && offer.compare(0, blocked_.size(), blocked_) != 0) {
      fail("retry after kWouldBlock changed the data");
    }
    if (throttle_ && (refuse_ = !refuse_)) {
      blocked_ = offer;
      return IoResult::would_block();
    }
    blocked_.clear();
    size_t n = throttle_ ? std::min<size_t>(offer.size(), 7) : offer.size();
    out_.append(offer, 0, n);
    if (out_.size() > 65536) out_.erase(0, 32768);
    return IoResult::ok(n);
  }
  uint32_t wanted_events(bool r, bool w) const override { return (r ? 1u : 0u) | (w ? 4u : 0u); }
  void shutdown() override { shut_ = true; }
  void close() override {}
  std::string error_text(const IoResult&) const override { return "mem"; }

  std::string in_, out_;
  size_t pos_ = 0;
  bool eof_ = false;

 private:
  size_t chunk_;
  bool throttle_, refuse_ = false, shut_ = false;
  std::string peer_ = "fuzz";
  std::string blocked_;
};

void exercise_parsers(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ws::parse_upgrade_request(text);
  (void)ws::validate_upgrade_response(text, "dGhlIHNhbXBsZSBub25jZQ==", "mqtt");
  ws::FrameHeader h;
  mq::Result<size_t> r = ws::parse_frame_header({data, size}, h);
  if (r.ok() && *r != 0) {
    std::array<uint8_t, ws::kMaxFrameHeaderSize> buf{};
    size_t n = ws::encode_frame_header(h, buf);
    ws::FrameHeader back;
    mq::Result<size_t> again = ws::parse_frame_header(buf, back);
    if (!again.ok() || *again != n || !(back == h)) fail("frame header round trip");
    (void)ws::check_frame_header(h, {ws::Role::kServer, false, 1000});
  }
  (void)ws::parse_close_payload({data, std::min<size_t>(size, 125)});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr size_t kChunks[] = {1, 7, 64, 4096};
  static constexpr size_t kHeaderLimits[] = {64, 512, 4096, 8192};
  const uint8_t sel = data[0];
  const size_t chunk = kChunks[sel & 3];
  const bool throttle = (sel & 4) != 0;
  const bool client = (sel & 8) != 0;
  ++data, --size;
  exercise_parsers(data, size);

  auto mem_owner = std::make_unique<MemTransport>(chunk, throttle);
  MemTransport* mem = mem_owner.get();
  std::unique_ptr<WebSocketTransport> ws;
  if (client) {
    WebSocketClientOptions o;
    o.host = "fuzz";
    o.port = 1;
    if (sel & 0x80) o.max_frame_size = 100;
    ws = std::make_unique<WebSocketTransport>(std::move(mem_owner), o);
  } else {
    auto o = std::make_shared<WebSocketServerOptions>();
    o->max_headers_size = kHeaderLimits[(sel >> 4) & 3];
    if (sel & 0x40) o->allowed_origins = {"https://a.example", "null"};
    if (sel & 0x80) o->max_frame_size = 100;
    ws = std::make_unique<WebSocketTransport>(std::move(mem_owner), std::move(o));
    mem->in_.assign(reinterpret_cast<const char*>(data), size);
    mem->eof_ = true;
  }

  IoResult r;
  for (int i = 0; i < 100000; ++i) {
    r = ws->handshake();
    if (r.status != IoStatus::kWouldBlock) break;
    if (client && mem->in_.empty() && mem->out_.find("\r\n\r\n") != std::string::npos) {
      // Answer the client's request properly, then let the fuzz bytes follow.
      mq::Result<ws::UpgradeRequest> req = ws::parse_upgrade_request(mem->out_);
      if (!req.ok()) fail("our client request does not parse");
      mem->in_ = ws::build_upgrade_response(req->key, "mqtt");
      mem->in_.append(reinterpret_cast<const char*>(data), size);
      mem->eof_ = true;
    } else if (mem->pos_ == mem->in_.size() && !throttle) {
      break;  // no input left and nothing to write: the handshake cannot progress
    }
  }
  if (!r.is_ok()) {
    (void)ws->error_text(r);
    return 0;
  }

  // Read everything, echoing the payload back through writev (which interleaves with pongs).
  uint8_t buf[4096];
  const size_t len = chunk == 4096 ? sizeof buf : chunk * 3;
  size_t total = 0;
  std::string pending;
  for (int i = 0; i < 1000000; ++i) {
    IoResult rr = ws->read(buf, len);
    if (rr.is_ok()) {
      total += rr.bytes;
      if (total > size) fail("more payload than input");
      if (pending.size() < 100000) pending.append(reinterpret_cast<char*>(buf), rr.bytes);
    }
    if (!pending.empty()) {
      iovec iov{pending.data(), pending.size()};
      IoResult w = ws->writev(&iov, 1);
      if (w.is_ok()) pending.erase(0, w.bytes);
    }
    (void)ws->flush();
    (void)ws->wanted_events(true, !pending.empty());
    if (rr.status == IoStatus::kWouldBlock && !ws->has_buffered_input() && pending.empty()) break;
    if (rr.status == IoStatus::kClosed || rr.status == IoStatus::kError) {
      (void)ws->error_text(rr);
      break;
    }
  }
  ws->shutdown();
  ws->close();
  return 0;
}
