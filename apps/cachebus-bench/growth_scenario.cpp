// Scenario `growth`: how a node's costs grow with its size. For 10k, 100k, 1M
// and 10M entries of 11-byte keys and 100-byte values (sizes above
// 10M x --scale are skipped), one thread measures, on the node and on one
// std::mutex + std::unordered_map (the baseline, same keys, same trace):
//   insert_ns_<N>          refilling the table after a clear(), per entry
//                          (the first fill pays the OS's first touch of
//                          fresh pages, ~1.3 us per entry on this VM, for
//                          whichever contender runs first; a refill does not)
//   get_ns_<N>             1M hits, uniform keys, value copied out
//   set_ns_<N>             1M overwrites, uniform keys
//   bytes_per_entry_<N>    heap in use after the fill (glibc mallinfo2)
// One thread, so these are the table's own costs, not contention's.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "map_baselines.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;

size_t heap_in_use() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

double ns_per(steady_clock::time_point t0, size_t ops) {
  return std::chrono::duration<double, std::nano>(steady_clock::now() - t0)
           .count()
         / static_cast<double>(ops);
}

struct costs {
  double insert_ns = 0;
  double get_ns = 0;
  double set_ns = 0;
  double bytes_per_entry = 0;
};

// Fills a table (through the put/get/clear callables) with `keys`, clears
// it, and times a refill and the three operations; `sink` keeps the copies
// alive for the compiler.
template <class Put, class Get, class Clear>
costs measure(const std::vector<std::string>& keys,
              const std::vector<uint32_t>& trace, const std::string& value,
              Put put, Get get, Clear clear, size_t& sink) {
  costs c;
  for (auto& k : keys)
    put(k, value);
  clear();
  auto before = heap_in_use();
  auto t0 = steady_clock::now();
  for (auto& k : keys)
    put(k, value);
  c.insert_ns = ns_per(t0, keys.size());
  c.bytes_per_entry = static_cast<double>(heap_in_use() - before)
                      / static_cast<double>(keys.size());
  t0 = steady_clock::now();
  for (auto i : trace)
    sink += get(keys[i]);
  c.get_ns = ns_per(t0, trace.size());
  t0 = steady_clock::now();
  for (auto i : trace)
    put(keys[i], value);
  c.set_ns = ns_per(t0, trace.size());
  return c;
}

std::string size_label(size_t n) {
  return n >= 1'000'000 ? std::to_string(n / 1'000'000) + "m"
                        : std::to_string(n / 1'000) + "k";
}

void run_growth() {
  config cfg;
  caf::actor_system sys{cfg};
  std::string value(100, 'v');
  auto limit = static_cast<size_t>(10'000'000 * std::min(1.0, scale()));
  for (size_t n : {size_t{10'000}, size_t{100'000}, size_t{1'000'000},
                   size_t{10'000'000}}) {
    if (n > std::max<size_t>(limit, 10'000))
      break;
    std::vector<std::string> keys;
    keys.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      char buf[24];
      std::snprintf(buf, sizeof(buf), "k:%09zu", i);
      keys.emplace_back(buf); // 11 bytes
    }
    std::vector<uint32_t> trace(1'000'000);
    uint64_t x = 88172645463325252ULL;
    for (auto& t : trace) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      t = static_cast<uint32_t>(x % n);
    }
    size_t sink = 0;
    costs ours;
    {
      node_options opts;
      opts.shards = 2;
      opts.max_entries = n * 2;
      opts.max_bytes = size_t{16} << 30;
      auto nd = std::move(*node::start(sys, opts));
      ours = measure(
        keys, trace, value,
        [&](const std::string& k, const std::string& v) {
          (void)nd->set(k, v);
        },
        [&](const std::string& k) {
          auto v = nd->get(k);
          return v ? v->size() : 0;
        },
        [&] { (void)nd->clear(); }, sink);
      nd->stop();
    }
    costs base;
    {
      auto m = std::make_unique<mutex_map>();
      std::string out;
      base = measure(
        keys, trace, value,
        [&](const std::string& k, const std::string& v) { m->put(k, v); },
        [&](const std::string& k) { return m->get(k, out) ? out.size() : 0; },
        [&] { m->map.clear(); }, sink);
    }
    if (sink == 0)
      std::fprintf(stderr, "growth: every get missed\n");
    auto label = size_label(n);
    auto shape = std::to_string(n)
                 + " entries, 11 B keys, 100 B values, 1 thread, 1M uniform "
                   "ops; baseline "
                 + mutex_map::name;
    emit({"growth", "insert_ns_" + label, ours.insert_ns, "ns", base.insert_ns,
          shape});
    emit({"growth", "get_ns_" + label, ours.get_ns, "ns", base.get_ns, shape});
    emit({"growth", "set_ns_" + label, ours.set_ns, "ns", base.set_ns, shape});
    emit({"growth", "bytes_per_entry_" + label, ours.bytes_per_entry, "B",
          base.bytes_per_entry, shape});
  }
}

registrar growth_reg{"growth",
                     "get, set, insert and bytes per entry at 10k, 100k, 1M "
                     "and 10M entries vs a std::mutex map",
                     run_growth};

} // namespace

} // namespace cachebus::bench
