#include "proto/topic_aliases.h"

namespace mq::proto {

InboundAliases::Resolved InboundAliases::resolve(uint16_t alias, std::string_view topic,
                                                 uint16_t maximum) {
  if (alias == 0 || alias > maximum) return {codec::ReasonCode::kTopicAliasInvalid, {}};
  if (topics_.size() <= alias) topics_.resize(size_t(alias) + 1);
  std::string& slot = topics_[alias];
  if (topic.empty()) {
    if (slot.empty()) return {codec::ReasonCode::kProtocolError, {}};
  } else {
    slot.assign(topic);
  }
  return {codec::ReasonCode::kSuccess, slot};
}

OutboundAliases::Choice OutboundAliases::choose(std::string_view topic, uint16_t maximum) const {
  if (maximum == 0) return {};
  auto it = table_.find(topic);
  if (it != table_.end()) return {it->second, false};
  if (table_.size() < maximum) return {uint16_t(table_.size() + 1), true};
  return {};
}

}  // namespace mq::proto
