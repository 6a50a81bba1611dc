// cachebus-demo: what a new user runs first. Embeds a node (its own actor
// system, configured from the command line: try --help) and shows, with real
// numbers, hits and misses, TTL expiry reclaimed by the sweep, eviction under
// a capacity bound, and bad input being refused.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <unistd.h>

#include "cachebus/actors/error.hpp"
#include "cachebus/actors/runtime.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

bool tty = isatty(STDOUT_FILENO) != 0;

void section(const char* title) {
  if (tty)
    std::printf("\n\033[1m== %s\033[0m\n", title);
  else
    std::printf("\n== %s\n", title);
}

double us_since(steady_clock::time_point t) {
  return std::chrono::duration<double, std::micro>(steady_clock::now() - t)
    .count();
}

} // namespace

int main(int argc, char** argv) {
  // Small sweep interval so expiry is visible within the demo.
  std::vector<std::string> args{"--cachebus.sweep-interval=100ms",
                                "--cachebus.max-entries=10000"};
  for (int i = 1; i < argc; ++i)
    args.emplace_back(argv[i]);
  auto rt = runtime::start(args);
  if (!rt) {
    std::cerr << "cachebus-demo: " << describe(rt.error()) << "\n";
    return 1;
  }
  if ((*rt)->help_printed())
    return 0;
  auto& n = (*rt)->node();
  auto& o = n.options();
  std::printf("cachebus demo: %zu shards, default TTL %lld ms, capacity %zu "
              "entries\n",
              o.shards,
              static_cast<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(
                  o.default_ttl)
                  .count()),
              o.max_entries);

  section("Hits and misses (cache-aside by hand)");
  {
    auto t0 = steady_clock::now();
    auto miss = n.get("user:1");
    auto miss_us = us_since(t0);
    std::printf("get user:1  -> %s (%.1f us)\n",
                miss ? "hit" : "miss", miss_us);
    (void) n.set("user:1", R"({"name":"alice"})");
    t0 = steady_clock::now();
    constexpr int reads = 100000;
    int hits = 0;
    for (int i = 0; i < reads; ++i)
      hits += n.get("user:1") ? 1 : 0;
    auto per_hit = us_since(t0) / reads;
    std::printf("set user:1, then %d gets -> %d hits, %.3f us per hit "
                "(read straight from the shard's table, no actor hop)\n",
                reads, hits, per_hit);
  }

  section("Time-based expiry");
  {
    set_options short_ttl;
    short_ttl.ttl = 200ms;
    for (int i = 0; i < 1000; ++i)
      (void) n.set("session:" + std::to_string(i), "token", short_ttl);
    (void) n.set("config:site", "long-lived");
    auto before = n.stats().total;
    std::printf("1000 sessions with a 200 ms TTL, 1 entry with the default "
                "TTL: %llu entries\n",
                static_cast<unsigned long long>(before.entries));
    std::this_thread::sleep_for(250ms);
    std::printf("after 250 ms: get session:0 -> %s (expired entries are never "
                "returned)\n",
                n.get("session:0") ? "hit" : "miss");
    auto deadline = steady_clock::now() + 2s;
    while (n.stats().total.entries > 2 && steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    auto after = n.stats().total;
    std::printf("the sweep reclaimed %llu expired entries; %llu remain\n",
                static_cast<unsigned long long>(after.expirations),
                static_cast<unsigned long long>(after.entries));
  }

  section("Eviction under a capacity bound");
  {
    auto before = n.stats().total;
    for (int i = 0; i < 30000; ++i)
      (void) n.set("item:" + std::to_string(i), "payload");
    auto after = n.stats().total;
    std::printf("wrote 30000 items into a %zu-entry cache: %llu entries, "
                "%llu evictions (SIEVE)\n",
                o.max_entries,
                static_cast<unsigned long long>(after.entries),
                static_cast<unsigned long long>(after.evictions
                                                - before.evictions));
  }

  section("Bad input is refused and changes nothing");
  {
    set_options bad;
    bad.ttl = -1s;
    for (auto& r : {n.set("", "v"), n.set(std::string(2000, 'k'), "v"),
                    n.set("k", "v", bad)})
      std::printf("%s\n", describe(r.error()).c_str());
  }

  section("Summary");
  auto s = n.stats().total;
  std::printf("%-14s %12s\n", "counter", "value");
  auto row = [](const char* name, uint64_t v) {
    std::printf("%-14s %12llu\n", name, static_cast<unsigned long long>(v));
  };
  row("hits", s.hits);
  row("misses", s.misses);
  row("sets", s.sets);
  row("evictions", s.evictions);
  row("expirations", s.expirations);
  row("invalidations", s.invalidations);
  row("entries", s.entries);
  row("bytes", s.bytes);
  return 0;
}
