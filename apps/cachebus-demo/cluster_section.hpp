// The demo's --cluster N section: starts N cachebus-node processes (the
// binary next to the demo's own build directory) over one shared SQLite store
// in a temp dir, links them through the first, shows cluster-wide single
// flight (100 concurrent cold fetches per node, one store read) and a
// write-through on one node replacing the copies on the others, and stops
// every process it started by its pid (SIGTERM, then SIGKILL after a bound).
#pragma once

#include <cstddef>

#include "caf/actor_system.hpp"

#include "console.hpp"

namespace cachebus::demo {

/// Returns false (after printing why) if the nodes could not be started.
bool run_cluster_section(console& out, caf::actor_system& sys, size_t nodes);

} // namespace cachebus::demo
