// The message-path half of shards (shards.h): connections moving to their client id's shard,
// messages forwarded to the other shards in batches, and the retained store's newer-wins rule.
#include "base/log.h"
#include "broker/broker.h"
#include "broker/shards.h"
#include "codec/decode.h"

namespace mq::broker {

uint64_t Broker::take_store_id() {
  if (!shards_) return next_store_id_++;
  last_store_id_ = shards_->next_store_id.fetch_add(1, std::memory_order_relaxed);
  return last_store_id_;
}

size_t Broker::home_shard(std::string_view client_id) const { return shards_->home_of(client_id); }

Broker* Broker::shard_broker(size_t index) const { return shards_->brokers[index]; }

void Broker::migrate(Connection& conn, std::string_view client_id, std::string_view connect_body,
                     size_t home) {
  // Called from handle_connect inside this connection's read callback: the socket leaves this
  // loop now; the Connection object is reaped at the end of the iteration, without its socket.
  conn.set_connect_client_id(std::string(client_id));
  auto m = std::make_shared<Migrant>();
  m->connect_body.assign(connect_body);  // a view into the framer, taken before it is emptied
  m->unread = conn.take_unread();
  m->listener = conn.listener().index;
  loop_.remove(conn.transport().fd());
  m->transport = conn.release_transport();
  conn.close(nullptr);
  MQ_LOG(kLogDebug, "Client %s moves from loop %zu to loop %zu.",
         conn.terms().client_id.c_str(), shard_index_, home);
  Broker* b = shard_broker(home);
  b->loop_.post([b, m] { b->adopt(*m); });
}

void Broker::adopt(Migrant& m) {
  if (shutting_down_) return;  // the transport closes with the task
  Connection* added = add_connection(*listeners_[m.listener], std::move(m.transport), "moved");
  if (!added) return;
  Connection& conn = *added;
  conn.put_unread(m.unread);
  auto r = codec::decode(0x10, m.connect_body, codec::ProtocolVersion::kV5,
                         codec::Direction::kClientToServer);
  if (!r.ok()) {  // it decoded on the first shard
    conn.close("disconnected due to malformed packet.");
    return;
  }
  handle_connect(conn, std::get<codec::Connect>(*r), m.connect_body, false);
  conn.resume_reading();  // packets that followed the CONNECT
}

void Broker::forward(const MessagePtr& msg, size_t& matched) {
  // To every other shard that may have a subscriber (whether one matches is not known here:
  // counted as a match, so MQTT 5 hears "no subscribers" only when no shard may have one), and
  // a retained message to all, as each keeps the retained store.
  for (size_t k = 0; k < outbox_.size(); k++) {
    if (k == shard_index_) continue;
    if (!msg->retain && !shards_->interest[k]->may_match(msg->topic)) continue;
    outbox_[k].push_back(msg);
    matched++;
  }
}

void Broker::interest_changed(std::string_view filter, int delta) {
  shards_->interest[shard_index_]->add(filter, delta);
}

void Broker::send_forwarded() {
  for (size_t k = 0; k < outbox_.size(); k++) {
    if (outbox_[k].empty()) continue;
    Broker* b = shard_broker(k);
    b->loop_.post([b, batch = std::move(outbox_[k])] { b->receive_forwarded(batch); });
    outbox_[k].clear();
  }
}

void Broker::receive_forwarded(const std::vector<MessagePtr>& batch) {
  if (shutting_down_) return;
  for (const MessagePtr& msg : batch) route(msg);
}

bool Broker::retained_is_newer(const Message& m) {
  if (MessagePtr current = retained_.find(m.topic); current && current->store_id > m.store_id)
    return false;
  if (retained_cleared_.empty()) return true;
  auto it = retained_cleared_.find(m.topic);
  return it == retained_cleared_.end() || it->second.store_id < m.store_id;
}

}  // namespace mq::broker
