// The fill leases of one shard table (in the spirit of memcache leases): a
// loader takes a lease on a key before it reads the source, and may install
// what it loaded only if the lease is still current when it is done. Any
// later write of the key, any invalidation reaching it and any later lease
// on it cancel the lease, so a value read before a write or an invalidation
// never lands after it (no stale fill; every write wins). A lease for a
// tagged value cannot know which tags will be invalidated meanwhile, so any
// tag invalidation cancels every tagged lease taken before it (one epoch
// counter, not a scan).
//
// Invariants: at most one lease per key; lease ids only grow; finish() and
// cancel() of a lease that is no longer current change nothing. Complexity:
// O(1) expected per operation except cancel_matching(), O(leases); the number
// of leases is bounded by the lock manager.
//
// NOT thread-safe on its own: every operation REQUIRES the owning shard_table's
// exclusive lock, except size(), which REQUIRES at least its shared lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cachebus {

class fill_leases {
 public:
  fill_leases() = default;
  fill_leases(const fill_leases&) = delete;
  fill_leases& operator=(const fill_leases&) = delete;

  /// Takes a lease on `key` and returns its id; replaces any earlier lease on
  /// the key (whose finish() will then fail).
  uint64_t begin(std::string_view key);

  /// Ends lease `id` of `key` if it is current and returns true iff its value
  /// may be installed: it is current and, if the value is `tagged`, no tag was
  /// invalidated since begin(). Leaves a lease that is not current alone.
  bool finish(std::string_view key, uint64_t id, bool tagged);

  /// Ends lease `id` of `key` if it is current.
  void cancel(std::string_view key, uint64_t id);

  /// Cancels the lease on `key`, if any (a write or an invalidation of it).
  void cancel_key(std::string_view key) {
    if (!leases_.empty())
      erase_key(key);
  }

  /// Cancels the leases of every key that matches `glob`.
  /// REQUIRES: check_glob passed.
  void cancel_matching(std::string_view glob);

  /// A tag was invalidated: every lease taken so far fails if tagged.
  void cancel_tagged() noexcept { ++tag_epoch_; }

  /// Cancels every lease (tagged leases taken before are refused too).
  void cancel_all() noexcept {
    leases_.clear();
    ++tag_epoch_;
  }

  /// Number of leases in flight.
  size_t size() const noexcept { return leases_.size(); }

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  struct lease {
    uint64_t id;
    uint64_t tag_epoch; // tag_epoch_ at begin()
  };

  void erase_key(std::string_view key);

  std::unordered_map<std::string, lease, string_hash, std::equal_to<>> leases_;
  uint64_t next_id_ = 1;
  // Bumped by every tag invalidation: a tagged lease taken before it might
  // carry a tag that was invalidated meanwhile.
  uint64_t tag_epoch_ = 0;
};

} // namespace cachebus
