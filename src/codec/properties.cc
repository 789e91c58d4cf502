// MQTT 5 properties: the identifier table (section 2.2.2.2), decoding with every per-property
// rule, and encoding in identifier order.
#include "codec/properties.h"

#include <string>

#include "codec/packet.h"
#include "codec/topic.h"
#include "codec/utf8.h"

namespace mq::codec {

namespace {

enum class DataType : uint8_t { kByte, kTwoByte, kFourByte, kVarint, kString, kBinary, kPair };

struct Info {
  const char* name = nullptr;
  DataType type = DataType::kByte;
  uint32_t scopes = 0;  // bit n set: allowed in PropertyScope n
};

constexpr uint32_t bit(PropertyScope s) {
  return 1u << static_cast<uint8_t>(s);
}

using S = PropertyScope;
constexpr uint32_t kMessage = bit(S::kPublish) | bit(S::kWill);
constexpr uint32_t kAcks = bit(S::kPuback) | bit(S::kPubrec) | bit(S::kPubrel) | bit(S::kPubcomp);
constexpr uint32_t kEverywhere = bit(S::kConnect) | bit(S::kConnack) | bit(S::kPublish) | kAcks |
                                 bit(S::kSubscribe) | bit(S::kSuback) | bit(S::kUnsubscribe) |
                                 bit(S::kUnsuback) | bit(S::kDisconnect) | bit(S::kAuth) |
                                 bit(S::kWill);

Info info(uint32_t id) {
  using T = DataType;
  switch (id) {
    case 0x01:
      return {"Payload Format Indicator", T::kByte, kMessage};
    case 0x02:
      return {"Message Expiry Interval", T::kFourByte, kMessage};
    case 0x03:
      return {"Content Type", T::kString, kMessage};
    case 0x08:
      return {"Response Topic", T::kString, kMessage};
    case 0x09:
      return {"Correlation Data", T::kBinary, kMessage};
    case 0x0B:
      return {"Subscription Identifier", T::kVarint, bit(S::kPublish) | bit(S::kSubscribe)};
    case 0x11:
      return {"Session Expiry Interval", T::kFourByte,
              bit(S::kConnect) | bit(S::kConnack) | bit(S::kDisconnect)};
    case 0x12:
      return {"Assigned Client Identifier", T::kString, bit(S::kConnack)};
    case 0x13:
      return {"Server Keep Alive", T::kTwoByte, bit(S::kConnack)};
    case 0x15:
      return {"Authentication Method", T::kString,
              bit(S::kConnect) | bit(S::kConnack) | bit(S::kAuth)};
    case 0x16:
      return {"Authentication Data", T::kBinary,
              bit(S::kConnect) | bit(S::kConnack) | bit(S::kAuth)};
    case 0x17:
      return {"Request Problem Information", T::kByte, bit(S::kConnect)};
    case 0x18:
      return {"Will Delay Interval", T::kFourByte, bit(S::kWill)};
    case 0x19:
      return {"Request Response Information", T::kByte, bit(S::kConnect)};
    case 0x1A:
      return {"Response Information", T::kString, bit(S::kConnack)};
    case 0x1C:
      return {"Server Reference", T::kString, bit(S::kConnack) | bit(S::kDisconnect)};
    case 0x1F:
      return {"Reason String", T::kString,
              bit(S::kConnack) | kAcks | bit(S::kSuback) | bit(S::kUnsuback) | bit(S::kDisconnect) |
                  bit(S::kAuth)};
    case 0x21:
      return {"Receive Maximum", T::kTwoByte, bit(S::kConnect) | bit(S::kConnack)};
    case 0x22:
      return {"Topic Alias Maximum", T::kTwoByte, bit(S::kConnect) | bit(S::kConnack)};
    case 0x23:
      return {"Topic Alias", T::kTwoByte, bit(S::kPublish)};
    case 0x24:
      return {"Maximum QoS", T::kByte, bit(S::kConnack)};
    case 0x25:
      return {"Retain Available", T::kByte, bit(S::kConnack)};
    case 0x26:
      return {"User Property", T::kPair, kEverywhere};
    case 0x27:
      return {"Maximum Packet Size", T::kFourByte, bit(S::kConnect) | bit(S::kConnack)};
    case 0x28:
      return {"Wildcard Subscription Available", T::kByte, bit(S::kConnack)};
    case 0x29:
      return {"Subscription Identifier Available", T::kByte, bit(S::kConnack)};
    case 0x2A:
      return {"Shared Subscription Available", T::kByte, bit(S::kConnack)};
    default:
      return {};
  }
}

Error malformed(const char* name, const char* what) {
  return make_error(ErrorKind::kMalformed, std::string(name) + ": " + what, 0x81);
}
Error protocol(const char* name, const char* what, uint8_t reason = 0x82) {
  return make_error(ErrorKind::kProtocol, std::string(name) + ": " + what, reason);
}

}  // namespace

const char* property_name(PropertyId id) {
  return info(static_cast<uint8_t>(id)).name;
}

bool property_allowed(PropertyId id, PropertyScope scope) {
  return (info(static_cast<uint8_t>(id)).scopes & bit(scope)) != 0;
}

bool Properties::empty() const {
  return *this == Properties{};
}

bool Properties::operator==(const Properties& o) const {
  return payload_format_indicator == o.payload_format_indicator &&
         message_expiry_interval == o.message_expiry_interval && content_type == o.content_type &&
         response_topic == o.response_topic && correlation_data == o.correlation_data &&
         subscription_identifiers == o.subscription_identifiers &&
         session_expiry_interval == o.session_expiry_interval &&
         assigned_client_identifier == o.assigned_client_identifier &&
         server_keep_alive == o.server_keep_alive &&
         authentication_method == o.authentication_method &&
         authentication_data == o.authentication_data &&
         request_problem_information == o.request_problem_information &&
         will_delay_interval == o.will_delay_interval &&
         request_response_information == o.request_response_information &&
         response_information == o.response_information && server_reference == o.server_reference &&
         reason_string == o.reason_string && receive_maximum == o.receive_maximum &&
         topic_alias_maximum == o.topic_alias_maximum && topic_alias == o.topic_alias &&
         maximum_qos == o.maximum_qos && retain_available == o.retain_available &&
         maximum_packet_size == o.maximum_packet_size &&
         wildcard_subscription_available == o.wildcard_subscription_available &&
         subscription_identifier_available == o.subscription_identifier_available &&
         shared_subscription_available == o.shared_subscription_available &&
         user_properties == o.user_properties;
}

Status decode_properties(Reader& r, PropertyScope scope, Properties& out) {
  uint32_t length = 0;
  switch (r.varint(length)) {
    case VarintStatus::kOk:
      break;
    case VarintStatus::kNeedMore:
      return malformed("Property Length", "truncated");
    case VarintStatus::kTooLong:
      return malformed("Property Length", "longer than 4 bytes");
    case VarintStatus::kNonMinimal:
      return malformed("Property Length", "not minimally encoded");
  }
  std::string_view block;
  if (!r.take(length, block)) return malformed("Property Length", "runs past the packet");
  out.raw = block;

  Reader pr(block);
  uint64_t seen = 0;  // identifiers already present, for the single-instance rule
  while (!pr.at_end()) {
    uint32_t id = 0;
    if (pr.varint(id) != VarintStatus::kOk) return malformed("property", "bad identifier");
    Info in = info(id);
    if (in.name == nullptr) return malformed("property", "unknown identifier");  // section 2.2.2.2
    if ((in.scopes & bit(scope)) == 0) return malformed(in.name, "not allowed on this packet");
    bool repeatable = id == 0x26 || (id == 0x0B && scope == PropertyScope::kPublish);
    if (!repeatable) {
      if (seen & (uint64_t{1} << id)) return protocol(in.name, "included more than once");
      seen |= uint64_t{1} << id;
    }

    uint8_t b = 0;
    uint16_t h = 0;
    uint32_t w = 0;
    std::string_view s1;
    std::string_view s2;
    bool ok = true;
    switch (in.type) {
      case DataType::kByte:
        ok = pr.u8(b);
        break;
      case DataType::kTwoByte:
        ok = pr.u16(h);
        break;
      case DataType::kFourByte:
        ok = pr.u32(w);
        break;
      case DataType::kVarint:
        ok = pr.varint(w) == VarintStatus::kOk;
        break;
      case DataType::kBinary:
        ok = pr.binary(s1);
        break;
      case DataType::kString:
        ok = pr.binary(s1) && valid_utf8(s1);
        break;
      case DataType::kPair:
        ok = pr.binary(s1) && pr.binary(s2) && valid_utf8(s1) && valid_utf8(s2);
        break;
    }
    if (!ok) return malformed(in.name, "truncated or not of its data type");

    auto boolean = [&](std::optional<uint8_t>& field) -> Status {
      if (b > 1) return protocol(in.name, "value other than 0 or 1");
      field = b;
      return {};
    };
    Status st;
    switch (static_cast<PropertyId>(id)) {
      case PropertyId::kPayloadFormatIndicator:
        st = boolean(out.payload_format_indicator);
        break;
      case PropertyId::kMessageExpiryInterval:
        out.message_expiry_interval = w;
        break;
      case PropertyId::kContentType:
        out.content_type = s1;
        break;
      case PropertyId::kResponseTopic:
        if (!valid_topic_name(s1)) return protocol(in.name, "not a topic name");  // [MQTT-3.3.2-14]
        out.response_topic = s1;
        break;
      case PropertyId::kCorrelationData:
        out.correlation_data = s1;
        break;
      case PropertyId::kSubscriptionIdentifier:
        if (w == 0) return protocol(in.name, "value 0");  // section 3.8.2.1.2
        out.subscription_identifiers.push_back(w);
        break;
      case PropertyId::kSessionExpiryInterval:
        out.session_expiry_interval = w;
        break;
      case PropertyId::kAssignedClientIdentifier:
        out.assigned_client_identifier = s1;
        break;
      case PropertyId::kServerKeepAlive:
        out.server_keep_alive = h;
        break;
      case PropertyId::kAuthenticationMethod:
        out.authentication_method = s1;
        break;
      case PropertyId::kAuthenticationData:
        out.authentication_data = s1;
        break;
      case PropertyId::kRequestProblemInformation:
        st = boolean(out.request_problem_information);
        break;
      case PropertyId::kWillDelayInterval:
        out.will_delay_interval = w;
        break;
      case PropertyId::kRequestResponseInformation:
        st = boolean(out.request_response_information);
        break;
      case PropertyId::kResponseInformation:
        out.response_information = s1;
        break;
      case PropertyId::kServerReference:
        out.server_reference = s1;
        break;
      case PropertyId::kReasonString:
        out.reason_string = s1;
        break;
      case PropertyId::kReceiveMaximum:
        if (h == 0) return protocol(in.name, "value 0");  // section 3.1.2.11.3
        out.receive_maximum = h;
        break;
      case PropertyId::kTopicAliasMaximum:
        out.topic_alias_maximum = h;
        break;
      case PropertyId::kTopicAlias:
        if (h == 0) return protocol(in.name, "value 0", 0x94);  // [MQTT-3.3.2-8]
        out.topic_alias = h;
        break;
      case PropertyId::kMaximumQos:
        st = boolean(out.maximum_qos);
        break;
      case PropertyId::kRetainAvailable:
        st = boolean(out.retain_available);
        break;
      case PropertyId::kUserProperty:
        out.user_properties.emplace_back(s1, s2);
        break;
      case PropertyId::kMaximumPacketSize:
        if (w == 0) return protocol(in.name, "value 0");  // section 3.1.2.11.4
        out.maximum_packet_size = w;
        break;
      case PropertyId::kWildcardSubscriptionAvailable:
        st = boolean(out.wildcard_subscription_available);
        break;
      case PropertyId::kSubscriptionIdentifierAvailable:
        st = boolean(out.subscription_identifier_available);
        break;
      case PropertyId::kSharedSubscriptionAvailable:
        st = boolean(out.shared_subscription_available);
        break;
    }
    if (!st) return st;
  }
  return {};
}

namespace {

// The usual order: by identifier.
constexpr PropertyId kUsualOrder[] = {
    PropertyId::kPayloadFormatIndicator, PropertyId::kMessageExpiryInterval,
    PropertyId::kContentType, PropertyId::kResponseTopic, PropertyId::kCorrelationData,
    PropertyId::kSubscriptionIdentifier, PropertyId::kSessionExpiryInterval,
    PropertyId::kAssignedClientIdentifier, PropertyId::kServerKeepAlive,
    PropertyId::kAuthenticationMethod, PropertyId::kAuthenticationData,
    PropertyId::kRequestProblemInformation, PropertyId::kWillDelayInterval,
    PropertyId::kRequestResponseInformation, PropertyId::kResponseInformation,
    PropertyId::kServerReference, PropertyId::kReasonString, PropertyId::kReceiveMaximum,
    PropertyId::kTopicAliasMaximum, PropertyId::kTopicAlias, PropertyId::kMaximumQos,
    PropertyId::kRetainAvailable, PropertyId::kUserProperty, PropertyId::kMaximumPacketSize,
    PropertyId::kWildcardSubscriptionAvailable, PropertyId::kSubscriptionIdentifierAvailable,
    PropertyId::kSharedSubscriptionAvailable,
};

template <bool M>
class BodyWriter {
 public:
  BodyWriter(Sink<M>& s, const Properties& p) : s_(s), p_(p) {}

  // Writes property `i` if it is set and not written yet; for the repeatable ones, the next
  // value. Returns whether anything was written.
  bool one(PropertyId i) {
    using P = PropertyId;
    if (i == P::kUserProperty) {
      if (next_user_ >= p_.user_properties.size()) return false;
      const auto& [k, v] = p_.user_properties[next_user_++];
      id(i), s_.binary(k), s_.binary(v);
      return true;
    }
    if (i == P::kSubscriptionIdentifier) {
      if (next_subid_ >= p_.subscription_identifiers.size()) return false;
      id(i), s_.varint(p_.subscription_identifiers[next_subid_++]);
      return true;
    }
    uint64_t bit = uint64_t(1) << (uint8_t(i) & 63);
    if (done_ & bit) return false;
    done_ |= bit;
    switch (i) {
      case P::kPayloadFormatIndicator: return byte(i, p_.payload_format_indicator);
      case P::kMessageExpiryInterval: return four(i, p_.message_expiry_interval);
      case P::kContentType: return str(i, p_.content_type);
      case P::kResponseTopic: return str(i, p_.response_topic);
      case P::kCorrelationData: return str(i, p_.correlation_data);
      case P::kSessionExpiryInterval: return four(i, p_.session_expiry_interval);
      case P::kAssignedClientIdentifier: return str(i, p_.assigned_client_identifier);
      case P::kServerKeepAlive: return two(i, p_.server_keep_alive);
      case P::kAuthenticationMethod: return str(i, p_.authentication_method);
      case P::kAuthenticationData: return str(i, p_.authentication_data);
      case P::kRequestProblemInformation: return byte(i, p_.request_problem_information);
      case P::kWillDelayInterval: return four(i, p_.will_delay_interval);
      case P::kRequestResponseInformation: return byte(i, p_.request_response_information);
      case P::kResponseInformation: return str(i, p_.response_information);
      case P::kServerReference: return str(i, p_.server_reference);
      case P::kReasonString: return str(i, p_.reason_string);
      case P::kReceiveMaximum: return two(i, p_.receive_maximum);
      case P::kTopicAliasMaximum: return two(i, p_.topic_alias_maximum);
      case P::kTopicAlias: return two(i, p_.topic_alias);
      case P::kMaximumQos: return byte(i, p_.maximum_qos);
      case P::kRetainAvailable: return byte(i, p_.retain_available);
      case P::kMaximumPacketSize: return four(i, p_.maximum_packet_size);
      case P::kWildcardSubscriptionAvailable: return byte(i, p_.wildcard_subscription_available);
      case P::kSubscriptionIdentifierAvailable:
        return byte(i, p_.subscription_identifier_available);
      case P::kSharedSubscriptionAvailable: return byte(i, p_.shared_subscription_available);
      default: return false;
    }
  }

  void all() {
    for (PropertyId i : p_.order) one(i);
    for (PropertyId i : kUsualOrder)
      while (one(i) && (i == PropertyId::kUserProperty || i == PropertyId::kSubscriptionIdentifier)) {
      }
  }

 private:
  void id(PropertyId i) { s_.varint(static_cast<uint8_t>(i)); }
  bool byte(PropertyId i, const std::optional<uint8_t>& v) {
    if (v) id(i), s_.u8(*v);
    return v.has_value();
  }
  bool two(PropertyId i, const std::optional<uint16_t>& v) {
    if (v) id(i), s_.u16(*v);
    return v.has_value();
  }
  bool four(PropertyId i, const std::optional<uint32_t>& v) {
    if (v) id(i), s_.u32(*v);
    return v.has_value();
  }
  bool str(PropertyId i, const std::optional<std::string_view>& v) {
    if (v) id(i), s_.binary(*v);
    return v.has_value();
  }

  Sink<M>& s_;
  const Properties& p_;
  uint64_t done_ = 0;  // single-valued identifiers already written (bit = identifier)
  size_t next_user_ = 0, next_subid_ = 0;
};

template <bool M>
void write_body(Sink<M>& s, const Properties& p) {
  BodyWriter<M>(s, p).all();
}

}  // namespace

namespace {

// Calls f(id) for each property of an encoded block, in order.
template <class F>
void for_each_property_id(std::string_view raw, F&& f) {
  Reader r(raw);
  while (!r.at_end()) {
    uint32_t id = 0;
    if (r.varint(id) != VarintStatus::kOk) return;
    f(PropertyId(id));
    std::string_view skip;
    uint16_t len = 0;
    uint32_t v = 0;
    bool ok = true;
    switch (info(id).type) {
      case DataType::kByte: ok = r.take(1, skip); break;
      case DataType::kTwoByte: ok = r.take(2, skip); break;
      case DataType::kFourByte: ok = r.take(4, skip); break;
      case DataType::kVarint: ok = r.varint(v) == VarintStatus::kOk; break;
      case DataType::kString:
      case DataType::kBinary: ok = r.u16(len) && r.take(len, skip); break;
      case DataType::kPair:
        ok = r.u16(len) && r.take(len, skip) && r.u16(len) && r.take(len, skip);
        break;
    }
    if (!ok) return;
  }
}

}  // namespace

std::vector<PropertyId> property_ids(std::string_view raw) {
  std::vector<PropertyId> ids;
  for_each_property_id(raw, [&](PropertyId id) { ids.push_back(id); });
  return ids;
}

bool property_ids_in_usual_order(std::string_view raw) {
  bool sorted = true;
  PropertyId last{};
  for_each_property_id(raw, [&](PropertyId id) {
    if (id < last) sorted = false;
    last = id;
  });
  return sorted;
}

size_t properties_size(const Properties& p) {
  Measure m;
  write_body(m, p);
  return m.size();
}

template <bool M>
void encode_properties(Sink<M>& s, const Properties& p) {
  size_t n = properties_size(p);
  s.varint(n > kMaxVarint ? kMaxVarint + 1 : static_cast<uint32_t>(n));
  write_body(s, p);
}

template void encode_properties<true>(Sink<true>&, const Properties&);
template void encode_properties<false>(Sink<false>&, const Properties&);

}  // namespace mq::codec
