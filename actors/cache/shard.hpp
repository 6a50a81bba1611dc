// The cache shard actor: owns one shard_table, runs its expiry sweep, and
// answers typed requests from other actors. This header is the whole shard
// protocol: what an actor may send a shard, and what comes back.
//
//   get(key)              -> value, or cachebus error `miss`
//   put(put_request)      -> version assigned to the entry
//   delete(keys)          -> number of entries removed
//   stats()               -> shard_stats
//   sweep(periodic)       -  internal: the shard's own expiry timer
//
// Requests are validated exactly like facade calls (bad keys, values and TTLs
// get a cachebus error and change nothing). Plain threads should not use this
// interface for reads: the node facade reads the table directly.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "cachebus/actors/node/options.hpp"
#include "cachebus/actors/node/type_ids.hpp"

namespace cachebus {

class shard_table;
class time_source;

using shard_actor = caf::typed_actor<
  caf::replies_to<caf::get_atom, std::string>::with<std::string>,
  caf::replies_to<caf::put_atom, put_request>::with<uint64_t>,
  caf::replies_to<caf::delete_atom, std::vector<std::string>>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<shard_stats>,
  caf::reacts_to<sweep_atom, bool>>;

/// The index of the shard that owns `key` among `shards` shards. A shard
/// refuses keys that are not its own (invalid_argument).
size_t shard_of(std::string_view key, size_t shards) noexcept;

/// shard_of() for a key whose std::hash<std::string_view> is `key_hash`.
size_t shard_of_hash(size_t key_hash, size_t shards) noexcept;

/// Spawns shard `index` of `count`, owning `table`. The shard keeps re-arming
/// its sweep timer, so it lives until it receives an exit message (node::stop
/// sends it). With `hidden` the actor system does not wait for it when it
/// shuts down (its owner stops it).
shard_actor spawn_shard(caf::actor_system& sys, size_t index, size_t count,
                        std::shared_ptr<shard_table> table, node_options opts,
                        std::shared_ptr<time_source> clk, bool hidden = false);

} // namespace cachebus
