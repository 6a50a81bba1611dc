// This node's write-back writes that the store may not have yet, as the
// loaders of this node see them: the store loader (store_loader.hpp) overlays
// them on every record it reads, so that no fetch installs a store row older
// than this node's own queued writes (write-back reads its own writes), and
// the lock manager loads a key with such writes here instead of asking its
// owner node (whose store row lacks them). A record_cache with a journal
// attaches its queue at start and detaches it at stop; without one, nothing
// is pending. Thread-safe; shared by the loader, the lock manager and the
// record cache.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "cachebus/actors/writepaths/write_back_queue.hpp"
#include "cachebus/stores/record.hpp"

namespace cachebus {

class pending_writes {
 public:
  void attach(std::shared_ptr<const write_back_queue> queue) {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_ = std::move(queue);
  }

  void detach() { attach(nullptr); }

  /// Records that `key` is the canonical key of (resource, id), which has
  /// writes queued now (record_cache calls it for every queued write).
  void note(const std::string& key, const std::string& resource,
            const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    keys_.insert_or_assign(key, std::make_pair(resource, id));
  }

  /// True if the record whose canonical key is `key` has unflushed writes.
  bool holds(const std::string& key) const {
    std::pair<std::string, std::string> ref;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = keys_.find(key);
      if (i == keys_.end())
        return false;
      ref = i->second;
    }
    if (unflushed(ref.first, ref.second))
      return true;
    // Flushed since: forget the key (unless it was queued again meanwhile).
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto q = queue_; !q || !q->unflushed(ref.first, ref.second))
      keys_.erase(key);
    return false;
  }

  /// The fields of (resource, id) queued or in flight, newest per field;
  /// nullopt if none. A loader must read this BEFORE the store: a write
  /// queued after this call supersedes the load (record_cache does that),
  /// and one flushed between the two reads is in the store row already.
  std::optional<stores::field_map> unflushed(const std::string& resource,
                                             const std::string& id) const {
    std::shared_ptr<const write_back_queue> q;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      q = queue_;
    }
    if (!q)
      return std::nullopt;
    return q->unflushed(resource, id);
  }

 private:
  mutable std::mutex mtx_;
  std::shared_ptr<const write_back_queue> queue_;
  // Canonical keys of records that had writes queued; pruned by holds().
  mutable std::unordered_map<std::string, std::pair<std::string, std::string>>
    keys_;
};

} // namespace cachebus
