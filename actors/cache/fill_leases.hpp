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
// Two kinds of lease. A load lease (begin) is what a loader takes. A write
// lease (begin_write) is what a write path takes that reads before it
// installs (record_cache: the store, the cached copy): it supersedes every
// lease on the key, and no later load lease replaces it, so a load that
// began during the write cannot make the write's install fail and leave the
// value from before the write readable. Such a load may still install
// before the write does (the write has not completed: no read can call that
// stale), but when the write finishes or gives up it cancels that load's
// lease, so nothing the load read lands after the write.
//
// Invariants: at most one load lease and one write lease per key; lease ids
// only grow (one counter for both kinds); finish() and cancel() of a lease
// that is no longer current change nothing. Complexity:
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

  /// Takes a load lease on `key` and returns its id; replaces any earlier
  /// load lease on the key (whose finish() will then fail), and leaves a
  /// write lease alone.
  uint64_t begin(std::string_view key);

  /// Takes a write lease on `key` and returns its id; replaces every lease on
  /// the key, load or write (whose finish() will then fail).
  uint64_t begin_write(std::string_view key);

  /// Ends lease `id` of `key` if it is current and returns true iff its value
  /// may be installed: it is current and, for a load lease of a `tagged`
  /// value, no tag was invalidated since it began (a write's value is new, so
  /// tag invalidations do not refuse it, as they do not refuse a put). A
  /// write lease that may install also ends the key's load lease (that load
  /// began during the write). Leaves a lease that is not current alone.
  bool finish(std::string_view key, uint64_t id, bool tagged);

  /// Ends lease `id` of `key` if it is current; a write lease ends the key's
  /// load lease with it, as finish() does.
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

  /// Number of keys with a lease in flight (of either kind).
  size_t size() const noexcept { return leases_.size(); }

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  struct lease {
    uint64_t id = 0;        // 0: none
    uint64_t tag_epoch = 0; // tag_epoch_ when it began (loads only)
  };

  struct key_leases {
    lease load;
    lease write;
  };

  using map_type
    = std::unordered_map<std::string, key_leases, string_hash, std::equal_to<>>;

  map_type::iterator slot(std::string_view key);
  void erase_key(std::string_view key);

  map_type leases_;
  uint64_t next_id_ = 1;
  // Bumped by every tag invalidation: a tagged lease taken before it might
  // carry a tag that was invalidated meanwhile.
  uint64_t tag_epoch_ = 0;
};

} // namespace cachebus
