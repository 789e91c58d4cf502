// PacketIdSet: a small sorted set of packet identifiers, e.g. the incoming QoS 2 messages a
// receiver has acknowledged with PUBREC and not yet seen released by PUBREL. A sorted vector:
// 24 bytes when empty where an unordered_set costs 56, and endpoints rarely hold more than a few.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mq::proto {

class PacketIdSet {
 public:
  size_t count(uint16_t id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }
  void insert(uint16_t id) {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it == ids_.end() || *it != id) ids_.insert(it, id);
  }
  template <typename It>
  void insert(It first, It last) {
    for (; first != last; ++first) insert(uint16_t(*first));
  }
  size_t erase(uint16_t id) {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it == ids_.end() || *it != id) return 0;
    ids_.erase(it);
    if (ids_.empty()) ids_.shrink_to_fit();
    return 1;
  }
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  void clear() { std::vector<uint16_t>().swap(ids_); }
  std::vector<uint16_t>::const_iterator begin() const { return ids_.begin(); }
  std::vector<uint16_t>::const_iterator end() const { return ids_.end(); }

 private:
  std::vector<uint16_t> ids_;
};

// PacketIdMap<T>: the same, with a value per identifier (e.g. an incoming QoS 2 message held
// until PUBREL releases it).
template <class T>
class PacketIdMap {
 public:
  using Entry = std::pair<uint16_t, T>;
  using const_iterator = typename std::vector<Entry>::const_iterator;

  size_t count(uint16_t id) const { return find(id) != entries_.end(); }
  // Inserts or replaces.
  void insert(uint16_t id, T value) {
    auto it = lower(id);
    if (it != entries_.end() && it->first == id) it->second = std::move(value);
    else entries_.insert(it, Entry(id, std::move(value)));
  }
  // Removes `id`, moving its value into *value when given. Returns whether it was there.
  bool erase(uint16_t id, T* value = nullptr) {
    auto it = lower(id);
    if (it == entries_.end() || it->first != id) return false;
    if (value) *value = std::move(it->second);
    entries_.erase(it);
    if (entries_.empty()) entries_.shrink_to_fit();
    return true;
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { std::vector<Entry>().swap(entries_); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

 private:
  typename std::vector<Entry>::iterator lower(uint16_t id) {
    return std::lower_bound(entries_.begin(), entries_.end(), id,
                            [](const Entry& e, uint16_t v) { return e.first < v; });
  }
  typename std::vector<Entry>::const_iterator find(uint16_t id) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                               [](const Entry& e, uint16_t v) { return e.first < v; });
    return it != entries_.end() && it->first == id ? it : entries_.end();
  }
  std::vector<Entry> entries_;
};

}  // namespace mq::proto
