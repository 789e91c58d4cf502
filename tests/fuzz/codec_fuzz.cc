// libFuzzer target for the codec: framer + decoder, and the encoder as an oracle.
// Input layout: byte 0 selects the protocol version (bits 0-1), the direction (bit 2), the
// maximum packet size (bits 3-5) and the read chunk size (bits 6-7); the rest is a byte stream
// fed through the Framer. Every decoded packet is re-encoded and decoded again; the two decodes
// must be equal and encoded_size must match, otherwise the target aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/framer.h"
#include "codec/topic.h"
#include "codec/utf8.h"

namespace {

using namespace mq::codec;  // NOLINT: a test program

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "codec_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Exercises the topic functions on what a packet carried.
void check_topics(const Packet& p) {
  if (const auto* s = std::get_if<Subscribe>(&p)) {
    for (const Subscription& e : s->subscriptions) {
      auto shared = parse_shared(e.filter);
      if (!shared) fail("decoded SUBSCRIBE filter", "malformed $share accepted");
      std::string_view filter = shared->has_value() ? (*shared)->filter : e.filter;
      if (!valid_topic_filter(filter)) fail("decoded SUBSCRIBE filter", "invalid filter accepted");
      (void)topic_matches(filter, "a/b/c");
      (void)topic_matches(filter, "$SYS/x");
    }
  } else if (const auto* pub = std::get_if<Publish>(&p)) {
    if (!pub->topic.empty() && !valid_topic_name(pub->topic)) {
      fail("decoded PUBLISH topic", "invalid topic name accepted");
    }
    (void)topic_matches("+/#", pub->topic);
    (void)topic_matches(pub->topic, pub->topic);
  }
}

void round_trip(const Frame& frame, ProtocolVersion v, Direction d) {
  mq::Result<Packet> first = decode(frame.fixed_header, frame.body, v, d);
  if (!first) return;
  check_topics(*first);
  std::string wire;
  mq::Status st = encode(*first, v, wire);
  if (!st) fail("re-encode failed", st.error().to_string());
  mq::Result<size_t> size = encoded_size(*first, v);
  if (!size || *size != wire.size()) fail("encoded_size", "differs from the encoding");

  Framer again;
  again.append(wire);
  mq::Result<std::optional<Frame>> f2 = again.next();
  if (!f2 || !f2->has_value() || (*f2)->size != wire.size()) fail("re-frame", "bad framing");
  mq::Result<Packet> second = decode((*f2)->fixed_header, (*f2)->body, v, d);
  if (!second) fail("re-decode failed", second.error().to_string());
  if (!(*second == *first)) fail("round trip", packet_type_name(packet_type(*first)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr ProtocolVersion kVersions[] = {ProtocolVersion::kV31, ProtocolVersion::kV311,
                                                  ProtocolVersion::kV5, ProtocolVersion::kV5};
  static constexpr size_t kMaxSizes[] = {16,    64,      256,     1024,
                                         65536, 1 << 20, 1 << 24, Framer::kProtocolMaxPacketSize};
  static constexpr size_t kChunks[] = {1, 7, 64, SIZE_MAX};
  const uint8_t sel = data[0];
  const ProtocolVersion v = kVersions[sel & 3];
  const Direction d = (sel & 4) ? Direction::kServerToClient : Direction::kClientToServer;
  const size_t max = kMaxSizes[(sel >> 3) & 7];
  const size_t chunk = kChunks[(sel >> 6) & 3];

  (void)valid_utf8(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  Framer framer(max);
  size_t pos = 1;
  while (pos < size) {
    size_t n = std::min(chunk, size - pos);
    std::span<char> dst = framer.prepare(n);
    std::memcpy(dst.data(), data + pos, n);
    framer.commit(n);
    pos += n;
    for (;;) {
      mq::Result<std::optional<Frame>> r = framer.next();
      if (!r) return 0;  // the connection would be closed
      if (!r->has_value()) break;
      if ((*r)->size > max) fail("framer", "frame above the maximum packet size");
      round_trip(**r, v, d);
    }
  }
  return 0;
}
