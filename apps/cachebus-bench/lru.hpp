// Plain LRU with a fixed entry capacity: the baseline that the node's SIEVE
// eviction is measured against. Single-threaded; bench use only.
#pragma once

#include <list>
#include <string>
#include <unordered_map>

namespace cachebus::bench {

class lru {
 public:
  explicit lru(size_t capacity) : capacity_(capacity) {
    // nop
  }

  /// Returns true on a hit (and refreshes the key); false on a miss.
  bool get(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end())
      return false;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }

  void put(const std::string& key) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.push_front(key);
    index_.emplace(key, order_.begin());
    if (index_.size() > capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
  }

 private:
  size_t capacity_;
  std::list<std::string> order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

} // namespace cachebus::bench
