// Counters of the change feed actor (change_feed.hpp).
#pragma once

#include <cstdint>

#include "caf/meta/type_name.hpp"

#include "cachebus/actors/invalidation/lag_histogram.hpp"

namespace cachebus {

struct change_feed_stats {
  /// Changes received from the database.
  uint64_t changes = 0;
  /// Changes turned into invalidations (their resource has a rule).
  uint64_t applied = 0;
  /// Changes of resources without a rule (nothing cached from them).
  uint64_t unknown = 0;
  /// Times the listener's connection failed: the cache was dropped.
  uint64_t failures = 0;
  /// Whether the listener is connected now.
  bool connected = false;
  /// How late changes were applied here after the database's trigger ran.
  lag_histogram lag{"change-feed"};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_feed_stats& x) {
  return f(caf::meta::type_name("cachebus::change_feed_stats"), x.changes,
           x.applied, x.unknown, x.failures, x.connected, x.lag);
}

} // namespace cachebus
