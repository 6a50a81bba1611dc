// A removal notification: a key left this node's cache, and why (the
// node's on_removal listeners get one per entry; node.hpp says on which
// thread, in which order, and what a slow or throwing listener costs).
// Plain copyable values.
//
// Each entry is reported once, with what ended its life first: an entry that
// had already expired when a write replaced it or an invalidation removed it
// is reported `expired`; one a tag had already invalidated, `tag`.
#pragma once

#include <cstdint>
#include <string>

namespace cachebus {

enum class removal_cause : uint8_t {
  /// Its TTL passed (reported when the sweep reclaims it, within two sweep
  /// intervals, or when a write or an invalidation meets it expired).
  expired,
  /// Evicted to stay within max-entries / max-bytes (SIEVE).
  evicted,
  /// A write (set, a fill, a write path) replaced its value, or a write
  /// under a lease that was refused dropped it (node::install).
  replaced,
  /// Not a removal: a write made `key`, which had no entry (or only an
  /// expired one), readable. Reported only to the listeners that ask for it
  /// (node::on_change): a client that cached "no such key" (a Redis client
  /// tracking its reads) must hear that the absence ended.
  created,
  /// Invalidated by key: one key (node::erase, invalidate({key})).
  key,
  /// Invalidated by a multi-key invalidation (invalidate(keys)).
  keys,
  /// Invalidated by a tag (invalidate_tag, or a rule's tags).
  tag,
  /// Invalidated by a pattern (invalidate_pattern).
  pattern,
  /// Invalidated because a key it depends on was (track_dependency).
  dependency,
  /// Invalidated by a resource event through the rules
  /// (publish_invalidation, write-through, write-back flushes, the change
  /// feed).
  resource,
  /// Dropped by node::clear() (or the change feed's restart).
  cleared,
  /// Dropped by the partition rule: a peer was lost or rejoined, so events
  /// may have been missed.
  partition,
};

/// The symbolic name, e.g. "evicted".
const char* to_string(removal_cause cause);

/// True for the causes that are invalidations (key, keys, tag, pattern,
/// dependency, resource, cleared, partition); not for created.
constexpr bool is_invalidation(removal_cause cause) noexcept {
  return cause >= removal_cause::key;
}

struct removal {
  /// The key that went.
  std::string key;
  /// Its entry's source version, 0 if it was unsourced.
  uint64_t version = 0;
  removal_cause cause = removal_cause::key;
  /// The node whose invalidation event removed it (for `partition`: the
  /// peer that was lost or rejoined): empty for this node's own calls and
  /// for expiry, eviction and replacement.
  std::string origin;

  /// The front-end client whose own command wrote or deleted `key` (the
  /// removal_writer in force on the thread that did it), 0 if none or
  /// unknown. Set for replaced, created, key and keys only: what a command
  /// also causes elsewhere (evictions, dependents) is not its writer's.
  uint64_t writer = 0;

  /// True if another node's event removed it.
  bool remote() const noexcept { return !origin.empty(); }
};

/// The client id (e.g. a Redis connection's) that removals and creations
/// reported on this thread are attributed to while the scope lives
/// (removal::writer), so that a front end can tell a client's own writes from
/// others' (CLIENT TRACKING NOLOOP). Scopes nest; thread-local.
class removal_writer {
 public:
  explicit removal_writer(uint64_t id) noexcept;
  ~removal_writer();
  removal_writer(const removal_writer&) = delete;
  removal_writer& operator=(const removal_writer&) = delete;

  /// The writer in force on this thread, 0 if none.
  static uint64_t current() noexcept;

 private:
  uint64_t previous_;
};

/// The delivery counters of a node's removal notifications.
struct removal_stats {
  /// Handed to the listeners (once per notification, however many
  /// listeners).
  uint64_t delivered = 0;
  /// Not queued because the queue was full (cachebus.max-queued-removals):
  /// the cache never waits for a listener.
  uint64_t dropped = 0;
  /// Listener calls that threw (delivery went on).
  uint64_t failed = 0;
  /// Queued, not yet delivered.
  uint64_t queued = 0;
};

} // namespace cachebus
