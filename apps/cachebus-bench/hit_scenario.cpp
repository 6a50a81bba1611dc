// Scenario `hit`: the cost of the node's basic operations, each against
// baselines run in the same process on the same keys and traces.
//   get_ops_<N>_<dist>  facade hits from 2 plain threads, N keys (5k fits in
//                       the CPU caches, 100k and 1M do not), uniform or
//                       Zipf(0.99) keys, 64 B values copied out into the
//                       thread's buffer (node::get_into; the maps' get fills
//                       a caller's buffer the same way); baseline
//                       tbb::concurrent_hash_map (goal ratio >= 1.0), and the
//                       same figure again _vs_frozen (an unsynchronized
//                       read-only map: goal >= 0.7), _vs_striped, _vs_cuckoo
//   get_hit_ops         100k uniform vs std::mutex + std::unordered_map
//   get_alloc_ops_100k_uniform  node::get (a new std::string per hit) vs
//                       TBB filling a buffer: what the allocation costs
//   set_ops             facade writes from 2 threads vs that locked map, and
//                       set_ops_vs_tbb vs TBB insert
//   actor_get_rtt_ops   an event-based actor asking a shard, one in flight
//   eviction_hit_ratio  SIEVE (the node) vs LRU on a Zipf(0.99) trace
// Rounds alternate between the contenders and the medians are reported: the
// machine is shared and noisy, so compare ratios within one run.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "lru.hpp"
#include "map_baselines.hpp"
#include "scenario.hpp"
#include "zipf.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;

constexpr int threads = 2;

std::vector<std::string> make_keys(size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i)
    keys.push_back("key:" + std::to_string(i));
  return keys;
}

enum class key_dist { uniform, zipf };

// Per-thread sequences of key indexes, so no RNG runs inside timed loops.
// Zipf ranks are spread over the key space by a fixed permutation, so hot
// keys do not share a shard or a stripe by construction.
std::vector<std::vector<uint32_t>> make_traces(size_t ops, size_t key_count,
                                               key_dist dist) {
  std::vector<std::vector<uint32_t>> traces(threads);
  std::mt19937 rng{42};
  std::vector<uint32_t> perm;
  if (dist == key_dist::zipf) {
    perm.resize(key_count);
    for (size_t i = 0; i < key_count; ++i)
      perm[i] = static_cast<uint32_t>(i);
    std::shuffle(perm.begin(), perm.end(), std::mt19937{7});
  }
  uint64_t seed = 1234;
  for (auto& t : traces) {
    t.resize(ops);
    if (dist == key_dist::uniform) {
      std::uniform_int_distribution<uint32_t> pick(
        0, static_cast<uint32_t>(key_count - 1));
      for (auto& x : t)
        x = pick(rng);
    } else {
      zipf z{key_count, 0.99, seed++};
      for (auto& x : t)
        x = perm[z()];
    }
  }
  return traces;
}

// Runs fn(thread_index) on `threads` threads and returns ops/s.
template <class F>
double run_threads(size_t ops_per_thread, F fn) {
  std::vector<std::thread> ts;
  auto start = steady_clock::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&fn, t] { fn(t); });
  for (auto& t : ts)
    t.join();
  std::chrono::duration<double> took = steady_clock::now() - start;
  return static_cast<double>(ops_per_thread * threads) / took.count();
}

// What the timed loops read, so the compiler keeps every copy.
std::atomic<size_t> sink{0};

template <class Map>
double map_get_rate(Map& m, const std::vector<std::string>& keys,
                    const std::vector<std::vector<uint32_t>>& traces) {
  return run_threads(traces[0].size(), [&](int t) {
    size_t local = 0;
    std::string out;
    for (auto i : traces[static_cast<size_t>(t)])
      if (m.get(keys[i], out))
        local += out.size();
    sink += local;
  });
}

double node_get_rate(node& n, const std::vector<std::string>& keys,
                     const std::vector<std::vector<uint32_t>>& traces) {
  return run_threads(traces[0].size(), [&](int t) {
    size_t local = 0;
    std::string out;
    for (auto i : traces[static_cast<size_t>(t)])
      if (!n.get_into(keys[i], out))
        local += out.size();
    sink += local;
  });
}

double node_get_alloc_rate(node& n, const std::vector<std::string>& keys,
                           const std::vector<std::vector<uint32_t>>& traces) {
  return run_threads(traces[0].size(), [&](int t) {
    size_t local = 0;
    for (auto i : traces[static_cast<size_t>(t)])
      if (auto v = n.get(keys[i]))
        local += v->size();
    sink += local;
  });
}

std::string size_label(size_t n) {
  return n >= 1'000'000 ? std::to_string(n / 1'000'000) + "m"
                        : std::to_string(n / 1'000) + "k";
}

// Hits on `key_count` keys: the node against every baseline map, uniform and
// Zipf(0.99), alternating rounds.
void run_gets(caf::actor_system& sys, size_t key_count) {
  auto keys = make_keys(key_count);
  std::string value(64, 'v');
  node_options opts;
  opts.max_entries = key_count * 2;
  opts.max_bytes = size_t{8} << 30;
  auto n = std::move(*node::start(sys, opts));
  auto mutexed = std::make_unique<mutex_map>();
  auto striped = std::make_unique<striped_map>();
  auto tbb = std::make_unique<tbb_map>();
  auto cuckoo = std::make_unique<cuckoo_map>();
  auto frozen = std::make_unique<frozen_map>();
  for (auto& k : keys) {
    (void)n->set(k, value);
    mutexed->put(k, value);
    striped->put(k, value);
    tbb->put(k, value);
    cuckoo->put(k, value);
    frozen->put(k, value);
  }
  // About one second of work per contender and round at the rates seen.
  auto ops = static_cast<size_t>((key_count >= 1'000'000 ? 400'000 : 1'000'000)
                                 * scale());
  ops = std::max<size_t>(ops, 1000);
  auto rounds = key_count >= 1'000'000 ? 3 : 5;
  for (auto dist : {key_dist::uniform, key_dist::zipf}) {
    auto traces = make_traces(ops, key_count, dist);
    std::vector<double> ours, ours_alloc, r_mutex, r_striped, r_tbb, r_cuckoo,
      r_frozen;
    bool with_mutex = key_count == 100'000 && dist == key_dist::uniform;
    for (int round = 0; round < rounds; ++round) {
      ours.push_back(node_get_rate(*n, keys, traces));
      if (with_mutex)
        ours_alloc.push_back(node_get_alloc_rate(*n, keys, traces));
      r_striped.push_back(map_get_rate(*striped, keys, traces));
      r_tbb.push_back(map_get_rate(*tbb, keys, traces));
      r_cuckoo.push_back(map_get_rate(*cuckoo, keys, traces));
      r_frozen.push_back(map_get_rate(*frozen, keys, traces));
      if (with_mutex)
        r_mutex.push_back(map_get_rate(*mutexed, keys, traces));
    }
    auto metric = "get_ops_" + size_label(key_count) + "_"
                  + (dist == key_dist::uniform ? "uniform" : "zipf");
    auto shape = std::to_string(threads) + " threads, "
                 + std::to_string(key_count) + " keys, "
                 + (dist == key_dist::uniform ? "uniform" : "Zipf(0.99)")
                 + ", 64 B values copied out, median of "
                 + std::to_string(rounds) + " alternating rounds; baseline ";
    auto ours_median = median(ours);
    emit({"hit", metric, ours_median, "ops/s", median(r_tbb),
          shape + tbb_map::name + " (goal ratio >= 1.0)"});
    emit({"hit", metric + "_vs_frozen", ours_median, "ops/s", median(r_frozen),
          shape + frozen_map::name + " (goal >= 0.7)"});
    emit({"hit", metric + "_vs_striped", ours_median, "ops/s",
          median(r_striped), shape + striped_map::name});
    emit({"hit", metric + "_vs_cuckoo", ours_median, "ops/s", median(r_cuckoo),
          shape + cuckoo_map::name});
    if (with_mutex) {
      emit({"hit", "get_hit_ops", ours_median, "ops/s", median(r_mutex),
            shape + mutex_map::name});
      emit({"hit", "get_alloc_ops_100k_uniform", median(ours_alloc), "ops/s",
            median(r_tbb),
            shape + tbb_map::name + "; node::get, a new std::string per hit"});
    }
  }
  n->stop();
}

void run_hit() {
  config cfg;
  caf::actor_system sys{cfg};
  for (size_t key_count : {size_t{5'000}, size_t{100'000}, size_t{1'000'000}})
    run_gets(sys, key_count);

  // -- set_ops: overwrites of 100k keys ---------------------------------------
  constexpr size_t key_count = 100'000;
  auto keys = make_keys(key_count);
  std::string value(64, 'v');
  node_options opts;
  opts.max_entries = key_count * 2;
  auto n = std::move(*node::start(sys, opts));
  mutex_map base;
  tbb_map tbb;
  for (auto& k : keys) {
    (void)n->set(k, value);
    base.put(k, value);
    tbb.put(k, value);
  }
  auto set_ops = std::max<size_t>(static_cast<size_t>(500'000 * scale()), 1000);
  auto traces = make_traces(set_ops, key_count, key_dist::uniform);
  std::vector<double> ours, theirs, tbbs;
  for (int round = 0; round < 3; ++round) {
    theirs.push_back(run_threads(set_ops, [&](int t) {
      for (auto i : traces[static_cast<size_t>(t)])
        base.put(keys[i], value);
    }));
    tbbs.push_back(run_threads(set_ops, [&](int t) {
      for (auto i : traces[static_cast<size_t>(t)])
        tbb.put(keys[i], value);
    }));
    ours.push_back(run_threads(set_ops, [&](int t) {
      for (auto i : traces[static_cast<size_t>(t)])
        (void)n->set(keys[i], value);
    }));
  }
  emit({"hit", "set_ops", median(ours), "ops/s", median(theirs),
        "2 threads, overwrites of 100k keys; baseline std::mutex + "
        "std::unordered_map insert_or_assign (goal ratio >= 1.0)"});
  emit({"hit", "set_ops_vs_tbb", median(ours), "ops/s", median(tbbs),
        "2 threads, overwrites of 100k keys; baseline "
        "tbb::concurrent_hash_map insert"});

  // -- actor_get_rtt_ops: an event-based actor, one request in flight ---------
  auto rtts = static_cast<size_t>(200'000 * scale());
  auto shards = n->shards();
  std::vector<std::pair<size_t, std::string>> routed;
  for (size_t i = 0; i < 1024; ++i)
    routed.emplace_back(n->shard_index(keys[i]), keys[i]);
  std::vector<double> rates;
  for (int round = 0; round < 3; ++round) {
    caf::scoped_actor self{sys};
    auto start = steady_clock::now();
    caf::actor parent = caf::actor_cast<caf::actor>(self);
    sys.spawn([=](caf::event_based_actor* client) {
      auto remaining = std::make_shared<size_t>(rtts);
      auto next = std::make_shared<std::function<void()>>();
      *next = [=] {
        if (*remaining == 0) {
          client->send(parent, caf::ok_atom_v);
          client->quit();
          *next = nullptr; // break the self-reference
          return;
        }
        auto& [idx, key] = routed[*remaining % routed.size()];
        --*remaining;
        client
          ->request(shards[idx], std::chrono::seconds(10), caf::get_atom_v, key)
          .then([=](const std::string&) { (*next)(); },
                [=](caf::error&) { (*next)(); });
      };
      (*next)();
    });
    self->receive([](caf::ok_atom) {});
    std::chrono::duration<double> took = steady_clock::now() - start;
    rates.push_back(rtts / took.count());
  }
  emit({"hit", "actor_get_rtt_ops", median(rates), "rt/s", std::nullopt,
        "event-based actor -> shard get, 1 request in flight"});

  if (sink == 42)
    std::puts(""); // keep the reads observable
  n->stop();
}

// Replays one Zipf trace through the node (SIEVE) and through LRU of the same
// capacity; a miss inserts the key, as cache-aside would.
void run_eviction() {
  size_t universe = 100'000;
  auto requests = static_cast<size_t>(2'000'000 * scale());
  auto keys = make_keys(universe);
  // Hot ranks spread over the key space.
  std::vector<uint32_t> perm(universe);
  for (size_t i = 0; i < universe; ++i)
    perm[i] = static_cast<uint32_t>(i);
  std::shuffle(perm.begin(), perm.end(), std::mt19937{7});
  std::vector<uint32_t> trace(requests);
  zipf z{universe, 0.99, 1234};
  for (auto& x : trace)
    x = perm[z()];

  for (double pct : {1.0, 10.0}) {
    auto capacity = static_cast<size_t>(universe * pct / 100);
    config cfg;
    caf::actor_system sys{cfg};
    node_options opts;
    opts.max_entries = capacity;
    auto n = std::move(*node::start(sys, opts));
    lru baseline{capacity};
    size_t hits = 0;
    size_t base_hits = 0;
    for (auto i : trace) {
      auto& k = keys[i];
      if (n->get(k))
        ++hits;
      else
        (void)n->set(k, "v");
      if (baseline.get(k))
        ++base_hits;
      else
        baseline.put(k);
    }
    n->stop();
    auto metric = pct == 10.0 ? std::string{"eviction_hit_ratio"}
                              : std::string{"eviction_hit_ratio_1pct"};
    emit({"hit", metric, static_cast<double>(hits) / requests, "ratio",
          static_cast<double>(base_hits) / requests,
          "Zipf(0.99), 100k keys, cache holds " + std::to_string(capacity)
            + " entries; baseline LRU of the same capacity"});
  }
}

registrar hit_reg{"hit",
                  "facade hits and sets vs a locked map, actor round trips, "
                  "SIEVE vs LRU hit ratio",
                  [] {
                    run_hit();
                    run_eviction();
                  }};

} // namespace

} // namespace cachebus::bench
