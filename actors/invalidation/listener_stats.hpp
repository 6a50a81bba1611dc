// Counters of the invalidation listener (see invalidation_listener.hpp).
#pragma once

#include <cstdint>

#include <vector>

#include "caf/meta/type_name.hpp"

#include "cachebus/actors/invalidation/lag_histogram.hpp"
#include "cachebus/bus/peer_event.hpp"

namespace cachebus {

struct listener_stats {
  /// Events from other nodes applied to the local shards.
  uint64_t applied = 0;
  /// Events of this node's own origin, already applied by the caller.
  uint64_t own = 0;
  /// Events refused: malformed, or naming a resource without a rule.
  uint64_t rejected = 0;
  /// Entries removed by applied events.
  uint64_t removed = 0;
  /// Times the partition rule dropped the whole cache (what a peer missed
  /// could not be replayed, or replay is off), and the entries it dropped.
  uint64_t partitions = 0;
  uint64_t dropped = 0;
  /// Those drops by cause: index static_cast<size_t>(drop_cause)
  /// (bus/peer_event.hpp), drop_cause_count entries.
  std::vector<uint64_t> drops_by_cause
    = std::vector<uint64_t>(drop_cause_count);
  /// Replays of a peer's missed events begun (`replaying`) and completed
  /// without a drop (`replayed`).
  uint64_t replays = 0;
  uint64_t replays_completed = 0;
  /// Peers being replayed right now (the shards are fenced while nonzero).
  uint64_t replaying_now = 0;
  /// Per origin node: how late its events were applied here.
  std::vector<lag_histogram> lag;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_stats& x) {
  return f(caf::meta::type_name("cachebus::listener_stats"), x.applied, x.own,
           x.rejected, x.removed, x.partitions, x.dropped, x.drops_by_cause,
           x.replays, x.replays_completed, x.replaying_now, x.lag);
}

} // namespace cachebus
