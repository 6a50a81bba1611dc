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

#include "cachebus/stores/record.hpp"

namespace cachebus {

class write_back_queue;

class pending_writes {
 public:
  void attach(std::shared_ptr<const write_back_queue> queue);

  void detach() { attach(nullptr); }

  /// Records that `key` is the canonical key of (resource, id), which has
  /// writes queued now (record_cache calls it for every queued write).
  void note(const std::string& key, const std::string& resource,
            const std::string& id);

  /// True if the record whose canonical key is `key` has unflushed writes.
  bool holds(const std::string& key) const;

  /// The fields of (resource, id) queued or in flight, newest per field;
  /// nullopt if none. A loader must read this BEFORE the store: a write
  /// queued after this call supersedes the load (record_cache does that),
  /// and one flushed between the two reads is in the store row already.
  std::optional<stores::field_map> unflushed(const std::string& resource,
                                             const std::string& id) const;

 private:
  mutable std::mutex mtx_;
  std::shared_ptr<const write_back_queue> queue_;
  // Canonical keys of records that had writes queued; pruned by holds().
  mutable std::unordered_map<std::string, std::pair<std::string, std::string>>
    keys_;
};

} // namespace cachebus
