// Message: one application message inside the broker, immutable once published. It is shared by
// every subscriber queue, the retained store and persistence through MessagePtr, so a PUBLISH to
// N subscribers is held once. Outgoing encodings are made from it once per wire layout.
// Thread-safety: immutable after construction; the shared_ptr count is atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/payload.h"
#include "codec/packet.h"
#include "codec/properties.h"

namespace mq::broker {

// The messages the broker holds, for $SYS/broker/store/messages/{count,bytes}: a message is
// counted once Broker::publish() takes it and uncounted when its last reference goes. A copy
// is a new, uncounted message. The last reference may go on any thread: each thread adds and
// subtracts in its own slot (relaxed load and store, no locked instruction on the per-message
// path) and a reader sums the slots; a message counted on one thread and released on another
// leaves +1 in one slot and -1 in the other.
namespace detail {
struct alignas(64) TallySlot {  // one thread's running totals for StoreTally; a cache line each
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> bytes{0};
};
}  // namespace detail

class StoreTally {
 public:
  StoreTally() = default;
  StoreTally(const StoreTally&) {}
  StoreTally& operator=(const StoreTally&) { return *this; }
  ~StoreTally() {
    if (bytes_ == kNotCounted) return;
    add(-1, -int64_t(bytes_));
  }
  void count(size_t payload_bytes) const {
    if (bytes_ != kNotCounted) return;
    bytes_ = payload_bytes;
    add(1, int64_t(payload_bytes));
  }
  static uint64_t messages() { return sum(&Slot::count); }
  static uint64_t bytes() { return sum(&Slot::bytes); }

 private:
  using Slot = detail::TallySlot;
  static constexpr size_t kSlots = 64;  // threads beyond this share the last slot, atomically
  static constexpr size_t kNotCounted = ~size_t(0);

  static void add(int64_t n, int64_t b) {
    thread_local Slot* mine = claim();
    if (mine == &slots_[kSlots - 1]) {
      mine->count.fetch_add(n, std::memory_order_relaxed);
      mine->bytes.fetch_add(b, std::memory_order_relaxed);
      return;
    }
    mine->count.store(mine->count.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    mine->bytes.store(mine->bytes.load(std::memory_order_relaxed) + b, std::memory_order_relaxed);
  }
  static Slot* claim() {
    size_t i = claimed_.fetch_add(1, std::memory_order_relaxed);
    return &slots_[i < kSlots - 1 ? i : kSlots - 1];
  }
  static uint64_t sum(std::atomic<int64_t> Slot::*field) {
    size_t used = claimed_.load(std::memory_order_relaxed);
    if (used > kSlots) used = kSlots;
    int64_t total = (slots_[kSlots - 1].*field).load(std::memory_order_relaxed);
    for (size_t i = 0; i < used && i < kSlots - 1; i++) {
      total += (slots_[i].*field).load(std::memory_order_relaxed);
    }
    return total > 0 ? uint64_t(total) : 0;  // slots read at slightly different moments
  }

  static inline Slot slots_[kSlots];
  static inline std::atomic<size_t> claimed_{0};
  mutable size_t bytes_ = kNotCounted;
};

// The MQTT 5 properties a message carries on to its subscribers unchanged [MQTT-3.3.2-4..20]
// (Topic Alias, Subscription Identifier and Message Expiry Interval are written per delivery
// instead). Most messages have none, so a Message holds these through a pointer that is null
// then: a retained 64-byte message costs ~170 bytes less than with the fields inline.
struct MessageProperties {
  std::optional<uint8_t> payload_format_indicator;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;
  std::vector<std::pair<std::string, std::string>> user_properties;
  // The order the publisher sent those properties in, when it was not by identifier (then they
  // are passed on in that order, as Mosquitto does); empty otherwise. Not persisted.
  std::vector<codec::PropertyId> property_order;

  bool empty() const {
    return !payload_format_indicator && !content_type && !response_topic && !correlation_data &&
           user_properties.empty() && property_order.empty();
  }
};

struct Message {
  // User-provided on purpose: every member has its initializer, and make_shared<Message>()
  // would otherwise zero the whole object first (a `rep stos` that cost 6% of fan-in CPU).
  Message() {}  // NOLINT(modernize-use-equals-default)

  std::string topic;
  Payload payload;
  uint8_t qos = 0;
  bool retain = false;

 private:
  uint16_t origin_split_ = 0;  // (here, in the padding) where origin_'s user name starts

 public:
  int64_t expiry_unix_ms = 0;  // absolute wall-clock deadline in ms; 0 = never expires
  uint64_t store_id = 0;  // unique across restarts when persistence is on
  // Persistence bookkeeping, not message content: the journal generation whose files hold
  // this message's record (0 = not stored). Mutable because the message is otherwise
  // immutable and shared; only the loop thread touches it.
  mutable uint64_t persist_gen = 0;
  StoreTally tally;

  // The MQTT 5 properties; an empty set when the message has none.
  const MessageProperties& properties() const { return props_ ? *props_ : kNoProperties; }
  bool has_properties() const { return props_ != nullptr; }
  // Keeps `p` unless it is empty.
  void set_properties(MessageProperties p) {
    if (p.empty()) {
      props_.reset();
    } else {
      props_ = std::make_shared<const MessageProperties>(std::move(p));
    }
  }

  // Who published it: for No Local, check_retain_source and logging.
  std::string_view origin_client_id() const { return std::string_view(origin_).substr(0, origin_split_); }
  std::string_view origin_username() const { return std::string_view(origin_).substr(origin_split_); }
  // REQUIRES: client_id.size() <= 65535 (an MQTT string)
  void set_origin(std::string_view client_id, std::string_view username) {
    origin_.reserve(client_id.size() + username.size());
    origin_.assign(client_id);
    origin_.append(username);
    origin_split_ = uint16_t(client_id.size());
  }

 private:
  static inline const MessageProperties kNoProperties{};
  std::shared_ptr<const MessageProperties> props_;  // shared by copies; never modified
  std::string origin_;  // client id then user name, one allocation (or none) for both
};

using MessagePtr = std::shared_ptr<const Message>;

// The MQTT 5 properties a PUBLISH carries on for this message: its own, unchanged
// [MQTT-3.3.2-4..20], and the Message Expiry Interval as what is left of it at `now_unix_ms`
// [MQTT-3.3.2-6]. The properties view the message's strings: it must outlive them.
inline void add_message_properties(const Message& msg, int64_t now_unix_ms,
                                   codec::Properties& pr) {
  const MessageProperties& m = msg.properties();
  pr.order = m.property_order;
  pr.payload_format_indicator = m.payload_format_indicator;
  if (m.content_type) pr.content_type = *m.content_type;
  if (m.response_topic) pr.response_topic = *m.response_topic;
  if (m.correlation_data) pr.correlation_data = *m.correlation_data;
  for (const auto& [k, v] : m.user_properties) pr.user_properties.emplace_back(k, v);
  if (msg.expiry_unix_ms) {
    int64_t left_ms = msg.expiry_unix_ms - now_unix_ms;
    pr.message_expiry_interval = uint32_t(left_ms / 1000 > 1 ? left_ms / 1000 : 1);
  }
}

// The PUBLISH that carries `m` to one receiver (a client or a bridge's remote) under `topic`,
// with the per-delivery fields; MQTT 5 properties only for `version` 5. Views into `m` and
// `topic`: both must outlive the packet.
inline codec::Publish publish_for(const Message& m, std::string_view topic, uint8_t qos,
                                  bool retain, bool dup, uint16_t packet_id,
                                  codec::ProtocolVersion version, int64_t now_unix_ms) {
  codec::Publish p;
  p.topic = topic;
  p.payload = m.payload;
  p.qos = qos;
  p.retain = retain;
  p.dup = dup && qos > 0;
  p.packet_id = packet_id;
  if (version == codec::ProtocolVersion::kV5) add_message_properties(m, now_unix_ms, p.properties);
  return p;
}

// Builds the immutable Message for a PUBLISH or a will: copies what the broker keeps, except
// the payload when `payload_buffer` is given: the buffer `payload` lies in, which the message
// then owns (Payload::adopt).
std::shared_ptr<Message> make_message(std::string_view topic, std::string_view payload,
                                      uint8_t qos, bool retain, const codec::Properties& props,
                                      int64_t now_unix_ms, const std::string& origin_client,
                                      const std::string& origin_user, uint64_t store_id,
                                      std::unique_ptr<char[]> payload_buffer = nullptr);

}  // namespace mq::broker
