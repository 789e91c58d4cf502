// Design: one node per filter level. "+" and "#" children sit in dedicated pointers so matching
// never looks them up by string; other children live in a ChildTable. Subscribers of a node are a
// flat vector of 16-byte entries, indexed by session only when the vector grows large, so the
// common node (few subscribers, few children) is a handful of small allocations. Every walk is
// iterative: filters and topics with tens of thousands of levels cost heap, never stack.
#include "broker/routing/sub_tree.h"

#include <cassert>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mq::broker {
namespace {

struct Subscriber {
  SessionId session;
  SubscriptionOptions options;
};

// Subscribers of one node (or one share group), unordered. Linear search while small; a
// session -> position index once large, so 100k sessions on one filter stay O(1) per change.
class SubscriberSet {
 public:
  static constexpr size_t kIndexAbove = 16;

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const Subscriber& operator[](size_t i) const { return items_[i]; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

  const Subscriber* find(SessionId session) const {
    size_t i = position(session);
    return i == kNone ? nullptr : &items_[i];
  }

  // Returns true when the session was not present.
  bool upsert(SessionId session, const SubscriptionOptions& options) {
    size_t i = position(session);
    if (i != kNone) {
      items_[i].options = options;
      return false;
    }
    items_.push_back({session, options});
    if (index_) {
      index_->emplace(session, items_.size() - 1);
    } else if (items_.size() > kIndexAbove) {
      index_ = std::make_unique<Index>();
      index_->reserve(items_.size() * 2);
      for (size_t k = 0; k < items_.size(); ++k) index_->emplace(items_[k].session, k);
    }
    return true;
  }

  bool erase(SessionId session) {
    size_t i = position(session);
    if (i == kNone) return false;
    if (i + 1 != items_.size()) {
      items_[i] = items_.back();
      if (index_) (*index_)[items_[i].session] = i;
    }
    items_.pop_back();
    if (index_) {
      index_->erase(session);
      if (items_.size() < kIndexAbove / 2) index_.reset();
    }
    if (items_.capacity() > 16 && items_.size() < items_.capacity() / 4) items_.shrink_to_fit();
    return true;
  }

 private:
  using Index = std::unordered_map<SessionId, size_t>;
  static constexpr size_t kNone = static_cast<size_t>(-1);

  size_t position(SessionId session) const {
    if (index_) {
      auto it = index_->find(session);
      return it == index_->end() ? kNone : it->second;
    }
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].session == session) return i;
    }
    return kNone;
  }

  std::vector<Subscriber> items_;
  std::unique_ptr<Index> index_;
};

// A relaxed atomic that can live in a vector (copies carry the current value).
struct RotationCounter {
  std::atomic<uint32_t> value{0};
  RotationCounter() = default;
  RotationCounter(const RotationCounter& o) : value(o.value.load(std::memory_order_relaxed)) {}
  RotationCounter& operator=(const RotationCounter& o) {
    value.store(o.value.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
  uint32_t next() { return value.fetch_add(1, std::memory_order_relaxed); }
};

struct SharedGroup {
  std::string name;
  SubscriberSet members;
  mutable RotationCounter rotation;
};

// RAII marker for "a match of this tree is running on this thread", checked by the mutators.
// The guards form a chain on the stack (a visitor may start another match); a thread-local
// pointer to the innermost one replaces a shared atomic counter, whose locked increment and
// decrement cost more than the rest of a one-subscriber match.
class MatchGuard {
 public:
  explicit MatchGuard(const void* tree) : tree_(tree), outer_(top_) { top_ = this; }
  ~MatchGuard() { top_ = outer_; }
  MatchGuard(const MatchGuard&) = delete;
  MatchGuard& operator=(const MatchGuard&) = delete;

  static bool running(const void* tree) {
    for (const MatchGuard* g = top_; g; g = g->outer_) {
      if (g->tree_ == tree) return true;
    }
    return false;
  }

 private:
  static inline thread_local const MatchGuard* top_ = nullptr;
  const void* tree_;
  const MatchGuard* outer_;
};

}  // namespace

struct SubscriptionTree::Node {
  Node* parent = nullptr;
  std::string level;
  uint32_t slot = 0;  // position in parent's ChildTable
  Node* plus = nullptr;
  Node* hash = nullptr;
  ChildTable<Node> children;
  SubscriberSet subs;
  std::unique_ptr<std::vector<SharedGroup>> shared;  // absent unless a share group uses this filter

  bool unused() const {
    return subs.empty() && !shared && !plus && !hash && children.empty();
  }

  SharedGroup* group(std::string_view name) const {
    if (!shared) return nullptr;
    for (SharedGroup& g : *shared) {
      if (g.name == name) return &g;
    }
    return nullptr;
  }

  template <class F>
  void for_each_child(F&& f) const {
    if (plus) f(plus);
    if (hash) f(hash);
    for (size_t i = 0; i < children.size(); ++i) f(children.at(i));
  }
};

SubscriptionTree::SubscriptionTree() : root_(new Node) {}

SubscriptionTree::~SubscriptionTree() {
  // Iterative: a filter with 50,000 levels must not recurse 50,000 destructors deep.
  std::vector<Node*> todo{root_};
  while (!todo.empty()) {
    Node* n = todo.back();
    todo.pop_back();
    n->for_each_child([&](Node* c) { todo.push_back(c); });
    delete n;
  }
}

SubscriptionTree::Node* SubscriptionTree::get_or_add_child(Node* parent, std::string_view level) {
  Node** slot = nullptr;
  if (level == "+") slot = &parent->plus;
  if (level == "#") slot = &parent->hash;
  Node* child = slot ? *slot : parent->children.find(level);
  if (child) return child;
  child = new Node;
  child->parent = parent;
  child->level.assign(level);
  if (slot) {
    *slot = child;
  } else {
    parent->children.insert(child);
  }
  ++nodes_;
  return child;
}

SubscriptionTree::Node* SubscriptionTree::find_node(std::string_view filter) const {
  Node* n = root_;
  size_t pos = 0;
  while (n && pos <= filter.size()) {
    size_t next;
    std::string_view level = next_level(filter, pos, &next);
    if (level == "+") {
      n = n->plus;
    } else if (level == "#") {
      n = n->hash;
    } else {
      n = n->children.find(level);
    }
    pos = next;
  }
  return n;
}

void SubscriptionTree::prune(Node* n) {
  while (n != root_ && n->unused()) {
    Node* parent = n->parent;
    if (parent->plus == n) {
      parent->plus = nullptr;
    } else if (parent->hash == n) {
      parent->hash = nullptr;
    } else {
      parent->children.erase(n);
    }
    delete n;
    --nodes_;
    n = parent;
  }
}

SubscribeOutcome SubscriptionTree::subscribe(std::string_view filter, SessionId session,
                                             const SubscriptionOptions& options,
                                             std::string_view share_group) {
  assert(!MatchGuard::running(this) && "subscribe from inside match()");
  Node* n = root_;
  size_t pos = 0;
  while (pos <= filter.size()) {
    size_t next;
    n = get_or_add_child(n, next_level(filter, pos, &next));
    pos = next;
  }

  bool added;
  if (share_group.empty()) {
    added = n->subs.upsert(session, options);
  } else {
    SharedGroup* g = n->group(share_group);
    if (!g) {
      if (!n->shared) n->shared = std::make_unique<std::vector<SharedGroup>>();
      n->shared->push_back(SharedGroup{std::string(share_group), {}, {}});
      g = &n->shared->back();
    }
    added = g->members.upsert(session, options);
    if (added) ++shared_;
  }
  if (!added) return SubscribeOutcome::kReplaced;  // [MQTT-3.8.4-3] one entry, new options
  ++subscriptions_;
  return SubscribeOutcome::kNew;
}

bool SubscriptionTree::unsubscribe(std::string_view filter, SessionId session,
                                   std::string_view share_group) {
  assert(!MatchGuard::running(this) && "unsubscribe from inside match()");
  Node* n = find_node(filter);
  if (!n) return false;
  if (share_group.empty()) {
    if (!n->subs.erase(session)) return false;
  } else {
    SharedGroup* g = n->group(share_group);
    if (!g || !g->members.erase(session)) return false;
    --shared_;
    if (g->members.empty()) {
      std::vector<SharedGroup>& groups = *n->shared;
      size_t i = static_cast<size_t>(g - groups.data());
      if (i + 1 != groups.size()) groups[i] = std::move(groups.back());
      groups.pop_back();
      if (groups.empty()) n->shared.reset();
    }
  }
  --subscriptions_;
  prune(n);
  return true;
}

const SubscriptionOptions* SubscriptionTree::find(std::string_view filter, SessionId session,
                                                  std::string_view share_group) const {
  const Node* n = find_node(filter);
  if (!n) return nullptr;
  const Subscriber* s = nullptr;
  if (share_group.empty()) {
    s = n->subs.find(session);
  } else if (const SharedGroup* g = n->group(share_group)) {
    s = g->members.find(session);
  }
  return s ? &s->options : nullptr;
}

namespace {

// Everything subscribed at one filter node that matched.
template <class NodeT, class Visit>
// Shared groups first, then the normal subscriptions in the order they were made (Mosquitto's).
void visit_node(const NodeT* n, Visit& visit) {
  if (n->shared) {
    for (const SharedGroup& g : *n->shared) {
      if (g.members.empty()) continue;
      const Subscriber& s = g.members[g.rotation.next() % g.members.size()];
      visit(s.session, s.options, std::string_view(g.name));
    }
  }
  for (const Subscriber& s : n->subs) visit(s.session, s.options, std::string_view());
}

}  // namespace

// The order subscriptions are visited in is Mosquitto 2.0's (one client with overlapping
// subscriptions gets its copies in that order): at each level the literal child's whole subtree
// first, then the "+" child's, then "#" at this level; where the topic ends, a node's "#" child
// ("sport/#" matching "sport" [MQTT-4.7.1-2]) before the node itself.
void SubscriptionTree::match(std::string_view topic, MatchVisitor visit) const {
  MatchGuard guard(this);
  struct Step {
    const Node* node;
    size_t pos;  // start of the next topic level to match below `node`
    bool descend;  // false: visit `node`'s subscribers
  };
  SmallStack<Step, 32> stack;
  stack.push({root_, 0, true});
  while (!stack.empty()) {
    Step s = stack.pop();
    const Node* n = s.node;
    if (!s.descend) {
      visit_node(n, visit);
      continue;
    }
    size_t next;
    std::string_view level = next_level(topic, s.pos, &next);
    bool last = next > topic.size();
    // Filters starting with a wildcard do not match topic names starting with "$" [MQTT-4.7.2-1].
    bool wild = !(n == root_ && starts_with_dollar(level));
    // Pushed in reverse: the stack pops the literal child's steps first.
    if (wild && n->hash) stack.push({n->hash, 0, false});
    for (const Node* c : {wild ? n->plus : nullptr, n->children.find(level)}) {
      if (!c) continue;
      if (last) {
        stack.push({c, 0, false});
        if (c->hash) stack.push({c->hash, 0, false});
      } else {
        stack.push({c, next, true});
      }
    }
  }
}

void SubscriptionTree::dump(DumpVisitor visit) const {
  struct Step {
    const Node* node;
    size_t prefix;  // length of the parent's filter within `filter`
  };
  std::string filter;
  std::vector<Step> stack;
  root_->for_each_child([&](const Node* c) { stack.push_back({c, 0}); });
  while (!stack.empty()) {
    Step s = stack.back();
    stack.pop_back();
    const Node* n = s.node;
    // Depth-first order keeps the parent's filter as a prefix of `filter` when a child is popped.
    filter.resize(s.prefix);
    if (n->parent != root_) filter.push_back('/');
    filter.append(n->level);
    for (const Subscriber& sub : n->subs) visit(filter, sub.session, sub.options, {});
    if (n->shared) {
      for (const SharedGroup& g : *n->shared) {
        for (const Subscriber& sub : g.members) visit(filter, sub.session, sub.options, g.name);
      }
    }
    size_t len = filter.size();
    n->for_each_child([&](const Node* c) { stack.push_back({c, len}); });
  }
}

}  // namespace mq::broker
