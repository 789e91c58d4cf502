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
#include "proto/packet_id_set.h"

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
  std::string filter;       // without $share prefix
  std::string share_group;  // empty if not shared
  SubscriptionOptions options;
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

  using SubscriptionMap = std::unordered_map<std::string, SessionSubscription>;

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
  // The map is made on first use: a session without subscriptions costs one pointer.
  const SubscriptionMap& subscriptions() const {
    static const SubscriptionMap none;
    return subscriptions_ ? *subscriptions_ : none;
  }
  // Adds or replaces the subscription stored under `key` (the filter as the client wrote it).
  const SessionSubscription& put_subscription(std::string key, SessionSubscription sub) {
    if (!subscriptions_) subscriptions_ = std::make_unique<SubscriptionMap>();
    SessionSubscription& stored = (*subscriptions_)[std::move(key)];
    stored = std::move(sub);
    several_subscriptions_ = subscriptions_->size() > 1;
    return stored;
  }
  // Removes the subscription under `key` into *removed; false when there is none.
  bool remove_subscription(std::string_view key, SessionSubscription* removed) {
    if (!subscriptions_) return false;
    auto it = subscriptions_->find(std::string(key));
    if (it == subscriptions_->end()) return false;
    *removed = std::move(it->second);
    subscriptions_->erase(it);
    several_subscriptions_ = subscriptions_->size() > 1;
    return true;
  }
  // Whether the session has more than one subscription, so that one message can match it
  // twice; a flag, so that the fan-out does not read the map for every subscriber.
  bool several_subscriptions() const { return several_subscriptions_; }

  // Outgoing QoS 1/2 messages sent and not yet acknowledged (flow.inflight, in send order), and
  // messages waiting for room in the window or for the client to come back (flow.queue).
  proto::Outbound<Outgoing> flow;
  size_t queued_bytes = 0;
  uint64_t dropped = 0;

  // Incoming QoS 2 messages received (PUBREC sent) and not yet released by PUBREL, by packet
  // identifier. The message is held here and forwarded when PUBREL comes, as Mosquitto does;
  // null when it was already forwarded (state restored from an older persistence file).
  proto::PacketIdMap<MessagePtr> incoming_qos2;

  static constexpr uint32_t kNeverExpires = 0xFFFFFFFF;

  int64_t disconnected_unix_ms = 0;  // when it last went offline (0 while connected)
  // Persistence: the next Outgoing::seq.
  uint64_t next_seq = 1;
  uint32_t expiry_interval = 0;      // seconds; kNeverExpires = forever
  uint32_t unsent_inflight = 0;      // entries of `inflight` with sent == false
  codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
  // Persistence: whether this session is in the store (its changes are journaled).
  bool persisted = false;

 private:
  bool several_subscriptions_ = false;  // in the padding after `persisted`
  SessionId id_;
  std::string client_id_;
  std::unique_ptr<SubscriptionMap> subscriptions_;
};

}  // namespace mq::broker
