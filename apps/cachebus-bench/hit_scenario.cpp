// Scenario `hit`: the cost of the node's basic operations, each against a
// baseline run in the same process on the same keys.
//   get_hit_ops         facade hits from 2 plain threads vs std::mutex +
//                       std::unordered_map (target ratio >= 0.5)
//   set_ops             facade writes from 2 threads vs the same locked map
//   actor_get_rtt_ops   an event-based actor asking a shard, one in flight
//   eviction_hit_ratio  SIEVE (the node) vs LRU on a Zipf(0.99) trace
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "lru.hpp"
#include "scenario.hpp"
#include "zipf.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;

constexpr size_t key_count = 100'000;
constexpr int threads = 2;

std::vector<std::string> make_keys(size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i)
    keys.push_back("key:" + std::to_string(i));
  return keys;
}

// Per-thread sequences of key indexes, so no RNG runs inside timed loops.
std::vector<std::vector<uint32_t>> make_traces(size_t ops) {
  std::vector<std::vector<uint32_t>> traces(threads);
  std::mt19937 rng{42};
  std::uniform_int_distribution<uint32_t> pick(0, key_count - 1);
  for (auto& t : traces) {
    t.resize(ops);
    for (auto& x : t)
      x = pick(rng);
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

struct locked_map {
  std::mutex mtx;
  std::unordered_map<std::string, std::string> map;
};

void run_hit() {
  auto ops = static_cast<size_t>(2'000'000 * scale());
  auto keys = make_keys(key_count);
  auto traces = make_traces(ops);
  std::string value(64, 'v');

  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.max_entries = key_count * 2;
  auto n = std::move(*node::start(sys, opts));
  locked_map base;
  for (auto& k : keys) {
    (void)n->set(k, value);
    base.map.emplace(k, value);
  }

  // -- get_hit_ops: alternate baseline and node runs; report the medians ------
  std::vector<double> ours, theirs;
  size_t sink = 0;
  std::mutex sink_mtx;
  for (int round = 0; round < 3; ++round) {
    theirs.push_back(run_threads(ops, [&](int t) {
      size_t local = 0;
      std::string out;
      for (auto i : traces[t]) {
        std::lock_guard<std::mutex> guard{base.mtx};
        auto it = base.map.find(keys[i]);
        if (it != base.map.end()) {
          out = it->second;
          local += out.size();
        }
      }
      std::lock_guard<std::mutex> guard{sink_mtx};
      sink += local;
    }));
    ours.push_back(run_threads(ops, [&](int t) {
      size_t local = 0;
      for (auto i : traces[t])
        if (auto v = n->get(keys[i]))
          local += v->size();
      std::lock_guard<std::mutex> guard{sink_mtx};
      sink += local;
    }));
  }
  emit({"hit", "get_hit_ops", median(ours), "ops/s", median(theirs),
        "2 threads, 100k keys, 64 B values; baseline std::mutex + "
        "std::unordered_map"});

  // -- set_ops
  // -----------------------------------------------------------------
  ours.clear();
  theirs.clear();
  auto set_ops = ops / 4;
  for (int round = 0; round < 3; ++round) {
    theirs.push_back(run_threads(set_ops, [&](int t) {
      for (size_t j = 0; j < set_ops; ++j) {
        auto& k = keys[traces[t][j]];
        std::lock_guard<std::mutex> guard{base.mtx};
        base.map.insert_or_assign(k, value);
      }
    }));
    ours.push_back(run_threads(set_ops, [&](int t) {
      for (size_t j = 0; j < set_ops; ++j)
        (void)n->set(keys[traces[t][j]], value);
    }));
  }
  emit({"hit", "set_ops", median(ours), "ops/s", median(theirs),
        "2 threads, overwrites of 100k keys; baseline std::mutex + "
        "std::unordered_map insert_or_assign"});

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
