// Design: one node per topic level, children in a ChildTable (linear when few, hashed when many),
// the message in the node. Matching is an explicit-stack depth-first walk, the same code for the
// one-shot match() and for resumable cursors, so deep topics cost heap, never stack. Cursors stay
// valid across mutation by deferring every node removal (and so every child reordering) while any
// cursor is alive; deferred nodes are pruned when the last cursor finishes.
#include "broker/routing/retained_store.h"

#include <cassert>
#include <utility>

namespace mq::broker {

struct RetainedNode {
  RetainedNode* parent = nullptr;
  std::string level;
  uint32_t slot = 0;             // position in parent's ChildTable
  bool pending_prune = false;    // queued in RetainedStore::pending_prune_
  ChildTable<RetainedNode> children;
  MessagePtr message;
};

namespace {

enum Kind : uint8_t {
  kEnter,  // node reached; pos is the rest of the filter to match below it
  kPlus,   // "+" at this node: enter each child with the same pos
  kAll,    // "#" at this node: every descendant matches
};

// Advances a walk of `filter` over at most max_nodes steps or until max_matches messages were
// emitted; returns the number emitted. `emit` gets nodes that hold a message.
size_t walk(std::string_view filter, std::vector<RetainedFrame>& stack, size_t max_matches,
            size_t max_nodes, FunctionRef<void(RetainedNode*)> emit) {
  size_t matches = 0;
  size_t steps = 0;
  while (!stack.empty() && matches < max_matches && steps < max_nodes) {
    ++steps;
    const RetainedFrame top = stack.back();
    RetainedNode* n = top.node;
    if (top.kind == kEnter) {
      stack.pop_back();
      if (top.pos > filter.size()) {
        if (n->message) {
          emit(n);
          ++matches;
        }
        continue;
      }
      size_t next;
      std::string_view level = next_level(filter, top.pos, &next);
      bool at_root = n->parent == nullptr;
      if (level == "#") {
        // "#" also matches the parent level: "sport/#" matches "sport" [MQTT-4.7.1-2].
        if (n->message) {
          emit(n);
          ++matches;
        }
        if (!n->children.empty()) stack.push_back({n, 0, 0, kAll, at_root});
      } else if (level == "+") {
        if (!n->children.empty()) stack.push_back({n, next, 0, kPlus, at_root});
      } else if (RetainedNode* c = n->children.find(level)) {
        stack.push_back({c, next, 0, kEnter, false});
      }
      continue;
    }
    // kPlus / kAll: one child per step. Children appended meanwhile are seen; none are removed
    // or reordered while a cursor is alive.
    if (top.next_child >= n->children.size()) {
      stack.pop_back();
      continue;
    }
    RetainedNode* c = n->children.at(top.next_child);
    stack.back().next_child++;
    // Topic names starting with "$" are not matched by a leading wildcard [MQTT-4.7.2-1].
    if (top.skip_dollar && starts_with_dollar(c->level)) continue;
    if (top.kind == kPlus) {
      stack.push_back({c, top.pos, 0, kEnter, false});
    } else {
      if (c->message) {
        emit(c);
        ++matches;
      }
      if (!c->children.empty()) stack.push_back({c, 0, 0, kAll, false});
    }
  }
  return matches;
}

}  // namespace

// ---- RetainedCursor ----

RetainedCursor::RetainedCursor(RetainedStore* store, std::string filter, RetainedFrame start)
    : store_(store), filter_(std::move(filter)) {
  stack_.push_back(start);
  store_->attach_cursor();
}

RetainedCursor::RetainedCursor(RetainedCursor&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      filter_(std::move(other.filter_)),
      stack_(std::move(other.stack_)) {
  other.stack_.clear();
}

RetainedCursor& RetainedCursor::operator=(RetainedCursor&& other) noexcept {
  if (this != &other) {
    release();
    store_ = std::exchange(other.store_, nullptr);
    filter_ = std::move(other.filter_);
    stack_ = std::move(other.stack_);
    other.stack_.clear();
  }
  return *this;
}

RetainedCursor::~RetainedCursor() { release(); }

void RetainedCursor::release() {
  stack_.clear();
  if (store_) std::exchange(store_, nullptr)->detach_cursor();
}

size_t RetainedCursor::next(std::vector<MessagePtr>& out, size_t max_matches, size_t max_nodes) {
  if (!store_) return 0;
  size_t n = walk(filter_, stack_, max_matches, max_nodes,
                  [&](RetainedNode* node) { out.push_back(node->message); });
  if (stack_.empty()) release();  // finished: let the store prune again
  return n;
}

// ---- RetainedStore ----

RetainedStore::RetainedStore() : root_(new RetainedNode) {}

RetainedStore::~RetainedStore() {
  assert(cursors_ == 0 && "RetainedCursor outlived its RetainedStore");
  // Iterative: a topic with 50,000 levels must not recurse 50,000 destructors deep.
  std::vector<RetainedNode*> todo{root_};
  while (!todo.empty()) {
    RetainedNode* n = todo.back();
    todo.pop_back();
    for (size_t i = 0; i < n->children.size(); ++i) todo.push_back(n->children.at(i));
    delete n;
  }
}

void RetainedStore::set(std::string_view topic, MessagePtr message) {
  if (!message) {
    erase(topic);
    return;
  }
  RetainedNode* n = root_;
  size_t pos = 0;
  while (pos <= topic.size()) {
    size_t next;
    std::string_view level = next_level(topic, pos, &next);
    RetainedNode* c = n->children.find(level);
    if (!c) {
      c = new RetainedNode;
      c->parent = n;
      c->level.assign(level);
      n->children.insert(c);
      ++nodes_;
    }
    n = c;
    pos = next;
  }
  if (n->message) {
    payload_bytes_ -= n->message->payload.size();
  } else {
    ++count_;
  }
  payload_bytes_ += message->payload.size();
  n->message = std::move(message);
}

bool RetainedStore::erase(std::string_view topic) {
  RetainedNode* n = root_;
  size_t pos = 0;
  while (n && pos <= topic.size()) {
    size_t next;
    n = n->children.find(next_level(topic, pos, &next));
    pos = next;
  }
  if (!n || !n->message) return false;
  erase_message(n);
  return true;
}

MessagePtr RetainedStore::find(std::string_view topic) const {
  const RetainedNode* n = root_;
  size_t pos = 0;
  while (n && pos <= topic.size()) {
    size_t next;
    n = n->children.find(next_level(topic, pos, &next));
    pos = next;
  }
  return n ? n->message : nullptr;
}

void RetainedStore::erase_message(RetainedNode* n) {
  assert(n->message);
  payload_bytes_ -= n->message->payload.size();
  --count_;
  n->message.reset();
  prune(n);
}

void RetainedStore::prune(RetainedNode* n) {
  if (cursors_ > 0) {
    // A cursor may hold this node or an index into its parent's children: defer.
    if (n != root_ && !n->pending_prune) {
      n->pending_prune = true;
      pending_prune_.push_back(n);
    }
    return;
  }
  // Stops at nodes still queued, so no queued pointer is freed before its own turn.
  while (n != root_ && !n->message && n->children.empty() && !n->pending_prune) {
    RetainedNode* parent = n->parent;
    parent->children.erase(n);
    delete n;
    --nodes_;
    n = parent;
  }
}

void RetainedStore::detach_cursor() {
  assert(cursors_ > 0);
  if (--cursors_ > 0) return;
  std::vector<RetainedNode*> queued = std::move(pending_prune_);
  pending_prune_.clear();
  for (RetainedNode* n : queued) {
    n->pending_prune = false;
    prune(n);
  }
}

void RetainedStore::match(std::string_view filter,
                          FunctionRef<void(const MessagePtr&)> visit) const {
  // The walk only reads; frames hold non-const pointers because cursors share the code.
  std::vector<RetainedFrame> stack;
  stack.push_back({root_, 0, 0, kEnter, false});
  walk(filter, stack, RetainedCursor::kUnbounded, RetainedCursor::kUnbounded,
       [&](RetainedNode* node) { visit(node->message); });
}

RetainedCursor RetainedStore::cursor(std::string_view filter) {
  return RetainedCursor(this, std::string(filter), {root_, 0, 0, kEnter, false});
}

RetainedCursor RetainedStore::cursor_all() {
  return RetainedCursor(this, std::string(), {root_, 0, 0, kAll, false});
}

size_t RetainedStore::sweep(RetainedCursor& cursor, size_t max_nodes,
                            FunctionRef<bool(const Message&)> expired) {
  assert(cursor.store_ == this || cursor.store_ == nullptr);
  if (cursor.store_ != this) return 0;
  size_t erased = 0;
  // Erasing inside the walk is safe: the cursor is attached, so nothing is freed or reordered.
  walk(cursor.filter_, cursor.stack_, RetainedCursor::kUnbounded, max_nodes,
       [&](RetainedNode* node) {
         if (expired(*node->message)) {
           erase_message(node);
           ++erased;
         }
       });
  if (cursor.stack_.empty()) cursor.release();
  return erased;
}

size_t RetainedStore::erase_if(FunctionRef<bool(const Message&)> expired) {
  RetainedCursor all = cursor_all();
  return sweep(all, RetainedCursor::kUnbounded, expired);
}

}  // namespace mq::broker
