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

// --- the protocol endpoint's requests --------------------------------------------------------

void Bridge::Sink::received(const codec::Publish& p, std::string_view topic) {
  MQ_LOG(kLogDebug, "Received PUBLISH from %s (d%d, q%u, r%d, m%u, '%.*s', ... (%zu bytes))",
         b.cfg_.local_clientid.c_str(), p.dup ? 1 : 0, unsigned(p.qos), p.retain ? 1 : 0,
         unsigned(p.packet_id), int(topic.size()), topic.data(), p.payload.size());
}

// A message from the remote (not a QoS 2 re-send): published locally; the endpoint has queued
// its PUBACK / PUBREC, which leaves with the next write.
void Bridge::Sink::deliver(const codec::Publish& p, std::string_view remote_topic) {
  b.last_activity_ms_ = b.loop_.now_ms();
  std::string topic = bridge_map_in(b.cfg_.topics, remote_topic);
  if (codec::valid_topic_name(topic)) {
    b.broker_.publish(b.make_local(topic, p.payload, p.qos, p.retain, p.properties));
  }
}

void Bridge::Sink::released(Out& o) {
  o.msg.reset();  // the payload is no longer needed [MQTT-4.3.3-5]
  b.journal_pubrec(o);
}

bool Bridge::Sink::expired(const Out& o) const {
  return o.msg && o.msg->expiry_unix_ms &&
         o.msg->expiry_unix_ms <= b.broker_.loop().clock().unix_time() * 1000;
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
  if (state_ != State::kConnected && o.qos == 0 && !bc.queue_qos0_messages) {
    return;  // offline: QoS 0 is dropped, as for a client
  }
  if (o.qos > 0 || state_ != State::kConnected) {
    if (!make_room(o)) return;  // logged there
  }
  link_.own_inflight_limit = bc.max_inflight_messages;
  endpoint_.publish(std::move(o));  // sent, or queued (held and journaled through Sink)
  // lazy: enough waiting; connect from the loop, not inside the broker's routing.
  if (lazy() && state_ == State::kIdle && !restart_timer_ &&
      flow_.queue.size() >= size_t(cfg_.threshold)) {
    schedule_restart(0);
  }
}

bool Bridge::Sink::send_publish(Out& o, const proto::PublishOut& out) {
  if (!b.transport_ || !o.msg) return true;
  const Message& m = *o.msg;
  codec::Publish p = publish_for(m, o.topic, out.qos, o.retain, out.dup, out.packet_id, b.version_,
                                 b.broker_.loop().clock().unix_time() * 1000);
  b.scratch_.clear();
  if (!codec::encode_publish_header(p, b.version_, b.scratch_).ok()) return true;
  if (!out.fits(b.scratch_.size() + m.payload.size())) return false;  // [MQTT-3.1.2-25]
  MQ_LOG(kLogDebug, "Sending PUBLISH to %s (d%d, q%u, r%d, m%u, '%s', ... (%zu bytes))",
         b.cfg_.local_clientid.c_str(), p.dup ? 1 : 0, unsigned(o.qos), o.retain ? 1 : 0,
         unsigned(o.packet_id), o.topic.c_str(), m.payload.size());
  b.out_.append(b.scratch_);
  b.out_.append_shared(o.msg, m.payload);
  b.dirty_ = true;
  b.last_activity_ms_ = b.loop_.now_ms();
  return true;
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
