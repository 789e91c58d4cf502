// Shards: `mq serve` with thread_count N > 1 runs N Brokers, each on its own EventLoop and
// thread (shard 0 on the main thread). Shard 0 binds the listeners and deals accepted sockets
// round robin; a client id lives on shard hash(client id) % N, where its connection moves
// before its CONNECT is handled, so takeover and resume stay local. A PUBLISH is routed on
// its shard and forwarded in one batch per loop iteration to every other shard that may have a
// subscriber for it (Interest; a retained message to all), which routes it through its own
// subscriptions and keeps its own copy of the retained store (the newer store id wins per
// topic). Shards talk only through EventLoop::post (FIFO, so a publisher's
// order holds); read-only state (security, TLS contexts) is shared by shared_ptr<const>.
// Threading: Shards is driven from shard 0's (main) thread; ShardSet is read-only once the
// threads run, except next_store_id (atomic).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "broker/config/config.h"
#include "net/loop.h"

namespace mq::broker {

class Broker;

// What one shard's sessions subscribe to, coarsely, so that a message goes only to the shards
// that may have a subscriber for it: subscriptions counted by a hash of their filter's first
// level, and those whose first level is a wildcard. A false "may" costs a hand-off, never a
// lost message. Written by the owning shard only (relaxed atomics), read by every shard.
class Interest {
 public:
  void add(std::string_view filter, int delta) {
    std::atomic<uint32_t>& c = is_wildcard(first_level(filter)) ? wildcard_first_
                                                                 : buckets_[bucket(filter)];
    c.store(c.load(std::memory_order_relaxed) + uint32_t(delta), std::memory_order_relaxed);
  }
  bool may_match(std::string_view topic) const {
    // A filter starting with a wildcard never matches a topic starting with '$' [MQTT-4.7.2-1].
    if (topic.empty() || topic[0] != '$') {
      if (wildcard_first_.load(std::memory_order_relaxed) != 0) return true;
    }
    return buckets_[bucket(topic)].load(std::memory_order_relaxed) != 0;
  }

 private:
  static constexpr size_t kBuckets = 4096;
  static std::string_view first_level(std::string_view s) { return s.substr(0, s.find('/')); }
  static bool is_wildcard(std::string_view level) { return level == "+" || level == "#"; }
  static size_t bucket(std::string_view s) {
    return std::hash<std::string_view>()(first_level(s)) % kBuckets;
  }

  std::atomic<uint32_t> wildcard_first_{0};
  std::array<std::atomic<uint32_t>, kBuckets> buckets_{};
};

struct ShardSet {
  std::vector<Broker*> brokers;  // index = shard number; fixed before any other loop runs
  std::vector<std::unique_ptr<Interest>> interest;  // one per shard, same indexes
  std::atomic<uint64_t> next_store_id{1};

  size_t home_of(std::string_view client_id) const {
    return std::hash<std::string_view>()(client_id) % brokers.size();
  }
};

class Shards {
 public:
  // Makes shards 1..N-1 (loops and brokers, nothing bound or started) beside `first`, which
  // becomes shard 0. REQUIRES: first.config().thread_count > 1, before first.start().
  [[nodiscard]] static Result<std::unique_ptr<Shards>> create(Broker& first);
  ~Shards();  // stop()
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  // After first.start() succeeded: the other shards take its listeners' state and their
  // threads start. Signals must already be blocked (the threads inherit the mask).
  void start();
  // SIGHUP, after first.reload(fresh) accepted it.
  void reload(const Config& fresh);
  void dump_state();  // SIGUSR2
  // Shuts every other shard down on its loop and joins the threads. Idempotent.
  void stop();

 private:
  explicit Shards(Broker& first) : first_(first) {}

  Broker& first_;
  ShardSet set_;
  std::vector<std::unique_ptr<net::EventLoop>> loops_;  // shards 1..N-1
  std::vector<std::unique_ptr<Broker>> brokers_;        // shards 1..N-1
  std::vector<std::thread> threads_;
};

}  // namespace mq::broker
