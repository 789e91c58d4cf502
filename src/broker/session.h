// Session: the broker-side state of one client identifier, which outlives its network
// connections (MQTT 3.1.1 clean session 0, MQTT 5 session expiry). It holds subscriptions,
// outgoing messages in flight and queued, incoming QoS 2 packet identifiers not yet released,
// and the will. No I/O: the broker moves messages between sessions and connections.
// Owned by the Broker (SessionTable); a connection names its session by SessionId.
// Single-threaded: lives on the broker loop.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/message.h"
#include "broker/optional_string.h"
#include "broker/routing/sub_tree.h"
#include "codec/packet.h"
#include "net/loop.h"
#include "proto/outbound.h"
#include "proto/inbound_qos2.h"

namespace mq::broker {

class AclFile;
class Connection;

// One message on its way to this session's client.
struct Outgoing {
  MessagePtr msg;
  uint16_t packet_id = 0;     // 0 while queued (QoS 0 never gets one)
  uint8_t qos = 0;
  bool retain = false;        // the RETAIN flag to send
  bool dup = false;           // set when re-sent on a resumed session
  bool pubrec_received = false;  // QoS 2: PUBREC seen, PUBREL sent, PUBCOMP awaited
  bool sent = true;           // false: in flight from an earlier connection, not yet re-sent
  uint32_t subscription_id = 0;
  uint64_t seq = 0;           // per-session sequence number: names the entry in the journal
};

struct SessionSubscription {
  SessionSubscription() = default;
  SessionSubscription(std::string f, std::string_view group, SubscriptionOptions o)
      : filter(std::move(f)), options(o) {
    set_share_group(group);
  }

  std::string filter;  // without $share prefix
  SubscriptionOptions options;

  std::string_view share_group() const { return group_.value_or_empty(); }  // empty: not shared
  void set_share_group(std::string_view g) {
    if (g.empty()) {
      group_.reset();
    } else {
      group_.emplace(g);
    }
  }

 private:
  OptionalString group_;  // one pointer: shared subscriptions are rare
};

// A session's subscriptions by key (the filter as the client wrote it). A flat vector, searched
// linearly while short (nearly every client has a few); a key -> position index is added for
// sessions with many. One subscription costs one ~100-byte entry, not a hash node and a bucket
// array. Iterates over entries (key(), sub()) in no particular order.
class SubscriptionList {
 public:
  static constexpr size_t kIndexAbove = 16;

  // One subscription. The key is kept only when it differs from the stored filter (a shared
  // subscription, a listener's mount_point): 56 bytes an entry otherwise.
  class Entry {
   public:
    Entry(std::string_view key, SessionSubscription sub) : sub_(std::move(sub)) {
      if (key != sub_.filter) key_.emplace(key);
    }
    std::string_view key() const { return key_ ? std::string_view(*key_) : sub_.filter; }
    const SessionSubscription& sub() const { return sub_; }

   private:
    friend class SubscriptionList;
    OptionalString key_;
    SessionSubscription sub_;
  };

  size_t size() const { return items_.size(); }
  auto begin() const { return items_.cbegin(); }
  auto end() const { return items_.cend(); }

  const SessionSubscription& put(std::string_view key, SessionSubscription sub) {
    size_t i = position(key);
    if (i == kNone) {
      i = items_.size();
      items_.emplace_back(key, std::move(sub));
      if (index_) {
        index_->emplace(std::string(key), i);
      } else if (items_.size() > kIndexAbove) {
        index_ = std::make_unique<std::unordered_map<std::string, size_t>>();
        for (size_t k = 0; k < items_.size(); ++k) index_->emplace(items_[k].key(), k);
      }
    } else {
      items_[i] = Entry(key, std::move(sub));
    }
    return items_[i].sub_;
  }

  bool remove(std::string_view key, SessionSubscription* removed) {
    size_t i = position(key);
    if (i == kNone) return false;
    if (index_) index_->erase(std::string(key));
    *removed = std::move(items_[i].sub_);
    if (i + 1 != items_.size()) {
      items_[i] = std::move(items_.back());
      if (index_) (*index_)[std::string(items_[i].key())] = i;
    }
    items_.pop_back();
    if (index_ && items_.size() < kIndexAbove / 2) index_.reset();
    return true;
  }

 private:
  static constexpr size_t kNone = ~size_t(0);
  size_t position(std::string_view key) const {
    if (index_) {
      auto it = index_->find(std::string(key));
      return it == index_->end() ? kNone : it->second;
    }
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].key() == key) return i;
    }
    return kNone;
  }

  std::vector<Entry> items_;
  std::unique_ptr<std::unordered_map<std::string, size_t>> index_;
};

struct Will {
  MessagePtr msg;               // expiry_unix_ms unset: it counts from publication
  uint32_t delay_interval = 0;  // seconds (MQTT 5 Will Delay Interval)
  std::optional<uint32_t> message_expiry;  // seconds, from the will properties
  size_t mount_len = 0;  // the listener's mount_point prefixed to msg->topic
};

class Session {
 public:
  Session(SessionId id, std::string client_id) : id_(id), client_id_(std::move(client_id)) {}

  SessionId id() const { return id_; }
  const std::string& client_id() const { return client_id_; }

  // The connection currently bound to this session (a checked handle: Broker::connection_of
  // finds it), 0 while offline.
  uint64_t connection_id = 0;
  OptionalString username;
  // The ACL of the listener the client last connected through (Mosquitto's rule for offline
  // sessions); null when no acl_file applies.
  std::shared_ptr<const AclFile> acl;
  net::TimerId expiry_timer = 0;
  std::unique_ptr<Will> will;  // behind a pointer: most sessions have none
  net::TimerId will_timer = 0;

  // Subscriptions keyed by the filter as the client wrote it (including any $share prefix).
  // Made on first use: a session without subscriptions costs one pointer.
  const SubscriptionList& subscriptions() const {
    static const SubscriptionList none;
    return subscriptions_ ? *subscriptions_ : none;
  }
  // Adds or replaces the subscription stored under `key` (the filter as the client wrote it).
  const SessionSubscription& put_subscription(std::string_view key, SessionSubscription sub) {
    if (!subscriptions_) subscriptions_ = std::make_unique<SubscriptionList>();
    const SessionSubscription& stored = subscriptions_->put(key, std::move(sub));
    several_subscriptions_ = subscriptions_->size() > 1;
    return stored;
  }
  // Removes the subscription under `key` into *removed; false when there is none.
  bool remove_subscription(std::string_view key, SessionSubscription* removed) {
    if (!subscriptions_ || !subscriptions_->remove(key, removed)) return false;
    several_subscriptions_ = subscriptions_->size() > 1;
    if (subscriptions_->size() == 0) subscriptions_.reset();
    return true;
  }
  // Whether the session has more than one subscription, so that one message can match it
  // twice; a flag, so that the fan-out does not read the map for every subscriber.
  bool several_subscriptions() const { return several_subscriptions_; }

  // Outgoing QoS 1/2 messages sent and not yet acknowledged (flow.inflight, in send order), and
  // messages waiting for room in the window or for the client to come back (flow.queue);
  // flow.unsent counts the in-flight ones still to re-send on a resumed session.
  proto::Outbound<Outgoing> flow;
  size_t queued_bytes = 0;
  uint64_t dropped = 0;

  // Incoming QoS 2 messages received (PUBREC sent) and not yet released by PUBREL, by packet
  // identifier. The message is held here and forwarded when PUBREL comes, as Mosquitto does;
  // null when it was already forwarded (state restored from an older persistence file).
  proto::InboundQos2<MessagePtr> incoming_qos2;

  static constexpr uint32_t kNeverExpires = 0xFFFFFFFF;

  int64_t disconnected_unix_ms = 0;  // when it last went offline (0 while connected)
  // Persistence: the next Outgoing::seq.
  uint64_t next_seq = 1;
  uint32_t expiry_interval = 0;      // seconds; kNeverExpires = forever
  codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
  // Persistence: whether this session is in the store (its changes are journaled).
  bool persisted = false;

 private:
  bool several_subscriptions_ = false;  // in the padding after `persisted`
  SessionId id_;
  std::string client_id_;
  std::unique_ptr<SubscriptionList> subscriptions_;
};

}  // namespace mq::broker
