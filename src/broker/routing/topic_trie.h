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
// many (16 bytes a slot, no per-entry allocation). Each child records its slot in the vector, so
// removal is O(1) (swap with the last). Insertion appends, so iteration by index sees every child
// that was present throughout, even across inserts.
// Node requires members `std::string level` and `uint32_t slot`. Nodes are heap-allocated and
// never moved, so the table may hold plain pointers.
template <class Node>
class ChildTable {
 public:
  static constexpr size_t kIndexAbove = 8;

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  Node* at(size_t i) const { return items_[i]; }

  Node* find(std::string_view level) const {
    if (index_) {
      size_t h = hash(level);
      for (size_t i = h & mask_;; i = (i + 1) & mask_) {
        const Bucket& b = index_[i];
        if (!b.node) return nullptr;
        if (b.hash == h && std::string_view(b.node->level) == level) return b.node;
      }
    }
    for (Node* c : items_) {
      if (std::string_view(c->level) == level) return c;
    }
    return nullptr;
  }

  // REQUIRES: no child with the same level is present
  void insert(Node* child) {
    child->slot = static_cast<uint32_t>(items_.size());
    items_.push_back(child);
    if (index_) {
      if (items_.size() * 4 > (mask_ + 1) * 3) {
        rebuild(mask_ + 1);
      } else {
        place(child, hash(child->level));
      }
    } else if (items_.size() > kIndexAbove) {
      rebuild(items_.size());
    }
  }

  // REQUIRES: child is in this table
  void erase(Node* child) {
    uint32_t slot = child->slot;
    assert(slot < items_.size() && items_[slot] == child);
    Node* last = items_.back();
    items_[slot] = last;
    last->slot = slot;
    items_.pop_back();
    if (index_) {
      if (items_.size() < kIndexAbove / 2) {  // hysteresis against flapping
        index_.reset();
        mask_ = 0;
      } else if (mask_ + 1 > 64 && items_.size() * 8 < mask_ + 1) {
        rebuild(items_.size());
      } else {
        unplace(child);
      }
    }
    // Churn must not leave a node holding its peak capacity forever.
    if (items_.capacity() > 16 && items_.size() < items_.capacity() / 4) items_.shrink_to_fit();
  }

 private:
  struct Bucket {
    Node* node;  // nullptr = empty
    size_t hash;
  };

  static size_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

  // Sizes the index for at least `n` children at a load factor of at most 1/2, and refills it.
  void rebuild(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    index_ = std::make_unique<Bucket[]>(cap);  // value-initialised: all empty
    mask_ = cap - 1;
    for (Node* c : items_) place(c, hash(c->level));
  }

  void place(Node* node, size_t h) {
    size_t i = h & mask_;
    while (index_[i].node) i = (i + 1) & mask_;
    index_[i] = {node, h};
  }

  // Linear probing with backward-shift deletion: no tombstones, so churn never degrades lookups.
  void unplace(Node* node) {
    size_t i = hash(node->level) & mask_;
    while (index_[i].node != node) {
      assert(index_[i].node);
      i = (i + 1) & mask_;
    }
    for (size_t j = (i + 1) & mask_; index_[j].node; j = (j + 1) & mask_) {
      size_t home = index_[j].hash & mask_;
      // Move j back into the hole at i unless its home lies cyclically in (i, j].
      bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        index_[i] = index_[j];
        i = j;
      }
    }
    index_[i] = {nullptr, 0};
  }

  std::vector<Node*> items_;
  std::unique_ptr<Bucket[]> index_;
  size_t mask_ = 0;
};

}  // namespace mq::broker
