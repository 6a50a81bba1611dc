// Redis baselines, each on a throwaway redis-server on a free loopback port
// (needs redis-server on PATH): PUBLISH latency from one client to two
// SUBSCRIBE clients (pubsub_probe.hpp; cluster_invalidation, cluster_push),
// and used_memory per key (memory).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cachebus/apps/common/child_process.hpp"

namespace cachebus::bench {

/// Starts a throwaway redis-server (no persistence) on a free loopback port
/// and waits until it answers PING; nullptr on failure (`why` says why).
std::unique_ptr<app::child_process> start_redis_server(uint16_t& port,
                                                       std::string& why);

/// pubsub_latencies on a throwaway redis-server: `n` PUBLISHes after
/// `warmup` unmeasured ones, each until both subscribers received it; empty
/// on failure (`why` says why).
std::vector<double> redis_latencies(int warmup, int n, std::string& why);

/// INFO used_memory growth per key after SETting keys key(0..n-1) to `value`
/// (pipelined), with `EX ttl_s` if `ttl_s` > 0; 0 on failure (`why` says
/// why).
double redis_bytes_per_key(size_t n,
                           const std::function<std::string(size_t)>& key,
                           const std::string& value, int ttl_s,
                           std::string& why);

} // namespace cachebus::bench
