// The node frontend: the typed interface a node publishes for clients in other
// processes (cachebus-cli, tests, services without an embedded node). Each
// request runs the same facade call a local thread would make, so validation,
// rules, versioning and event publishing are identical. Events with an empty
// origin are requests; the node stamps its own origin and sequence.
//
//   get(key)                 -> value | miss
//   fetch(key)               -> value: cache-aside with the node loader,
//                               single flight across the cluster
//   put(put_request)         -> version
//   every invalidation kind  -> entries removed (bus/events.hpp; a resource
//                               event through the central rules)
//   stats()                  -> shard_stats (node total)
//   lock_stats()             -> lock_stats (single flight counters)
#pragma once

#include "caf/typed_actor.hpp"

#include "cachebus/actors/node/node.hpp"
#include "cachebus/bus/event_handlers.hpp"

namespace cachebus {

using node_frontend_actor = answers_events<
  uint64_t, caf::replies_to<caf::get_atom, std::string>::with<std::string>,
  caf::replies_to<fetch_atom, std::string>::with<std::string>,
  caf::replies_to<caf::put_atom, put_request>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<shard_stats>,
  caf::replies_to<lock_stats_atom>::with<lock_stats>>;

/// Spawns a frontend for `n`. REQUIRES: `n` outlives the frontend (stop the
/// frontend first).
node_frontend_actor spawn_node_frontend(caf::actor_system& sys, node* n);

} // namespace cachebus
