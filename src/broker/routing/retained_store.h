// RetainedStore: the retained message of each topic name, in a trie of topic levels, so a new
// subscription walks only the branches its filter can match. RetainedCursor delivers a large match
// (a "#" over a million topics) in bounded batches across event-loop turns.
// Ownership: the broker owns the store; messages are shared MessagePtrs; cursors point into the
// store and must be destroyed (or finish) before it.
// Threading: no internal lock. Mutators and cursors need exclusive access; find, match and the
// counters may run concurrently with each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "broker/message.h"
#include "broker/routing/topic_trie.h"

namespace mq::broker {

class RetainedStore;
struct RetainedNode;  // private to retained_store.cc

// One pending step of a filter walk; internal to RetainedStore and RetainedCursor.
struct RetainedFrame {
  RetainedNode* node;
  size_t pos;           // start of the next filter level (kEnter / kPlus)
  uint32_t next_child;  // next child index to visit (kPlus / kAll)
  uint8_t kind;
  bool skip_dollar;     // at the root of a leading wildcard: skip "$..." topics [MQTT-4.7.2-1]
};

// A resumable walk over the retained messages matching one filter.
//
// Consistency under mutation (set/erase between calls, or erase from sweep): while any cursor is
// alive the store frees no trie node and never reorders children; erased topics only lose their
// message and are pruned once the last cursor finishes. Each cursor therefore holds stable node
// pointers and child indices, and guarantees: every topic retained for the whole walk is yielded
// exactly once, a topic is never yielded twice, a topic erased before the cursor reaches it is not
// yielded, and a replaced one yields the message current when it is reached. Topics added during
// the walk may or may not be yielded. Keep cursors short-lived (advance one every loop turn): while
// any is alive, erased topics keep their (empty) nodes until the last cursor finishes.
class RetainedCursor {
 public:
  static constexpr size_t kUnbounded = std::numeric_limits<size_t>::max();

  RetainedCursor() = default;  // an already-finished cursor
  RetainedCursor(RetainedCursor&& other) noexcept;
  RetainedCursor& operator=(RetainedCursor&& other) noexcept;
  RetainedCursor(const RetainedCursor&) = delete;
  RetainedCursor& operator=(const RetainedCursor&) = delete;
  ~RetainedCursor();

  bool done() const { return stack_.empty(); }

  // Appends up to max_matches messages to `out`, visiting at most max_nodes trie nodes (so a
  // sparse filter over a huge store also yields control), and returns how many were appended.
  // Zero does not mean finished; done() does.
  size_t next(std::vector<MessagePtr>& out, size_t max_matches, size_t max_nodes = kUnbounded);

 private:
  friend class RetainedStore;
  RetainedCursor(RetainedStore* store, std::string filter, RetainedFrame start);
  void release();

  RetainedStore* store_ = nullptr;
  std::string filter_;
  std::vector<RetainedFrame> stack_;
};

class RetainedStore {
 public:
  RetainedStore();
  // REQUIRES: no live unfinished cursor (asserted)
  ~RetainedStore();
  RetainedStore(const RetainedStore&) = delete;
  RetainedStore& operator=(const RetainedStore&) = delete;

  // Stores or replaces the retained message of a topic name; a null message erases.
  // REQUIRES: topic is a valid topic name (no wildcards); invalid ones are stored literally.
  void set(std::string_view topic, MessagePtr message);
  // Returns whether a message was removed (the broker calls it for an empty retained payload).
  bool erase(std::string_view topic);
  MessagePtr find(std::string_view topic) const;

  // Calls `visit` for every retained message whose topic matches the filter, walking only the
  // branches the filter can reach. Fine for small results; use cursor() for large ones.
  // REQUIRES: `visit` does not modify the store.
  void match(std::string_view filter, FunctionRef<void(const MessagePtr&)> visit) const;

  // A resumable walk over the matches of `filter`; cursor_all() visits every topic, "$" ones too.
  RetainedCursor cursor(std::string_view filter);
  RetainedCursor cursor_all();

  // Expiry sweep in bounded steps: advances `cursor` (made by this store) over at most max_nodes
  // nodes, erasing every message for which `expired` returns true. Returns the number erased.
  size_t sweep(RetainedCursor& cursor, size_t max_nodes,
               FunctionRef<bool(const Message&)> expired);
  // Whole-store version of sweep, in one call.
  size_t erase_if(FunctionRef<bool(const Message&)> expired);

  size_t count() const { return count_; }
  uint64_t payload_bytes() const { return payload_bytes_; }
  size_t node_count() const { return nodes_; }  // excluding the root; for tests and $SYS

 private:
  friend class RetainedCursor;

  void erase_message(RetainedNode* node);
  void prune(RetainedNode* node);
  void attach_cursor() { ++cursors_; }
  void detach_cursor();

  RetainedNode* root_;
  size_t count_ = 0;
  uint64_t payload_bytes_ = 0;
  size_t nodes_ = 0;
  size_t cursors_ = 0;  // live unfinished cursors: while > 0, nodes are not freed
  std::vector<RetainedNode*> pending_prune_;
};

}  // namespace mq::broker
