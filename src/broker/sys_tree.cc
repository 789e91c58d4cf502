#include "broker/sys_tree.h"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "broker/bridge/bridge.h"
#include "broker/broker.h"
#include "base/version.h"

namespace mq::broker {

SysTree::~SysTree() {
  if (timer_) broker_.loop().cancel_timer(timer_);
}

void SysTree::start() {
  if (broker_.config().sys_interval <= 0) return;
  set("$SYS/broker/version", std::string("mq version ") + kVersion);
  update();
  timer_ = broker_.loop().add_timer_in(int64_t(broker_.config().sys_interval) * 1000,
                                       [this] { tick(); });
}

void SysTree::restart() {
  if (timer_) broker_.loop().cancel_timer(timer_);
  timer_ = 0;
  start();
}

void SysTree::tick() {
  timer_ = 0;
  update();
  if (broker_.config().sys_interval > 0)
    timer_ = broker_.loop().add_timer_in(int64_t(broker_.config().sys_interval) * 1000,
                                         [this] { tick(); });
}

void SysTree::set(const std::string& topic, std::string value) {
  auto it = last_.find(topic);
  if (it != last_.end() && it->second == value) return;
  auto m = std::make_shared<Message>();
  m->topic = topic;
  m->payload = value;
  m->qos = 2;
  m->retain = true;
  last_[topic] = std::move(value);
  broker_.publish(m);
}

void SysTree::update() {
  // With shards (thread_count > 1): sums over every shard (shard 0 runs this).
  const StatsValues st = broker_.stats_total();
  auto n = [](uint64_t v) { return std::to_string(v); };
  int64_t uptime = broker_.clock_.unix_time() - st.start_unix;
  set("$SYS/broker/uptime", std::to_string(uptime) + " seconds");
  uint64_t total = st.sessions;
  uint64_t connected = st.clients_connected;
  set("$SYS/broker/clients/total", n(total));
  set("$SYS/broker/clients/connected", n(connected));
  set("$SYS/broker/clients/active", n(connected));
  set("$SYS/broker/clients/disconnected", n(total - std::min(total, connected)));
  set("$SYS/broker/clients/inactive", n(total - std::min(total, connected)));
  set("$SYS/broker/clients/maximum", n(st.clients_maximum));
  set("$SYS/broker/clients/expired", n(st.clients_expired));
  set("$SYS/broker/messages/received", n(st.packets_received));
  set("$SYS/broker/messages/sent", n(st.packets_sent));
  set("$SYS/broker/bytes/received", n(st.bytes_received));
  set("$SYS/broker/bytes/sent", n(st.bytes_sent));
  set("$SYS/broker/publish/messages/received", n(st.publish_received));
  set("$SYS/broker/publish/messages/sent", n(st.publish_sent));
  set("$SYS/broker/publish/messages/dropped", n(st.publish_dropped));
  set("$SYS/broker/publish/bytes/received", n(st.publish_bytes_received));
  set("$SYS/broker/publish/bytes/sent", n(st.publish_bytes_sent));
  set("$SYS/broker/subscriptions/count", n(st.subscriptions));
  set("$SYS/broker/shared_subscriptions/count", n(st.shared_subscriptions));
  set("$SYS/broker/retained messages/count", n(broker_.retained().count()));
  // Read once: publishing these adds messages to the store.
  const uint64_t stored = StoreTally::messages(), stored_bytes = StoreTally::bytes();
  set("$SYS/broker/messages/stored", n(stored));
  set("$SYS/broker/store/messages/count", n(stored));
  set("$SYS/broker/store/messages/bytes", n(stored_bytes));
  // Mosquitto counts its own allocations; malloc's statistics are the nearest here: bytes in
  // use from the heap arenas plus large blocks mapped on their own.
  struct mallinfo2 mi = mallinfo2();
  uint64_t heap = uint64_t(mi.uordblks) + uint64_t(mi.hblkhd);
  heap_max_ = std::max(heap_max_, heap);
  set("$SYS/broker/heap/current", n(heap));
  set("$SYS/broker/heap/maximum", n(heap_max_));
  // Per bridge (mq's own topics; Mosquitto has only the notification topic).
  for (const auto& b : broker_.bridges_) {
    const std::string base = "$SYS/broker/bridges/" + b->config().name + "/";
    set(base + "connected", b->connected() ? "1" : "0");
    set(base + "address", b->current_address());
    set(base + "queued/messages", n(b->held_messages()));
    set(base + "queued/bytes", n(b->held_bytes()));
    set(base + "dropped", n(b->dropped()));
    // An empty retained payload would delete the topic: "none" until the first error.
    set(base + "last_error", b->last_error().empty() ? "none" : b->last_error());
  }
  update_loads(broker_.loop().now_ms(), st);
}

void SysTree::update_loads(int64_t now_ms, const StatsValues& st) {
  const uint64_t current[9] = {st.packets_received, st.packets_sent, st.publish_received,
                               st.publish_sent,     st.publish_dropped, st.bytes_received,
                               st.bytes_sent,       st.connections_accepted,
                               st.connections_accepted};
  if (last_load_ms_ == 0) {
    for (int i = 0; i < 9; i++) loads_[i].last = current[i];
    last_load_ms_ = now_ms;
    return;
  }
  double interval_s = double(now_ms - last_load_ms_) / 1000.0;
  if (interval_s <= 0) return;
  last_load_ms_ = now_ms;
  static const char* kSuffix[3] = {"1min", "5min", "15min"};
  static const double kMinutes[3] = {1, 5, 15};
  for (int i = 0; i < 9; i++) {
    Load& l = loads_[i];
    double per_minute = double(current[i] - l.last) * 60.0 / interval_s;
    l.last = current[i];
    for (int k = 0; k < 3; k++) {
      double decay = std::exp(-interval_s / (60.0 * kMinutes[k]));
      l.avg[k] = l.avg[k] * decay + per_minute * (1.0 - decay);
      char buf[32];
      snprintf(buf, sizeof buf, "%.2f", l.avg[k]);
      set(std::string("$SYS/broker/load/") + l.name + "/" + kSuffix[k], buf);
    }
  }
}

}  // namespace mq::broker
