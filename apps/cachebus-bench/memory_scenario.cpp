// Scenario `memory`: heap bytes per entry for 1M entries of 11-byte keys and
// 100-byte values, in one process run: the node (ordered index on, then off)
// against std::unordered_map<std::string, std::string>, and redis-server's
// INFO used_memory per key filled the same way: with a 5-minute TTL (the
// node's default TTL; Redis SET ... EX 300) and with none (never_expires;
// Redis SET without EX). An entry that never expires stores no expiry, and
// a Redis key without TTL has no entry in the expires dict. Heap bytes are
// glibc's mallinfo2() in-use bytes (arena + mmap), a before/after difference
// that, unlike RSS, does not depend on what an earlier contender freed.
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "redis_baseline.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

size_t heap_in_use() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

std::string key_of(size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key:%07zu", i % 10'000'000);
  return buf; // 11 bytes
}

double node_bytes_per_entry(caf::actor_system& sys, size_t n,
                            const std::string& value, bool ordered,
                            caf::timespan ttl, size_t& charged) {
  node_options opts;
  opts.max_entries = n * 2;
  opts.max_bytes = size_t{8} << 30;
  opts.ordered_index = ordered;
  auto before = heap_in_use();
  auto nd = std::move(*node::start(sys, opts));
  set_options so;
  so.ttl = ttl;
  for (size_t i = 0; i < n; ++i)
    (void)nd->set(key_of(i), value, so);
  auto after = heap_in_use();
  charged = nd->stats().total.bytes;
  nd->stop();
  return static_cast<double>(after - before) / static_cast<double>(n);
}

void run_memory() {
  auto n = std::max<size_t>(static_cast<size_t>(1'000'000 * scale()), 1000);
  std::string value(100, 'v');
  config cfg;
  caf::actor_system sys{cfg};
  size_t charged = 0;
  auto ours = node_bytes_per_entry(sys, n, value, true, default_ttl, charged);
  size_t charged_forever = 0;
  auto ours_forever
    = node_bytes_per_entry(sys, n, value, true, never_expires, charged_forever);
  size_t charged_unordered = 0;
  auto ours_unordered = node_bytes_per_entry(sys, n, value, false, default_ttl,
                                             charged_unordered);
  double map_bytes = 0;
  {
    auto before = heap_in_use();
    auto m = std::make_unique<std::unordered_map<std::string, std::string>>();
    for (size_t i = 0; i < n; ++i)
      m->insert_or_assign(key_of(i), value);
    map_bytes
      = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
  }
  auto shape = std::to_string(n) + " entries, 11 B keys, 100 B values";
  auto against_redis = [&](const char* metric, double x, int ttl_s,
                           const std::string& what) {
    std::string why;
    auto redis = redis_bytes_per_key(n, key_of, value, ttl_s, why);
    if (redis > 0)
      emit({"memory", metric, x, "B", redis,
            shape + ", " + what
              + ", ordered index on; baseline redis-server INFO used_memory "
                "per key, same keys, values and TTL (goal ratio <= 1.0)"});
    else
      emit({"memory", metric, x, "B", std::nullopt,
            shape + "; Redis baseline unavailable: " + why});
  };
  against_redis("bytes_per_entry", ours, 300, "5-minute TTL");
  against_redis("bytes_per_entry_no_ttl", ours_forever, 0, "no TTL");
  emit({"memory", "bytes_per_entry_vs_unordered_map", ours, "B", map_bytes,
        shape + "; baseline std::unordered_map<std::string, std::string>"});
  emit({"memory", "bytes_per_entry_ordered_index_off", ours_unordered, "B",
        map_bytes,
        shape + ", ordered-index=false; baseline std::unordered_map"});
  emit({"memory", "charged_bytes_per_entry", charged / static_cast<double>(n),
        "B", ours,
        "what max-bytes charges per entry (shard_stats.bytes) against the "
        "heap bytes it really takes (ratio < 1: max-bytes undercounts)"});
}

registrar memory_reg{"memory",
                     "bytes per entry vs std::unordered_map and redis-server",
                     run_memory};

} // namespace

} // namespace cachebus::bench
