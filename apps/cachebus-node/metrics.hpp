// Renders a node's counters in the Prometheus text exposition format (0.0.4):
// shard stats, single-flight locks (cluster single flight included),
// invalidation listener, bus, cluster bridge and, when the node has a system
// of record, the write-back queue. Asks the node's actors with bounded
// requests; call it from a plain thread (the HTTP server's), never from inside
// an actor.
#pragma once

#include <string>

#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"

namespace cachebus::app {

/// `records` may be nullptr (no store): then no write-back families.
std::string render_metrics(node& n, const record_cache* records = nullptr);

} // namespace cachebus::app
