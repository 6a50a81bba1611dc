// The change feed: a detached actor that owns a PostgreSQL change listener
// (stores/change_listener.hpp) and turns every row changed in the database,
// by this application or behind its back (another service, psql), into
// node::publish_invalidation(resource, id, version): the local shards drop
// older entries and the event reaches every node of the cluster.
//
// Nothing is lost across reconnects: when the listener's connection fails
// (the server restarts, the network is cut, the backend is killed), the
// actor reconnects with backoff (50 ms doubling to 1 s) and reads on from
// its position; the changes made meanwhile invalidate their keys when it is
// back, and the rest of the cache stays. While it is away, those keys may
// be served stale: for as long as the outage lasts, as with any lag of the
// feed (change_feed_stats::lag records it). Only if changes it had not read
// were trimmed (away for longer than the retention) does it drop the node's
// whole cache (change_feed_stats::lost_drops). Its position is saved under
// the consumer name; on exit it saves what it applied last.
//
//   poll()   -  internal: wait up to 100 ms for changes, then poll again
//   stats()  -> change_feed_stats
#pragma once

#include <string>

#include "caf/typed_actor.hpp"

#include "cachebus/actors/invalidation/change_feed_stats.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/type_ids.hpp"
#include "cachebus/stores/change_listener.hpp"

namespace cachebus {

using change_feed_actor
  = caf::typed_actor<caf::reacts_to<poll_atom>,
                     caf::replies_to<stats_atom>::with<change_feed_stats>>;

/// Connects to `conninfo` (the store's database; the feed must be
/// installed: postgres_store::install_change_feed) and starts forwarding.
/// An empty opts.consumer means the node's name. Returns an error if the
/// first connection fails or the options are invalid. REQUIRES: `n`
/// outlives the actor (send it an exit before stopping the node).
caf::expected<change_feed_actor>
spawn_change_feed(node& n, std::string conninfo,
                  stores::change_feed_options opts = {});

} // namespace cachebus
