// A bridge's queue to its remote as the store sees it: what is held is counted (for $SYS and
// the bounds) and, with persistence, journaled. A QoS 1/2 message is journaled (kBridgeAdd)
// while the local PUBLISH that carried it is handled, so the broker's group commit writes it
// before the local PUBACK leaves; the packet identifier it is sent with (kBridgePacketId), a
// PUBREC (kBridgePubrec) and its end (kBridgeDel: PUBACK/PUBCOMP, expiry, too large, dropped)
// follow. After a restart (kill -9 included) the queue comes back: entries that had been sent
// go again with DUP and their packet identifier [MQTT-4.4.0-1], so a remote that kept the
// session does not deliver a QoS 2 message twice; the others are sent as new.
#include <algorithm>
#include <cinttypes>

#include "base/log.h"
#include "broker/bridge/bridge.h"
#include "broker/broker.h"

namespace mq::broker {

namespace {

persist::StoredBridgeOut stored_of(uint64_t seq, const MessagePtr& msg, const std::string& topic,
                                   uint8_t qos, bool retain, bool pubrec, uint16_t packet_id) {
  persist::StoredBridgeOut s;
  s.seq = seq;
  s.msg = msg;
  s.topic = topic;
  s.qos = qos;
  s.retain = retain;
  s.pubrec_received = pubrec;
  s.packet_id = packet_id;
  return s;
}

}  // namespace

std::string Bridge::current_address() const {
  const BridgeAddress& a = cfg_.addresses[address_ % cfg_.addresses.size()];
  return a.host + ":" + std::to_string(a.port);
}

void Bridge::hold(Out& o) {
  o.held = true;
  o.bytes = o.msg ? uint32_t(o.msg->payload.size()) : 0;
  held_msgs_++;
  held_bytes_ += o.bytes;
  if (o.qos == 0 || !o.msg || o.msg->store_id == 0) return;  // QoS 0 is never stored
  std::string* j = broker_.keeper_.journal_any();
  if (!j) return;
  o.seq = next_seq_++;
  broker_.keeper_.put_message(*j, o.msg);
  persist::put_bridge_add(*j, cfg_.name,
                          stored_of(o.seq, o.msg, o.topic, o.qos, o.retain, false, o.packet_id));
}

void Bridge::release(const Out& o) {
  if (!o.held) return;
  held_msgs_--;
  held_bytes_ -= o.bytes;
  if (o.seq == 0) return;
  if (std::string* j = broker_.keeper_.journal_any()) persist::put_bridge_del(*j, cfg_.name, o.seq);
}

void Bridge::journal_packet_id(const Out& o) {
  if (o.seq == 0) return;
  if (std::string* j = broker_.keeper_.journal_any())
    persist::put_bridge_packet_id(*j, cfg_.name, o.seq, o.packet_id);
}

void Bridge::journal_pubrec(const Out& o) {
  if (o.seq == 0) return;
  if (std::string* j = broker_.keeper_.journal_any())
    persist::put_bridge_pubrec(*j, cfg_.name, o.seq);
}

bool Bridge::make_room(const Out& o) {
  const Config& bc = broker_.config();
  const uint64_t max_msgs = uint64_t(cfg_.max_queued_messages >= 0 ? cfg_.max_queued_messages
                                                                  : bc.max_queued_messages);
  const uint64_t max_bytes =
      cfg_.max_queued_bytes >= 0 ? uint64_t(cfg_.max_queued_bytes) : bc.max_queued_bytes;
  const uint64_t bytes = o.msg ? o.msg->payload.size() : 0;
  auto full = [&] {
    return (max_msgs && held_msgs_ + 1 > max_msgs) ||
           (max_bytes && held_bytes_ + bytes > max_bytes && held_msgs_ > 0);
  };
  if (!full()) {
    limit_logged_ = false;
    return true;
  }
  const bool drop_oldest = cfg_.queue_policy == BridgeQueuePolicy::kDropOldest;
  const uint64_t held_before = held_msgs_, bytes_before = held_bytes_;  // for the log line
  uint64_t dropped_now = 0;
  // Only what waits in the queue can go: in-flight entries may already be at the remote.
  while (drop_oldest && full() && !flow_.queue.empty()) {
    release(flow_.queue.front());
    flow_.queue.pop_front();
    dropped_now++;
  }
  const bool refused = full();
  dropped_ += dropped_now + (refused ? 1 : 0);
  // Logged when the bounds start acting, not for every message while they keep acting.
  if (!limit_logged_) {
    limit_logged_ = true;
    MQ_LOG(kLogWarning,
           "Warning: bridge %s queue full (%" PRIu64 " messages, %" PRIu64
           " bytes held for the remote; limits %" PRIu64 " messages, %" PRIu64
           " bytes, 0 = none): %s.",
           cfg_.name.c_str(), held_before, bytes_before, max_msgs, max_bytes,
           drop_oldest ? "dropping the oldest queued messages (bridge_queue_policy drop_oldest)"
                       : "refusing new messages (bridge_queue_policy refuse_new)");
  }
  return !refused;
}

void Bridge::restore(std::map<uint64_t, persist::StoredBridgeOut>& stored) {
  for (auto& [seq, s] : stored) {
    Out o;
    o.msg = s.msg;
    o.topic = s.topic;
    o.qos = s.qos;
    o.retain = s.retain;
    o.packet_id = s.packet_id;
    o.pubrec_received = s.pubrec_received;
    o.seq = seq;
    o.held = true;
    o.bytes = s.pubrec_received || !s.msg ? 0 : uint32_t(s.msg->payload.size());
    held_msgs_++;
    held_bytes_ += o.bytes;
    next_seq_ = std::max(next_seq_, seq + 1);
    // Sent before: in flight again, re-sent with DUP once connected (handle_connack).
    if (o.packet_id != 0)
      flow_.inflight.push_back(std::move(o));
    else
      flow_.queue.push_back(std::move(o));
  }
  MQ_LOG(kLogNotice, "Bridge %s: restored %zu queued messages for the remote.", cfg_.name.c_str(),
         stored.size());
}

std::vector<persist::StoredBridgeOut> Bridge::stored_entries() {
  std::vector<persist::StoredBridgeOut> v;
  auto add = [&](const Out& o) {
    if (o.seq == 0) return;
    v.push_back(stored_of(o.seq, o.pubrec_received ? nullptr : o.msg, o.topic, o.qos, o.retain,
                          o.pubrec_received, o.packet_id));
  };
  for (Out& o : flow_.inflight) add(o);
  for (Out& o : flow_.queue) add(o);
  return v;
}

}  // namespace mq::broker
