// Building blocks shared by the topic-level tries (SubscriptionTree, RetainedStore): allocation-free
// topic level splitting, a non-owning callable reference, a small inline stack, and the child table.
// Ownership: ChildTable holds raw child pointers; the trie that uses it owns and frees the nodes.
// Threading: plain data, no locking; const members may be called concurrently.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <functional>
#include <utility>
#include <vector>

namespace mq::broker {

// Non-owning reference to a callable, valid only while the referenced callable lives: take it as
// a parameter, call it, never store it. Avoids std::function's allocation on hot paths.
template <class Sig>
class FunctionRef;

template <class R, class... A>
class FunctionRef<R(A...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             std::is_invocable_r_v<R, F&, A...>)
  FunctionRef(F&& f)  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, A... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<A>(args)...);
        }) {}

  R operator()(A... args) const { return call_(obj_, std::forward<A>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

// Topic levels are walked by offset: `pos` is where the next level starts, and a string is fully
// consumed once pos > s.size() (so "" is one empty level and "a/" is "a" then ""). Returns the
// level starting at pos and stores where the following one starts in *next.
// REQUIRES: pos <= s.size()
inline std::string_view next_level(std::string_view s, size_t pos, size_t* next) {
  size_t slash = s.find('/', pos);
  if (slash == std::string_view::npos) {
    *next = s.size() + 1;
    return s.substr(pos);
  }
  *next = slash + 1;
  return s.substr(pos, slash - pos);
}

inline bool starts_with_dollar(std::string_view level) { return !level.empty() && level[0] == '$'; }

// LIFO stack keeping its first N entries inline, so typical walks never touch the heap.
template <class T, size_t N>
class SmallStack {
 public:
  bool empty() const { return size_ == 0; }
  void push(const T& v) {
    if (size_ < N) {
      inline_[size_] = v;
    } else {
      heap_.push_back(v);
    }
    ++size_;
  }
  // REQUIRES: !empty()
  T pop() {
    assert(size_ > 0);
    --size_;
    if (size_ >= N) {
      T v = heap_.back();
      heap_.pop_back();
      return v;
    }
    return inline_[size_];
  }

 private:
  T inline_[N];
  std::vector<T> heap_;
  size_t size_ = 0;
};

// Children of one trie node, looked up by level. A linear scan over a small vector while there are
// few (the common case), plus an open-addressing hash index over the same pointers once there are
// many (8 bytes a slot, no per-entry allocation). Each child records its slot in the vector, so
// removal is O(1) (swap with the last). Insertion appends, so iteration by index sees every child
// that was present throughout, even across inserts. The table itself is one pointer, null for a
// leaf: most nodes of a large tree are leaves (a retained message, a client's own filter).
// Node requires members `std::string level` and `uint32_t slot`. Nodes are heap-allocated and
// never moved, so the table may hold plain pointers.
template <class Node>
class ChildTable {
 public:
  static constexpr size_t kIndexAbove = 8;

  bool empty() const { return !t_; }
  size_t size() const { return t_ ? t_->items.size() : 0; }
  Node* at(size_t i) const { return t_->items[i]; }

  Node* find(std::string_view level) const {
    if (!t_) return nullptr;
    if (t_->index) {
      for (size_t i = hash(level) & t_->mask;; i = (i + 1) & t_->mask) {
        Node* n = t_->index[i];
        if (!n) return nullptr;
        if (std::string_view(n->level) == level) return n;
      }
    }
    for (Node* c : t_->items) {
      if (std::string_view(c->level) == level) return c;
    }
    return nullptr;
  }

  // REQUIRES: no child with the same level is present
  void insert(Node* child) {
    if (!t_) t_ = std::make_unique<Table>();
    std::vector<Node*>& items = t_->items;
    child->slot = static_cast<uint32_t>(items.size());
    items.push_back(child);
    if (t_->index) {
      if (items.size() * 4 > (t_->mask + 1) * 3) {
        rebuild(t_->mask + 1);
      } else {
        place(child);
      }
    } else if (items.size() > kIndexAbove) {
      rebuild(items.size());
    }
  }

  // REQUIRES: child is in this table
  void erase(Node* child) {
    std::vector<Node*>& items = t_->items;
    uint32_t slot = child->slot;
    assert(slot < items.size() && items[slot] == child);
    Node* last = items.back();
    items[slot] = last;
    last->slot = slot;
    items.pop_back();
    if (items.empty()) {
      t_.reset();
      return;
    }
    if (t_->index) {
      if (items.size() < kIndexAbove / 2) {  // hysteresis against flapping
        t_->index.reset();
        t_->mask = 0;
      } else if (t_->mask + 1 > 64 && items.size() * 8 < t_->mask + 1) {
        rebuild(items.size());
      } else {
        unplace(child);
      }
    }
    // Churn must not leave a node holding its peak capacity forever.
    if (items.capacity() > 16 && items.size() < items.capacity() / 4) items.shrink_to_fit();
  }

 private:
  struct Table {
    std::vector<Node*> items;
    std::unique_ptr<Node*[]> index;  // nullptr = empty slot; no stored hash: a probe compares
    size_t mask = 0;                 // the level, which a hit needs anyway
  };

  static size_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

  // Sizes the index for at least `n` children at a load factor of at most 1/2, and refills it.
  void rebuild(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    t_->index = std::make_unique<Node*[]>(cap);  // value-initialised: all empty
    t_->mask = cap - 1;
    for (Node* c : t_->items) place(c);
  }

  void place(Node* node) {
    size_t i = hash(node->level) & t_->mask;
    while (t_->index[i]) i = (i + 1) & t_->mask;
    t_->index[i] = node;
  }

  // Linear probing with backward-shift deletion: no tombstones, so churn never degrades lookups.
  void unplace(Node* node) {
    const size_t mask = t_->mask;
    Node** index = t_->index.get();
    size_t i = hash(node->level) & mask;
    while (index[i] != node) {
      assert(index[i]);
      i = (i + 1) & mask;
    }
    for (size_t j = (i + 1) & mask; index[j]; j = (j + 1) & mask) {
      size_t home = hash(index[j]->level) & mask;
      // Move j back into the hole at i unless its home lies cyclically in (i, j].
      bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        index[i] = index[j];
        i = j;
      }
    }
    index[i] = nullptr;
  }

  std::unique_ptr<Table> t_;
};

}  // namespace mq::broker
