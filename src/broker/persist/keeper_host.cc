// The broker's half of persist::KeeperHost (keeper.h): the state a snapshot reads, the stored
// state installed at start-up, and the output of connections held or refused while the journal
// is written and synced. Broker member functions; the persistence logic is in keeper*.cc.
#include <algorithm>

#include "broker/bridge/bridge.h"
#include "broker/broker.h"

namespace mq::broker {

void Broker::for_each_retained(const std::function<void(const std::vector<MessagePtr>&)>& fn) {
  std::vector<MessagePtr> batch;
  RetainedCursor cursor = retained_.cursor_all();
  while (!cursor.done()) {
    batch.clear();
    cursor.next(batch, 4096);
    fn(batch);
  }
}

void Broker::for_each_session(const std::function<void(Session&)>& fn) {
  sessions_.for_each([&](Session& s) { fn(s); });
}

void Broker::for_each_bridge_entry(
    const std::function<void(const std::string&, const persist::StoredBridgeOut&)>& fn) {
  for (const auto& b : bridges_) {
    for (const persist::StoredBridgeOut& o : b->stored_entries()) fn(b->config().name, o);
  }
}

void Broker::raise_next_store_id(uint64_t at_least) {
  next_store_id_ = std::max(next_store_id_, at_least);
}

void Broker::restore_retained(const std::string& topic, const MessagePtr& msg) {
  retained_.set(topic, msg);
}

Session& Broker::restore_session(const std::string& client_id) {
  Session& s = sessions_.add(client_id);
  // The ACL a client gets at CONNECT: with per-listener settings it depends on the listener,
  // known only then.
  if (!config_.per_listener_settings && !listeners_.empty()) s.acl = listeners_[0]->security->acl;
  return s;
}

void Broker::restore_subscription(Session& s, const std::string& key,
                                  const SessionSubscription& sub) {
  subs_.subscribe(sub.filter, s.id(), sub.options, sub.share_group());
  s.put_subscription(key, sub);
}

void Broker::arm_session_expiry(Session& s, int64_t left_ms) { sessions_.arm_expiry(s, left_ms); }

bool Broker::restore_bridge_queue(const std::string& bridge,
                                  std::map<uint64_t, persist::StoredBridgeOut>& queue) {
  auto b = std::find_if(bridges_.begin(), bridges_.end(),
                        [&](const auto& br) { return br->config().name == bridge; });
  if (b == bridges_.end()) return false;
  (*b)->restore(queue);
  return true;
}

void Broker::refuse_unkept_output() {
  std::vector<Connection*> waiting = dirty_;
  for (Connection* c : closing_) c->out().clear();  // reap_closed would make a last write
  for (Connection* c : waiting) {
    if (!c->open()) continue;
    c->out().clear();
    c->close("disconnected: persistence failed, acknowledgement withheld.");
  }
}

void Broker::hold_waiting_output(std::vector<uint64_t>& held) {
  for (Connection* c : dirty_) {
    if (!c->open() || c->output_held()) continue;
    c->hold_output();
    held.push_back(c->id());
  }
}

void Broker::release_output(uint64_t connection_id) {
  Connection* c = connections_.find(connection_id);
  if (!c) return;
  c->release_output();
  mark_dirty(*c);
}

void Broker::drop_held_output(uint64_t connection_id) {
  Connection* c = connections_.find(connection_id);
  if (!c || !c->open()) return;
  c->out().clear();
  c->release_output();
  c->close("disconnected: persistence failed, acknowledgement withheld.");
}

}  // namespace mq::broker
