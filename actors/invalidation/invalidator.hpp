// Turns one invalidation event into work on the local shards: resource events
// through the central rules (keys, tags, dependents), tag, key-set and pattern
// events directly. Validates everything before touching anything, so a bad
// event changes nothing. Used by the node facade for local calls and by the
// invalidation listener for events from other nodes: one code path.
// Thread-safe (local_cache is; the rules are immutable).
#pragma once

#include <memory>
#include <vector>

#include "caf/expected.hpp"

#include "cachebus/actors/cache/local_cache.hpp"
#include "cachebus/actors/invalidation/rules.hpp"
#include "cachebus/actors/node/options.hpp"
#include "cachebus/bus/events.hpp"

namespace cachebus {

class invalidator {
 public:
  invalidator(std::shared_ptr<local_cache> cache,
              std::shared_ptr<const rules> rules, node_options opts);

  /// Each returns the number of entries removed (or invalidated, for tags)
  /// on this node, or a cachebus error and no change. Entries of invalidated
  /// tags are gone for readers at once; each shard's periodic sweep reclaims
  /// their memory within one sweep interval. (No message is sent to wake the
  /// shards: on a small machine the reclaim would preempt the caller.)
  caf::expected<size_t> apply(const invalidated& ev);
  caf::expected<size_t> apply(const tag_invalidated& ev);
  caf::expected<size_t> apply(const keys_invalidated& ev);
  caf::expected<size_t> apply(const pattern_invalidated& ev);

  /// The partition rule: drops every entry and fill of this node. `cause`
  /// (cleared or partition) and `origin` (the peer lost) are what removal
  /// notifications report.
  size_t drop_everything(removal_cause cause = removal_cause::cleared,
                         std::string_view origin = {}) {
    return cache_->clear({cause, origin});
  }

  /// While a peer's missed events are replayed: reads find nothing and
  /// fills are refused on every shard (shard_table::set_fenced).
  void fence(bool on) { cache_->set_fenced(on); }

  const rules& rule_set() const noexcept { return *rules_; }

 private:
  std::shared_ptr<local_cache> cache_;
  std::shared_ptr<const rules> rules_;
  node_options opts_;
};

} // namespace cachebus
