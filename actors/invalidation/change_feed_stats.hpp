// Counters of the change feed actor (change_feed.hpp).
#pragma once

#include <cstdint>

#include "caf/meta/type_name.hpp"

#include "cachebus/actors/invalidation/lag_histogram.hpp"

namespace cachebus {

struct change_feed_stats {
  /// Changes read from the database (a change read again after a reconnect
  /// or restart counts again).
  uint64_t changes = 0;
  /// Changes turned into invalidations (their resource has a rule).
  uint64_t applied = 0;
  /// Changes of resources without a rule (nothing cached from them).
  uint64_t unknown = 0;
  /// Times the connection failed. The feed reconnects and reads on from its
  /// position; the cache is kept.
  uint64_t failures = 0;
  /// Times the cache was dropped because changes this node had not read
  /// were trimmed (it was away for longer than the retention).
  uint64_t lost_drops = 0;
  /// Outbox rows this node's trims deleted.
  uint64_t trimmed = 0;
  /// Whether the feed started from a position saved by an earlier run under
  /// the same consumer name.
  bool resumed = false;
  /// Whether the listener is connected now.
  bool connected = false;
  /// How late changes were applied here after the database's trigger ran.
  lag_histogram lag{"change-feed"};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_feed_stats& x) {
  return f(caf::meta::type_name("cachebus::change_feed_stats"), x.changes,
           x.applied, x.unknown, x.failures, x.lost_drops, x.trimmed, x.resumed,
           x.connected, x.lag);
}

} // namespace cachebus
