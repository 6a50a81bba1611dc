// Renders a node's counters in the Prometheus text exposition format (0.0.4):
// shard stats, single-flight locks, invalidation listener, bus and cluster
// bridge. Asks the node's actors with bounded requests; call it from a plain
// thread (the HTTP server's), never from inside an actor.
#pragma once

#include <string>

#include "cachebus/actors/node.hpp"

namespace cachebus::app {

std::string render_metrics(node& n);

} // namespace cachebus::app
