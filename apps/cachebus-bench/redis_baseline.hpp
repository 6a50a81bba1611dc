// The Redis baseline of cluster_invalidation: a throw-away redis-server on a
// free loopback port, PUBLISH from one hiredis client to two SUBSCRIBE
// clients, one message in flight, latency = the later of the two receipts.
// Needs redis-server on PATH; called by cluster_invalidation_scenario.cpp.
#pragma once

#include <string>
#include <vector>

namespace cachebus::bench {

/// Latencies (µs) of `n` PUBLISHes after `warmup` unmeasured ones, each until
/// both subscribers received it; empty on failure (`why` says why).
std::vector<double> redis_latencies(int warmup, int n, std::string& why);

} // namespace cachebus::bench
