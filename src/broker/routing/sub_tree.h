// SubscriptionTree: topic filters -> subscribers, a trie of topic levels used to route PUBLISH.
// A normal subscription is visited once per matching publish; a shared subscription
// ($share/{group}/{filter}) is visited once per matching (group, filter), one member chosen
// round-robin. Sessions are named by an opaque SessionId chosen by the broker, never a pointer.
// Ownership: the broker owns one tree; the tree owns its nodes and copies of the filters.
// Threading: no internal lock. subscribe/unsubscribe need exclusive access; match, find, dump and
// the counters may run concurrently with each other (match only bumps atomic round-robin counters).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/routing/topic_trie.h"

namespace mq::broker {

using SessionId = uint64_t;

struct SubscriptionOptions {
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  // 0 = none

  bool operator==(const SubscriptionOptions&) const = default;
};

enum class SubscribeOutcome : uint8_t {
  kNew,       // no subscription of this session to this filter (and share group) existed
  kReplaced,  // one existed; its options were replaced [MQTT-3.8.4-3]
};

class SubscriptionTree {
 public:
  // share_group is empty for a normal subscription.
  using MatchVisitor =
      FunctionRef<void(SessionId, const SubscriptionOptions&, std::string_view share_group)>;
  using DumpVisitor = FunctionRef<void(std::string_view filter, SessionId,
                                       const SubscriptionOptions&, std::string_view share_group)>;

  SubscriptionTree();
  ~SubscriptionTree();
  SubscriptionTree(const SubscriptionTree&) = delete;
  SubscriptionTree& operator=(const SubscriptionTree&) = delete;

  // `filter` is the topic filter without any $share/{group}/ prefix; `share_group` names the
  // group for a shared subscription, so "$share/g/t" and "t" are distinct subscriptions.
  // REQUIRES: filter and group already validated (the codec does it). An invalid filter is still
  // memory-safe: it is stored literally and simply never matches as a wildcard would.
  SubscribeOutcome subscribe(std::string_view filter, SessionId session,
                             const SubscriptionOptions& options, std::string_view share_group = {});

  // Returns whether a subscription was removed. Empty trie nodes are freed.
  bool unsubscribe(std::string_view filter, SessionId session, std::string_view share_group = {});

  // The options of one subscription, or nullptr. The pointer is valid until the next mutation.
  const SubscriptionOptions* find(std::string_view filter, SessionId session,
                                  std::string_view share_group = {}) const;

  // Calls `visit` for every normal subscription whose filter matches the topic name (a session
  // with several matching filters is visited once per filter) and, for every shared subscription
  // with a matching filter, once for exactly one member, rotating round-robin per group+filter.
  // No heap allocation unless the walk needs more than 32 pending branches; iterative.
  // REQUIRES: `visit` does not subscribe/unsubscribe on this tree (asserted).
  void match(std::string_view topic, MatchVisitor visit) const;

  // Every subscription, shared ones with their group, filters rebuilt from the trie (no prefix).
  void dump(DumpVisitor visit) const;

  size_t subscription_count() const { return subscriptions_; }  // normal + shared
  size_t shared_subscription_count() const { return shared_; }
  size_t node_count() const { return nodes_; }  // excluding the root; for tests and $SYS

 private:
  struct Node;

  Node* get_or_add_child(Node* parent, std::string_view level);
  Node* find_node(std::string_view filter) const;
  void prune(Node* node);

  Node* root_;
  size_t subscriptions_ = 0;
  size_t shared_ = 0;
  size_t nodes_ = 0;
};

}  // namespace mq::broker
