// Bridge message flow: topic remapping, local messages out to the remote (queue, in-flight
// window, QoS 1/2 acknowledgements from the remote) and the remote's messages in (published
// locally, acknowledged once routed). The connection life cycle is in bridge.cc.
#include <algorithm>

#include "base/log.h"
#include "broker/bridge/bridge.h"
#include "broker/broker.h"
#include "codec/topic.h"
#include "codec/encode.h"

namespace mq::broker {

using codec::PacketType;
using codec::ProtocolVersion;
using codec::ReasonCode;

std::optional<BridgeRoute> bridge_map_out(const std::vector<BridgeTopic>& topics,
                                          std::string_view local_topic) {
  for (const BridgeTopic& t : topics) {
    if (!is_out(t.direction) || !codec::topic_matches(t.local_topic, local_topic)) continue;
    std::string_view rest = local_topic;
    if (rest.starts_with(t.local_prefix)) rest.remove_prefix(t.local_prefix.size());
    return BridgeRoute{t.remote_prefix + std::string(rest), t.qos};
  }
  return std::nullopt;
}

std::string bridge_map_in(const std::vector<BridgeTopic>& topics, std::string_view remote_topic) {
  for (const BridgeTopic& t : topics) {
    if (!is_in(t.direction) || !codec::topic_matches(t.remote_topic, remote_topic)) continue;
    std::string_view rest = remote_topic;
    if (rest.starts_with(t.remote_prefix)) rest.remove_prefix(t.remote_prefix.size());
    return t.local_prefix + std::string(rest);
  }
  return std::string(remote_topic);
}

void Bridge::handle_publish(const codec::Publish& p) {
  if (p.topic.empty()) {  // we announce no Topic Alias Maximum
    lost_client("closed its connection.");
    return;
  }
  MQ_LOG(kLogDebug, "Received PUBLISH from %s (d%d, q%u, r%d, m%u, '%.*s', ... (%zu bytes))",
         cfg_.local_clientid.c_str(), p.dup ? 1 : 0, unsigned(p.qos), p.retain ? 1 : 0,
         unsigned(p.packet_id), int(p.topic.size()), p.topic.data(), p.payload.size());
  if (p.qos == 2 && incoming_qos2_.is_resend(p.packet_id)) {
    send(incoming_qos2_.resend_reply(p.packet_id));
    return;
  }
  last_activity_ms_ = loop_.now_ms();
  std::string topic = bridge_map_in(cfg_.topics, p.topic);
  if (codec::valid_topic_name(topic)) {
    broker_.publish(make_local(topic, p.payload, p.qos, p.retain, p.properties));
  }
  if (p.qos == 1) {
    send(codec::Puback{p.packet_id, ReasonCode::kSuccess, {}});
  } else if (p.qos == 2) {
    send(incoming_qos2_.accept(p.packet_id));  // delivered already: nothing held
  }
}

void Bridge::handle_ack(PacketType type, uint16_t packet_id, ReasonCode rc) {
  if (type == PacketType::kPubrel) {
    send(incoming_qos2_.on_pubrel(packet_id, proto::UnknownPubrel::kSuccess).reply);
    return;
  }
  MQ_LOG(kLogDebug, "Received %s from %s (Mid: %u, RC:%u)", codec::packet_type_name(type),
         cfg_.local_clientid.c_str(), unsigned(packet_id), unsigned(rc));
  Out done;
  switch (flow_.on_ack(type, packet_id, rc, &done)) {
    case proto::AckOutcome::kUnknown:
      return;
    case proto::AckOutcome::kReleased: {
      Out& o = *flow_.find(packet_id);
      o.msg.reset();  // the payload is no longer needed [MQTT-4.3.3-5]
      journal_pubrec(o);
      send(codec::Pubrel{packet_id, ReasonCode::kSuccess, {}});
      return;
    }
    case proto::AckOutcome::kCompleted:
      release(done);
      pump();
      return;
  }
}

// --- messages to the remote ------------------------------------------------------------------

bool Bridge::forward(const MessagePtr& msg, bool retained_on_connect) {
  // Loop prevention: what this bridge published locally never goes back out over it.
  if (msg->origin_client_id() == cfg_.local_clientid) return false;
  auto route = bridge_map_out(cfg_.topics, msg->topic);
  if (!route) return false;
  if (state_ == State::kStopped) return true;
  Out o;
  o.msg = msg;
  o.topic = std::move(route->topic);
  o.qos = std::min(msg->qos, route->qos);
  // Retain As Published (Mosquitto's bridge subscribes locally with it); a retained message
  // found when the bridge connects keeps its flag.
  o.retain = cfg_.outgoing_retain && (msg->retain || retained_on_connect);
  queue_out(std::move(o));
  return true;
}

void Bridge::queue_out(Out o) {
  const Config& bc = broker_.config();
  if (state_ == State::kConnected) {
    if (o.qos == 0) {
      send_publish(o);
      return;
    }
  } else if (o.qos == 0 && !bc.queue_qos0_messages) {
    return;  // offline: QoS 0 is dropped, as for a client
  }
  if (!make_room(o)) return;  // logged there
  if (state_ == State::kConnected && flow_.queue.empty() && flow_.has_room(window())) {
    o.packet_id = flow_.next_packet_id();
    hold(o);  // journaled with its packet identifier
    flow_.inflight.push_back(std::move(o));
    send_publish(flow_.inflight.back());
    return;
  }
  hold(o);
  flow_.queue.push_back(std::move(o));
  // lazy: enough waiting; connect from the loop, not inside the broker's routing.
  if (lazy() && state_ == State::kIdle && !restart_timer_ &&
      flow_.queue.size() >= size_t(cfg_.threshold)) {
    schedule_restart(0);
  }
}

void Bridge::pump() {
  if (state_ != State::kConnected) return;
  while (!flow_.queue.empty()) {
    Out& front = flow_.queue.front();
    if (front.qos > 0 && !flow_.has_room(window())) break;
    Out o = std::move(front);
    flow_.queue.pop_front();
    if (o.msg && o.msg->expiry_unix_ms &&
        o.msg->expiry_unix_ms <= broker_.loop().clock().unix_time() * 1000) {
      release(o);
      continue;  // expired while queued [MQTT-3.3.2-5]
    }
    if (o.qos == 0) {
      release(o);
      send_publish(o);
      continue;
    }
    o.packet_id = flow_.next_packet_id();
    journal_packet_id(o);
    flow_.inflight.push_back(std::move(o));
    send_publish(flow_.inflight.back());
  }
}

uint32_t Bridge::window() const {
  return proto::inflight_window(remote_receive_max_, broker_.config().max_inflight_messages);
}

void Bridge::send_publish(Out& o) {
  if (!transport_ || !o.msg) return;
  const Message& m = *o.msg;
  codec::Publish p = publish_for(m, o.topic, o.qos, o.retain, o.dup, o.packet_id, version_,
                                 broker_.loop().clock().unix_time() * 1000);
  scratch_.clear();
  if (!codec::encode_publish_header(p, version_, scratch_).ok()) return;
  size_t total = scratch_.size() + m.payload.size();
  if ((remote_max_packet_ && total > remote_max_packet_) ||
      (cfg_.max_packet_size && total > cfg_.max_packet_size)) {
    // Too large for the remote: dropped as if sent [MQTT-3.1.2-25].
    if (o.qos > 0) {
      if (auto it = flow_.find(o.packet_id); it != flow_.inflight.end()) {
        release(*it);
        flow_.inflight.erase(it);
      }
    }
    return;
  }
  MQ_LOG(kLogDebug, "Sending PUBLISH to %s (d%d, q%u, r%d, m%u, '%s', ... (%zu bytes))",
         cfg_.local_clientid.c_str(), p.dup ? 1 : 0, unsigned(o.qos), o.retain ? 1 : 0,
         unsigned(o.packet_id), o.topic.c_str(), m.payload.size());
  out_.append(scratch_);
  out_.append_shared(o.msg, m.payload);
  dirty_ = true;
  last_activity_ms_ = loop_.now_ms();
}

// --- local side ------------------------------------------------------------------------------

MessagePtr Bridge::make_local(std::string_view topic, std::string_view payload, uint8_t qos,
                              bool retain, const codec::Properties& props) {
  return make_message(topic, payload, qos, retain, props,
                      broker_.loop().clock().unix_time() * 1000, cfg_.local_clientid,
                      cfg_.local_username, broker_.take_store_id());
}

void Bridge::notify_local(char state) {
  broker_.publish(make_local(notification_topic_, std::string_view(&state, 1), 1, true, {}));
}
}  // namespace mq::broker
