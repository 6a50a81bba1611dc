// Redis baselines, each on a throwaway redis-server on a free loopback port
// (needs redis-server on PATH): PUBLISH latency from one hiredis client to
// two SUBSCRIBE clients (cluster_invalidation), and used_memory per key
// (memory).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cachebus::bench {

/// Latencies (µs) of `n` PUBLISHes after `warmup` unmeasured ones, each until
/// both subscribers received it; empty on failure (`why` says why).
std::vector<double> redis_latencies(int warmup, int n, std::string& why);

/// INFO used_memory growth per key after SETting keys key(0..n-1) to `value`
/// (pipelined), with `EX ttl_s` if `ttl_s` > 0; 0 on failure (`why` says
/// why).
double redis_bytes_per_key(size_t n,
                           const std::function<std::string(size_t)>& key,
                           const std::string& value, int ttl_s,
                           std::string& why);

} // namespace cachebus::bench
