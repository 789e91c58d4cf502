// make_message: the immutable Message of a PUBLISH, a will or a bridged message (message.h).
#include "broker/message.h"

namespace mq::broker {

std::shared_ptr<Message> make_message(std::string_view topic, std::string_view payload, uint8_t qos,
                        bool retain, const codec::Properties& props, int64_t now_unix_ms,
                        const std::string& origin_client, const std::string& origin_user,
                        uint64_t store_id, std::unique_ptr<char[]> payload_buffer) {
  auto m = std::make_shared<Message>();
  m->topic.assign(topic);
  if (payload_buffer) {
    size_t off = size_t(payload.data() - payload_buffer.get());
    m->payload.adopt(std::move(payload_buffer), off, payload.size());
  } else {
    m->payload.assign(payload);
  }
  m->qos = qos;
  m->retain = retain;
  if (props.payload_format_indicator || props.content_type || props.response_topic ||
      props.correlation_data || !props.user_properties.empty()) {
    MessageProperties mp;
    mp.payload_format_indicator = props.payload_format_indicator;
    if (props.content_type) mp.content_type.emplace(*props.content_type);
    if (props.response_topic) mp.response_topic.emplace(*props.response_topic);
    if (props.correlation_data) mp.correlation_data.emplace(*props.correlation_data);
    mp.user_properties.reserve(props.user_properties.size());
    for (const auto& [k, v] : props.user_properties) mp.user_properties.emplace_back(k, v);
    if (!props.raw.empty() && !codec::property_ids_in_usual_order(props.raw))
      mp.property_order = codec::property_ids(props.raw);
    m->set_properties(std::move(mp));
  }
  if (props.message_expiry_interval)
    m->expiry_unix_ms = now_unix_ms + int64_t(*props.message_expiry_interval) * 1000;
  m->set_origin(origin_client, origin_user);
  m->store_id = store_id;
  return m;
}

}  // namespace mq::broker
