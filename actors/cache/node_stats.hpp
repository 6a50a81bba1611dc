// Counters of a node: the sum over its shards and each shard's own
// (shard_messages.hpp), as node::stats() and local_cache::stats() report them.
#pragma once

#include <vector>

#include "cachebus/actors/cache/shard_messages.hpp"

namespace cachebus {

struct node_stats {
  shard_stats total;
  std::vector<shard_stats> shards;
};

} // namespace cachebus
