// proto::Endpoint::publish(const M&): an owner's description of a message, built into an
// entry only when the endpoint keeps it (the broker's fan-out). Same recording sink as
// endpoint_test.cc.
#include <gtest/gtest.h>

#include "endpoint_recorder.h"
#include "proto/endpoint.h"

namespace mq::proto {
namespace {

using namespace endpoint_testing;  // NOLINT: the fixture's vocabulary, in every test

TEST(Endpoint, DescribedQos0IsWrittenWithoutAnEntryAndTooLargeIsDropped) {
  Fixture f(broker_policy(true));
  f.link.peer_maximum_packet_size = 100;
  f.connect();
  f.describe("z", 0);
  f.describe("big", 0, true, 101);  // over the peer's Maximum Packet Size: dropped as if sent
  f.describe("big1", 1, true, 101);  // ... and a QoS 1 one leaves the window again
  f.describe("ok", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"write z q0 m0", "sent z unkept", "too-large big unkept",
                                  "built big1", "admitted big1 m1", "too-large big1", "built ok",
                                  "admitted ok m2", "PUBLISH ok q1 m2"}));
  EXPECT_TRUE(f.out.queue.empty());
  EXPECT_EQ(f.out.inflight.size(), 1u);
}

TEST(Endpoint, DescribedQos1EntersTheWindowOrTheQueue) {
  Fixture f(broker_policy(true));
  f.link.peer_receive_maximum = 2;
  f.connect();
  f.describe("a", 1);
  f.describe("b", 2);
  f.describe("c", 1);                // no room: queued, with the owner's consent
  f.describe("d", 1, false);         // the owner's queue is full: not built at all
  f.describe("z", 0);                // QoS 0 needs no room
  EXPECT_EQ(f.sink.take(),
            (Lines{"built a", "admitted a m1", "PUBLISH a q1 m1", "built b", "admitted b m2",
                   "PUBLISH b q2 m2", "may-queue c", "built c", "admitted c m0", "refused d",
                   "write z q0 m0", "sent z unkept"}));
  EXPECT_EQ(f.out.queue.size(), 1u);
  EXPECT_EQ(f.out.inflight.size(), 2u);
  f.feed(codec::Puback{1, ReasonCode::kSuccess, {}});  // the queue moves as for publish(Entry)
  EXPECT_EQ(f.sink.take(), (Lines{"acked a", "window c m3", "PUBLISH c q1 m3"}));
}

TEST(Endpoint, DescribedMessageWaitsBehindTheQueue) {
  Fixture f(broker_policy(true));
  f.describe("q0", 0);         // offline: QoS 0 too asks the owner (who may drop it)
  f.describe("gone", 0, false);
  f.describe("a", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"may-queue q0", "built q0", "admitted q0 m0", "refused gone",
                                  "may-queue a", "built a", "admitted a m0"}));
  // Connected but not yet pumped (the broker pumps after its own events): a QoS 1 message does
  // not overtake the queue, though the window has room.
  f.ep.on_connected(true, [] {}, false);
  f.describe("b", 1);
  EXPECT_EQ(f.sink.take(), (Lines{"may-queue b", "built b", "admitted b m0"}));
  f.ep.pump();
  EXPECT_EQ(f.sink.take(), (Lines{"PUBLISH q0 q0 m0", "sent q0", "window a m1", "PUBLISH a q1 m1",
                                  "window b m2", "PUBLISH b q1 m2"}));
}

TEST(Endpoint, PacketIdsWrapAndSkipThoseInFlight) {
  Fixture f(kBridgePolicy);
  f.connect();
  f.publish("a", 1);  // m1, stays in flight
  for (int i = 0; i < 65533; i++) (void)f.ep.next_packet_id();  // last given: 65534
  f.publish("b", 1);
  f.publish("c", 1);  // wraps past 0 and the in-flight 1
  Lines l = f.sink.take();
  EXPECT_EQ(l[3], "PUBLISH b q1 m65535");
  EXPECT_EQ(l[5], "PUBLISH c q1 m2");
}

}  // namespace
}  // namespace mq::proto
