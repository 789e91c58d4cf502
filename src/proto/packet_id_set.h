// PacketIdSet: a small sorted set of packet identifiers, e.g. the incoming QoS 2 messages a
// receiver has acknowledged with PUBREC and not yet seen released by PUBREL. A sorted vector:
// 24 bytes when empty where an unordered_set costs 56, and endpoints rarely hold more than a few.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
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

}  // namespace mq::proto
