// SlotMap<T>: owns objects named by 64-bit ids of the form (serial << 32) | slot. Finding an id
// is an array index and a comparison with the object's own id(), so an id that outlived its
// object finds nothing, as with a hash map, for 8 bytes per slot instead of a hash node (about
// 40 bytes with its bucket). Slots are reused; the slot array only grows to the peak count.
// T must have `uint64_t id() const`. Not thread-safe. Iteration visits live objects in slot
// order; do not insert or erase while iterating.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace mq::broker {

template <class T>
class SlotMap {
 public:
  // Makes an object with `make(id)` (which returns std::unique_ptr<T> whose id() is `id`) and
  // stores it. Returns a reference that stays valid until the object is erased.
  template <class Make>
  T& emplace(Make&& make) {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = uint32_t(slots_.size());
      slots_.emplace_back();
    }
    uint64_t id = (++serial_ << 32) | slot;
    slots_[slot] = make(id);
    count_++;
    return *slots_[slot];
  }

  T* find(uint64_t id) const {
    uint64_t slot = id & 0xFFFFFFFFu;
    if (slot >= slots_.size()) return nullptr;
    T* p = slots_[slot].get();
    return p && p->id() == id ? p : nullptr;
  }

  // Destroys the object named by `id`, if it is there. Returns whether it was.
  bool erase(uint64_t id) {
    if (!find(id)) return false;
    uint32_t slot = uint32_t(id & 0xFFFFFFFFu);
    std::unique_ptr<T> gone = std::move(slots_[slot]);
    free_.push_back(slot);
    count_--;
    return true;  // `gone` is destroyed after the slot is free: its destructor may look it up
  }

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  template <class F>
  void for_each(F&& f) const {
    for (const std::unique_ptr<T>& p : slots_)
      if (p) f(*p);
  }

 private:
  std::vector<std::unique_ptr<T>> slots_;
  std::vector<uint32_t> free_;
  uint64_t serial_ = 0;
  size_t count_ = 0;
};

}  // namespace mq::broker
