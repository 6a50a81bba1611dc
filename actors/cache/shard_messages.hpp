// The message structs of the cache shard protocol (see shard.hpp). Plain,
// copyable values with an `inspect` overload so that they can cross nodes;
// registered once in actors/node/type_ids.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"
#include "caf/timestamp.hpp"

namespace cachebus {

/// A write of one key. `ttl` is default_ttl (0), a positive span or
/// never_expires; `version` 0 lets the shard assign one.
struct put_request {
  std::string key;
  std::string value;
  caf::timespan ttl{0};
  std::vector<std::string> tags;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, put_request& x) {
  return f(caf::meta::type_name("cachebus::put_request"), x.key, x.value, x.ttl,
           x.tags, x.version);
}

/// Counters of one shard (or, summed, of a node). Monotonic counters count
/// since start; `entries` and `bytes` are the current size.
struct shard_stats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t sets = 0;
  uint64_t evictions = 0;
  uint64_t expirations = 0;
  uint64_t invalidations = 0;
  /// Loaded values not installed: a write or invalidation of the key came
  /// after the load began (no stale fill).
  uint64_t stale_fills_refused = 0;
  /// Sourced writes and fills refused because the cached sourced version of
  /// the key was newer (versions never go backwards).
  uint64_t older_versions_refused = 0;
  uint64_t entries = 0;
  uint64_t bytes = 0;

  shard_stats& operator+=(const shard_stats& x) {
    hits += x.hits;
    misses += x.misses;
    sets += x.sets;
    evictions += x.evictions;
    expirations += x.expirations;
    invalidations += x.invalidations;
    stale_fills_refused += x.stale_fills_refused;
    older_versions_refused += x.older_versions_refused;
    entries += x.entries;
    bytes += x.bytes;
    return *this;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_stats& x) {
  return f(caf::meta::type_name("cachebus::shard_stats"), x.hits, x.misses,
           x.sets, x.evictions, x.expirations, x.invalidations,
           x.stale_fills_refused, x.older_versions_refused, x.entries, x.bytes);
}

} // namespace cachebus
