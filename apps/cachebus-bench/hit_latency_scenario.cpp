// Scenario `hit_latency`: how long one hit takes while another thread works
// the same node. One reader thread times each get (steady_clock around the
// call, 64 B values, 100k keys on 2 shards) against a background:
//   idle       nothing (the baseline every other row is compared with)
//   writes     sets of other keys on the same shards, back to back
//   tags       invalidate_tag of a 100-entry tag, then its refill, in a loop
//   patterns   invalidate_pattern of a 100-key prefix, then its refill
//   sweep      the shards' sweeps freeing 1M expired entries
// Rows get_p50_ns_<bg>, get_p99_ns_<bg> (goal <= 2,000 ns) and
// get_p999_ns_<bg>, each with the idle figure as baseline. The timer's own
// cost (two clock reads, ~40 ns) is in every sample, the baseline's too.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;

constexpr size_t key_count = 100'000;

double quantile(std::vector<double>& xs, double q) {
  auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(i),
                   xs.end());
  return xs[i];
}

struct latencies {
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
};

// Times `samples` gets of the reader's keys while `background` runs on its
// own thread (until the reader is done or `background` returns).
template <class Background>
latencies timed_gets(node& n, const std::vector<std::string>& keys,
                     size_t samples, Background background) {
  std::atomic<bool> done{false};
  std::thread bg{[&] { background(done); }};
  std::vector<double> ns;
  ns.reserve(samples);
  size_t sink = 0;
  uint64_t x = 88172645463325252ULL; // xorshift: no RNG cost in the loop
  for (size_t i = 0; i < samples; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    auto& key = keys[x % keys.size()];
    auto t0 = steady_clock::now();
    auto v = n.get(key);
    auto t1 = steady_clock::now();
    sink += v ? v->size() : 0;
    ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  done = true;
  bg.join();
  if (sink == 0)
    ns.clear(); // every get missed: nothing to report
  latencies out;
  if (ns.empty())
    return out;
  out.p50 = quantile(ns, 0.5);
  out.p99 = quantile(ns, 0.99);
  out.p999 = quantile(ns, 0.999);
  return out;
}

void emit_row(const std::string& bg, const latencies& got,
              const latencies& idle, const std::string& what) {
  auto shape = "1 reader, " + std::to_string(key_count)
               + " keys on 2 shards, 64 B values; background: " + what
               + "; baseline: the same reader on an idle node";
  emit({"hit_latency", "get_p50_ns_" + bg, got.p50, "ns", idle.p50, shape});
  emit({"hit_latency", "get_p99_ns_" + bg, got.p99, "ns", idle.p99,
        shape + " (goal <= 2000 ns)"});
  emit({"hit_latency", "get_p999_ns_" + bg, got.p999, "ns", idle.p999, shape});
}

std::unique_ptr<node> filled_node(caf::actor_system& sys,
                                  const std::vector<std::string>& keys,
                                  std::shared_ptr<time_source> clk = nullptr) {
  node_options opts;
  opts.shards = 2;
  opts.max_entries = 4'000'000;
  opts.max_bytes = size_t{8} << 30;
  opts.default_ttl = std::chrono::hours(1);
  opts.max_ttl = std::chrono::hours(2);
  opts.sweep_interval = std::chrono::milliseconds(10);
  node_setup setup;
  setup.clock = std::move(clk);
  auto n = std::move(*node::start(sys, opts, setup));
  std::string value(64, 'v');
  for (auto& k : keys)
    (void)n->set(k, value);
  return n;
}

void run_hit_latency() {
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::string> keys;
  keys.reserve(key_count);
  for (size_t i = 0; i < key_count; ++i)
    keys.push_back("key:" + std::to_string(i));
  auto samples
    = std::max<size_t>(static_cast<size_t>(2'000'000 * scale()), 10'000);
  auto n = filled_node(sys, keys);
  std::string value(64, 'w');

  auto idle = timed_gets(*n, keys, samples, [](std::atomic<bool>&) {});

  auto writes = timed_gets(*n, keys, samples, [&](std::atomic<bool>& done) {
    for (size_t i = 0; !done; ++i)
      (void)n->set("w:" + std::to_string(i % 100'000), value);
  });
  emit_row("writes", writes, idle, "sets of 100k other keys, back to back");

  auto tags = timed_gets(*n, keys, samples, [&](std::atomic<bool>& done) {
    set_options so;
    so.tags = {"hot"};
    while (!done) {
      for (int i = 0; i < 100; ++i)
        (void)n->set("t:" + std::to_string(i), value, so);
      (void)n->invalidate_tag("hot");
    }
  });
  emit_row("tags", tags, idle, "invalidate_tag of 100 entries, refilled");

  auto patterns = timed_gets(*n, keys, samples, [&](std::atomic<bool>& done) {
    while (!done) {
      for (int i = 0; i < 100; ++i)
        (void)n->set("p:" + std::to_string(i), value);
      (void)n->invalidate_pattern("p:*");
    }
  });
  emit_row("patterns", patterns, idle,
           "invalidate_pattern of 100 keys, refilled");
  n->stop();

  // The sweep: 1M entries expire at once (a manual clock jumps past their
  // TTL) and the shards' sweeps free them, 1,024 per sweep, while the
  // reader reads.
  auto clk = std::make_shared<time_source>();
  clk->make_manual();
  auto m = filled_node(sys, keys, clk);
  set_options brief;
  brief.ttl = std::chrono::seconds(1);
  for (size_t i = 0; i < 1'000'000; ++i)
    (void)m->set("x:" + std::to_string(i), value, brief);
  auto idle_m = timed_gets(*m, keys, samples / 4, [](std::atomic<bool>&) {});
  clk->advance(std::chrono::seconds(2));
  auto sweep = timed_gets(*m, keys, samples, [&](std::atomic<bool>& done) {
    while (!done && m->stats().total.entries > key_count)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  auto left = m->stats().total.entries;
  emit_row("sweep", sweep, idle_m,
           "the sweeps freeing 1M expired entries ("
             + std::to_string(1'000'000 + key_count - left)
             + " freed while the reader read)");
  m->stop();
}

registrar hit_latency_reg{"hit_latency",
                          "p50/p99/p999 of one get while another thread "
                          "writes, invalidates tags or patterns, or the "
                          "sweep frees 1M entries",
                          run_hit_latency};

} // namespace

} // namespace cachebus::bench
