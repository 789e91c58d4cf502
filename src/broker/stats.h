// Broker counters behind $SYS/broker/...: one Stats per Broker (per event loop), bumped only on
// that loop's thread. With thread_count > 1, shard 0 reads every shard's Stats to publish the
// sums, so each field is a single-writer atomic (relaxed load and store, no locked
// instruction): as cheap as a plain integer on the writer, and a race-free read elsewhere.
#pragma once

#include <atomic>
#include <cstdint>

namespace mq::broker {

// A counter written by one thread and read by any.
class Counter {
 public:
  Counter(uint64_t v = 0) : v_(v) {}  // NOLINT: used like the integer it replaces
  Counter(const Counter& o) : v_(o.get()) {}
  Counter& operator=(const Counter& o) { return *this = o.get(); }
  Counter& operator=(uint64_t v) {
    v_.store(v, std::memory_order_relaxed);
    return *this;
  }
  operator uint64_t() const { return get(); }  // NOLINT
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  Counter& operator+=(uint64_t d) { return *this = get() + d; }
  Counter& operator-=(uint64_t d) { return *this = get() - d; }
  Counter& operator++() { return *this += 1; }
  Counter& operator--() { return *this -= 1; }
  uint64_t operator++(int) { uint64_t v = get(); *this = v + 1; return v; }
  uint64_t operator--(int) { uint64_t v = get(); *this = v - 1; return v; }

 private:
  std::atomic<uint64_t> v_;
};

template <class T>
struct StatsOf {
  int64_t start_unix = 0;
  T packets_received = 0;   // $SYS/broker/messages/received (every MQTT packet)
  T packets_sent = 0;       // $SYS/broker/messages/sent
  T bytes_received = 0;
  T bytes_sent = 0;
  T publish_received = 0;
  T publish_sent = 0;
  T publish_dropped = 0;
  T publish_bytes_received = 0;
  T publish_bytes_sent = 0;
  T clients_connected = 0;
  T clients_maximum = 0;
  T clients_expired = 0;
  T connections_accepted = 0;
  // Gauges refreshed by the owning loop twice a second (read by shard 0 for $SYS).
  T sessions = 0;
  T subscriptions = 0;
  T shared_subscriptions = 0;

  // Adds every counter of `o` (not start_unix).
  template <class U>
  void add(const StatsOf<U>& o) {
    packets_received += o.packets_received;
    packets_sent += o.packets_sent;
    bytes_received += o.bytes_received;
    bytes_sent += o.bytes_sent;
    publish_received += o.publish_received;
    publish_sent += o.publish_sent;
    publish_dropped += o.publish_dropped;
    publish_bytes_received += o.publish_bytes_received;
    publish_bytes_sent += o.publish_bytes_sent;
    clients_connected += o.clients_connected;
    clients_maximum += o.clients_maximum;
    clients_expired += o.clients_expired;
    connections_accepted += o.connections_accepted;
    sessions += o.sessions;
    subscriptions += o.subscriptions;
    shared_subscriptions += o.shared_subscriptions;
  }
};

using Stats = StatsOf<Counter>;         // the live counters of one loop
using StatsValues = StatsOf<uint64_t>;  // a snapshot, or a sum over loops

}  // namespace mq::broker
