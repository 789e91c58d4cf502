// OutQueue: what goes in comes out in order, whatever the mix of copied and shared bytes, chunk
// boundaries and partial writes; chunks are not grown in place and a drained queue holds nothing.
#include "broker/out_queue.h"

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>

namespace mq::broker {
namespace {

// Takes up to `max` bytes from the head, as a short write would.
std::string drain(OutQueue& q, size_t max) {
  iovec iov[64];
  int n = q.fill_iov(iov, 64);
  std::string out;
  for (int i = 0; i < n && out.size() < max; i++) {
    size_t take = std::min(iov[i].iov_len, max - out.size());
    out.append(static_cast<const char*>(iov[i].iov_base), take);
  }
  q.consume(out.size());
  return out;
}

TEST(OutQueue, BytesLeaveInOrderAcrossChunksSharesAndShortWrites) {
  std::mt19937 rng(7);
  OutQueue q;
  std::string want, got;
  auto msg = std::make_shared<Message>();
  msg->payload.assign(5000, 'p');
  for (int round = 0; round < 200; round++) {
    int k = int(rng() % 4);
    if (k == 3) {
      q.append_shared(msg, msg->payload);
      want += msg->payload;
    } else {
      // Sizes around the chunk sizes: tiny, a first chunk, more than a full chunk.
      size_t len = k == 0 ? 1 + rng() % 40 : k == 1 ? 200 + rng() % 200 : 10000 + rng() % 20000;
      std::string b(len, char('a' + round % 26));
      q.append(b);
      want += b;
    }
    EXPECT_EQ(q.size(), want.size() - got.size());
    if (rng() % 3 == 0) got += drain(q, 1 + rng() % 30000);
  }
  while (!q.empty()) got += drain(q, 1 + rng() % 30000);
  EXPECT_EQ(got, want);
  iovec iov[4];
  EXPECT_EQ(q.fill_iov(iov, 4), 0);
}

TEST(OutQueue, SmallPacketsShareOneChunk) {
  OutQueue q;
  for (int i = 0; i < 20; i++) q.append("0123456789");  // 200 bytes: one first-size chunk
  iovec iov[64];
  EXPECT_EQ(q.fill_iov(iov, 64), 1);
  // A busy queue gets larger chunks: 40 KB of 100-byte packets in a handful of segments.
  for (int i = 0; i < 400; i++) q.append(std::string(100, 'x'));
  int n = q.fill_iov(iov, 64);
  EXPECT_LE(n, 8);
  EXPECT_GE(n, 3);
  size_t total = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  EXPECT_EQ(total, q.size());
}

// The inline append only copies into a chunk with room: never after a shared segment, never
// for nothing, and what does not fit continues in a new chunk.
TEST(OutQueue, AppendsAfterSharedBytesAndEmptyAppendsGoToTheirOwnChunk) {
  OutQueue q;
  auto msg = std::make_shared<Message>();
  msg->payload.assign(2000, 's');
  q.append_shared(msg, msg->payload);
  q.append("");
  EXPECT_EQ(q.size(), 2000u);
  iovec iov[8];
  EXPECT_EQ(q.fill_iov(iov, 8), 1);
  EXPECT_EQ(iov[0].iov_base, msg->payload.data());  // referenced, not copied
  q.append("h");  // a new chunk of 2 KiB, the power of two above what is queued
  std::string f(3000, 'f');
  q.append(f);  // fills it, the rest in a further chunk
  q.append("n");
  ASSERT_EQ(q.fill_iov(iov, 8), 3);
  EXPECT_EQ(iov[1].iov_len, 2048u);
  EXPECT_EQ(iov[2].iov_len, 3000u - 2047u + 1u);  // the rest of f, then "n"
  std::string got = drain(q, q.size());
  EXPECT_EQ(got, std::string(2000, 's') + "h" + f + "n");
  EXPECT_TRUE(q.empty());
}

// append_packet is append(header) then append_shared(payload), whether both fit in the last
// chunk, only the header does, or the payload is large enough to be shared.
TEST(OutQueue, AppendPacketQueuesTheHeaderThenThePayload) {
  OutQueue q;
  auto small = std::make_shared<Message>();
  small->payload.assign(100, 's');
  auto large = std::make_shared<Message>();
  large->payload.assign(OutQueue::kShareThreshold, 'L');
  std::string want;
  for (int i = 0; i < 50; i++) {  // 50 x 105 bytes: across the first chunks' ends
    q.append_packet("h" + std::to_string(i % 10) + "...", small, small->payload.view());
    want += "h" + std::to_string(i % 10) + "..." + std::string(100, 's');
  }
  q.append_packet("H", large, large->payload.view());
  want += "H" + std::string(OutQueue::kShareThreshold, 'L');
  EXPECT_EQ(q.size(), want.size());
  iovec iov[64];
  int n = q.fill_iov(iov, 64);
  ASSERT_GE(n, 2);
  EXPECT_EQ(iov[n - 1].iov_base, large->payload.data());  // referenced, not copied
  EXPECT_EQ(drain(q, q.size()), want);
}

// A message payload adopted from a read buffer is the range it names, is written from that
// buffer (no copy), and copies of the message copy only the range.
TEST(Payload, AdoptedBufferIsSharedUntilTheLastSegmentIsWritten) {
  const std::string header = "HDR";
  const std::string body(5000, 'b');
  auto buf = std::make_unique<char[]>(header.size() + body.size());
  std::memcpy(buf.get(), header.data(), header.size());
  std::memcpy(buf.get() + header.size(), body.data(), body.size());
  const char* where = buf.get() + header.size();
  auto msg = std::make_shared<Message>();
  msg->payload.adopt(std::move(buf), header.size(), body.size());
  EXPECT_EQ(msg->payload, body);
  EXPECT_EQ(msg->payload.data(), where);

  Message copy = *msg;  // deep: a copy owns its own bytes, exactly the range
  EXPECT_EQ(copy.payload, body);
  EXPECT_NE(copy.payload.data(), where);

  OutQueue q;
  q.append("x");
  q.append_shared(msg, msg->payload);
  iovec iov[4];
  int n = q.fill_iov(iov, 4);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(iov[1].iov_base, where);  // written from the adopted buffer
  std::weak_ptr<const Message> alive = msg;
  MessagePtr held = std::move(msg);
  held.reset();
  EXPECT_FALSE(alive.expired());  // the queue keeps it until written
  EXPECT_EQ(drain(q, q.size()), "x" + body);
  EXPECT_TRUE(alive.expired());

  Payload empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty, "");
  empty = std::string("now");
  EXPECT_EQ(empty.str(), "now");
}

// A queue moved from, part-drained, is empty and takes new bytes like a new one; the moved-to
// queue keeps the pending bytes where they were.
TEST(OutQueue, MovedFromQueueIsEmptyAndUsable) {
  OutQueue a;
  for (int i = 0; i < 300; i++) a.append("0123456789");  // several chunks
  std::string head = drain(a, 1000);
  ASSERT_EQ(head.size(), 1000u);
  OutQueue b(std::move(a));
  EXPECT_TRUE(a.empty());
  a.append("again");
  EXPECT_EQ(drain(a, 100), "again");
  std::string rest;
  while (!b.empty()) rest += drain(b, 4096);
  EXPECT_EQ(rest.size(), 2000u);
  EXPECT_EQ(rest.substr(0, 10), "0123456789");
  OutQueue c;
  c.append("x");
  c = std::move(b);
  EXPECT_TRUE(c.empty());
  b.append("y");
  EXPECT_EQ(drain(b, 10), "y");
}

}  // namespace
}  // namespace mq::broker
