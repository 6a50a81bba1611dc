// The change feed: a detached actor that owns a PostgreSQL change listener
// (stores/change_listener.hpp) and turns every row changed in the database,
// by this application or behind its back (another service, psql), into
// node::publish_invalidation(resource, id, version): the local shards drop
// older entries and the event reaches every node of the cluster. When the
// listener's connection fails, notifications may have been lost, so it drops
// the node's whole cache (the partition rule) and reconnects with backoff.
//
//   poll()   -  internal: wait up to 100 ms for changes, then poll again
//   stats()  -> change_feed_stats
#pragma once

#include <string>

#include "caf/typed_actor.hpp"

#include "cachebus/actors/invalidation/change_feed_stats.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/type_ids.hpp"

namespace cachebus {

using change_feed_actor
  = caf::typed_actor<caf::reacts_to<poll_atom>,
                     caf::replies_to<stats_atom>::with<change_feed_stats>>;

/// Connects to `conninfo` (the store's database; the trigger must be
/// installed: postgres_store::install_change_feed) and starts forwarding.
/// Returns an error if the first connection fails. REQUIRES: `n` outlives
/// the actor (send it an exit before stopping the node).
caf::expected<change_feed_actor> spawn_change_feed(node& n,
                                                   std::string conninfo);

} // namespace cachebus
