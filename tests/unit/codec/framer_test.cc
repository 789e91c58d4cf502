// The framer: whole packets out of arbitrary chunks, the maximum packet size enforced before the
// body arrives, zero-copy reads, and bounded, amortised buffer work.
#include <cstring>

#include "test_util.h"

namespace mq::codec::testing {
namespace {

struct Got {
  uint8_t header;
  std::string body;
  bool operator==(const Got&) const = default;
};

// Drains every whole frame; fails the test on an error.
void drain(Framer& f, std::vector<Got>& out) {
  for (;;) {
    Result<std::optional<Frame>> r = f.next();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    if (!r->has_value()) return;
    out.push_back({(*r)->fixed_header, std::string((*r)->body)});
  }
}

std::string stream_of_packets(std::vector<Got>& expected) {
  std::string stream;
  Publish p;
  p.topic = "a/b";
  static const std::string payload(200, 'x');  // remaining length needs two bytes
  p.payload = payload;
  std::vector<Packet> packets = {Pingreq{}, p, Puback{7, {}, {}}, Disconnect{}};
  for (const Packet& pk : packets) {
    std::string wire = encode_to_string(pk, kV311);
    Framer f;
    f.append(wire);
    Result<std::optional<Frame>> r = f.next();
    expected.push_back({(*r)->fixed_header, std::string((*r)->body)});
    stream += wire;
  }
  return stream;
}

TEST(Framer, SeveralPacketsInOneChunk) {
  std::vector<Got> expected;
  std::string stream = stream_of_packets(expected);
  Framer f;
  f.append(stream);
  std::vector<Got> got;
  drain(f, got);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(Framer, SplitAtEveryByteBoundary) {
  std::vector<Got> expected;
  std::string stream = stream_of_packets(expected);
  for (size_t i = 0; i <= stream.size(); ++i) {
    Framer f;
    std::vector<Got> got;
    f.append(std::string_view(stream).substr(0, i));
    drain(f, got);
    f.append(std::string_view(stream).substr(i));
    drain(f, got);
    EXPECT_EQ(got, expected) << "split at " << i;
  }
}

TEST(Framer, OneByteAtATimeThroughPrepareAndCommit) {
  std::vector<Got> expected;
  std::string stream = stream_of_packets(expected);
  Framer f;
  std::vector<Got> got;
  for (char c : stream) {
    std::span<char> dst = f.prepare(1);
    ASSERT_GE(dst.size(), 1u);
    dst[0] = c;  // what read(fd, dst.data(), dst.size()) would do
    f.commit(1);
    drain(f, got);
  }
  EXPECT_EQ(got, expected);
}

TEST(Framer, OversizeRejectedBeforeTheBodyArrives) {
  Framer f(100);
  // PUBLISH with remaining length 1,000,000: only the fixed header has arrived.
  f.append(bytes({0x30, 0xC0, 0x84, 0x3D}));
  Result<std::optional<Frame>> r = f.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(r.error().reason, 0x95);
  EXPECT_LE(f.capacity(), 4096u);  // nothing was allocated for the body
  // The error is sticky: the stream cannot be resynchronised.
  EXPECT_FALSE(f.next().ok());
}

TEST(Framer, MaximumCountsTheWholePacket) {
  // 1 (header) + 1 (remaining length) + 98 (body) = 100 bytes: allowed at 100, not at 99.
  std::string wire = bytes({0x30, 98}) + std::string(98, 'x');
  Framer ok(100);
  ok.append(wire);
  Result<std::optional<Frame>> r = ok.next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->size, 100u);
  Framer tight(99);
  tight.append(wire.substr(0, 2));
  EXPECT_FALSE(tight.next().ok());
}

TEST(Framer, HugeDeclaredLengthNeverAllocated) {
  Framer f;  // protocol maximum
  f.set_max_packet_size(1024);
  f.append(bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F}));  // 268435455
  EXPECT_FALSE(f.next().ok());
  EXPECT_LE(f.capacity(), 4096u);
}

TEST(Framer, RejectsBadRemainingLengthEncodings) {
  Framer a;
  a.append(bytes({0x30, 0x80, 0x80, 0x80, 0x80}));
  Result<std::optional<Frame>> r = a.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, 0x81);
  Framer b;
  b.append(bytes({0xC0, 0x80, 0x00}));
  ASSERT_FALSE(b.next().ok());
  Framer c;  // incomplete but plausible: wait for more
  c.append(bytes({0x30, 0x80, 0x80}));
  Result<std::optional<Frame>> rc = c.next();
  ASSERT_TRUE(rc.ok());
  EXPECT_FALSE(rc->has_value());
}

TEST(Framer, PendingPacketSize) {
  Framer f;
  f.append(bytes({0x30, 0x0A, 0x00}));
  Result<std::optional<Frame>> r = f.next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(f.pending_packet_size(), 12u);
}

TEST(Framer, ManySmallPacketsKeepTheBufferSmallAndWorkLinear) {
  // 1,000,000 PINGREQs (2 MB) in 4093-byte reads, so packets straddle every read boundary.
  const std::string ping = bytes({0xC0, 0x00});
  std::string stream;
  for (int i = 0; i < 1'000'000; ++i) stream += ping;
  Framer f;
  size_t pos = 0;
  size_t frames = 0;
  size_t max_capacity = 0;
  while (pos < stream.size()) {
    std::span<char> dst = f.prepare(4093);
    size_t n = std::min<size_t>(4093, stream.size() - pos);
    std::memcpy(dst.data(), stream.data() + pos, n);
    f.commit(n);
    pos += n;
    for (;;) {
      Result<std::optional<Frame>> r = f.next();
      ASSERT_TRUE(r.ok());
      if (!r->has_value()) break;
      ++frames;
    }
    max_capacity = std::max(max_capacity, f.capacity());
  }
  EXPECT_EQ(frames, 1'000'000u);
  EXPECT_LE(max_capacity, 16384u);
}

TEST(Framer, BigPacketThenIdleReleasesTheBuffer) {
  Publish p;
  std::string payload(300 * 1024, 'p');
  p.topic = "t";
  p.payload = payload;
  std::string wire = encode_to_string(p, kV311);
  Framer f;
  for (size_t pos = 0; pos < wire.size(); pos += 16384) {
    std::string_view chunk = std::string_view(wire).substr(pos, 16384);
    std::span<char> dst = f.prepare(chunk.size());
    std::memcpy(dst.data(), chunk.data(), chunk.size());
    f.commit(chunk.size());
  }
  Result<std::optional<Frame>> r = f.next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->body.size(), wire.size() - 4);  // header byte + 3-byte remaining length
  EXPECT_LE(f.capacity(), 2 * wire.size() + 16384);
  (void)f.prepare(4096);
  EXPECT_LE(f.capacity(), 64u * 1024);
}

}  // namespace
}  // namespace mq::codec::testing

namespace mq::codec::testing {
namespace {

// A large packet read into a buffer sized for it alone can be handed over with its views; a
// buffer that holds more (unread bytes, or much spare room) stays with the framer.
TEST(Framer, ReleasesABufferHoldingOnlyTheLastPacket) {
  std::string body(100000, 'p');
  std::string packet = "\x30";
  append_varint(packet, uint32_t(body.size()));
  packet += body;
  Framer f;
  // As the broker reads: a first chunk, then room for exactly the rest once the size is known.
  std::span<char> s = f.prepare(16 * 1024);
  std::memcpy(s.data(), packet.data(), 16 * 1024);
  f.commit(16 * 1024);
  auto r = f.next();
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->has_value());
  size_t rest = f.pending_packet_size() - f.buffered();
  s = f.prepare(rest);
  std::memcpy(s.data(), packet.data() + 16 * 1024, rest);
  f.commit(rest);
  r = f.next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  std::string_view got = (*r)->body;
  EXPECT_EQ(f.release_buffer_holding(got, 0), nullptr);  // the header bytes are outside `got`
  std::unique_ptr<char[]> buf = f.release_buffer_holding(got, got.size() / 8);
  ASSERT_NE(buf, nullptr);
  EXPECT_EQ(got, body);  // the view now points into memory the caller owns
  EXPECT_EQ(f.buffered(), 0u);
  EXPECT_EQ(f.capacity(), 0u);
  auto none = f.next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  // Two packets in one buffer: the first cannot take the buffer while the second is unread.
  Framer g;
  g.append(packet + packet);
  auto first = g.next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(g.release_buffer_holding((*first)->body, packet.size() * 2), nullptr);
  auto second = g.next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->body, body);
}

}  // namespace
}  // namespace mq::codec::testing
