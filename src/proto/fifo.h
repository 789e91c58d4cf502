// Fifo<T>: a queue over a vector with a moving head. Unlike std::deque (which allocates about
// 600 bytes as soon as it is constructed) an empty Fifo owns no memory, which matters for the
// two queues of every idle session. Iteration is in insertion order; erase anywhere is O(n).
// Not thread-safe.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace mq::proto {

template <class T>
class Fifo {
 public:
  using iterator = typename std::vector<T>::iterator;

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  iterator begin() { return items_.begin() + long(head_); }
  iterator end() { return items_.end(); }
  T& front() { return items_[head_]; }
  T& back() { return items_.back(); }

  void push_back(T value) { items_.push_back(std::move(value)); }

  // REQUIRES: !empty()
  void pop_front() {
    items_[head_] = T();
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + long(head_));
      head_ = 0;
    }
  }

  iterator erase(iterator it) {
    if (it == begin()) {
      pop_front();
      return begin();
    }
    return items_.erase(it);
  }

  void clear() {
    items_.clear();
    if (items_.capacity() > 64) items_.shrink_to_fit();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace mq::proto
