// Invalidation scenarios:
//   tag_invalidation      tag_invalidate_us for one tag on 100,000 entries
//                         (goal < 1,000 us); baseline: removing the same
//                         entries key by key (what a tag index without
//                         generations must do)
//   pattern_invalidation  pattern_invalidate_us removing 100 matching keys
//                         among 1,000,000; baseline: a full scan with the same
//                         glob matcher over a map of the same keys (goal: 100x)
//   event_apply           publish on the bus -> applied on every local shard,
//                         latency_p50_us / latency_p99_us, in process
#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "caf/all.hpp"

#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;

double us_since(steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(steady_clock::now() - t0)
    .count();
}

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(p * (xs.size() - 1));
  return xs[i];
}

void run_tag() {
  constexpr int entries = 100'000;
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.max_entries = 2 * entries;
  auto n = std::move(*node::start(sys, opts));
  std::vector<std::string> keys;
  for (int i = 0; i < entries; ++i)
    keys.push_back("post:" + std::to_string(i));
  set_options tagged;
  tagged.tags = {"post-list"};
  std::vector<double> ours, theirs;
  size_t removed = 0;
  for (int round = 0; round < 5; ++round) {
    for (auto& k : keys)
      (void)n->set(k, "v", tagged);
    auto t0 = steady_clock::now();
    removed = *n->invalidate_tag("post-list");
    ours.push_back(us_since(t0));
    for (auto& k : keys)
      (void)n->set(k, "v", tagged);
    t0 = steady_clock::now();
    (void)n->invalidate(keys);
    theirs.push_back(us_since(t0));
  }
  emit({"tag_invalidation", "tag_invalidate_us", median(ours), "us",
        median(theirs),
        std::to_string(removed)
          + " entries under one tag, 2 shards; "
            "baseline removes the same keys one by one (lower is better)"});
  n->stop();
}

void run_pattern() {
  auto total = static_cast<size_t>(1'000'000 * std::min(1.0, scale()));
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.max_entries = total + 1000;
  opts.max_bytes = size_t{4} << 30;
  auto n = std::move(*node::start(sys, opts));
  std::unordered_map<std::string, std::string> flat;
  flat.reserve(total);
  auto fill = [&](bool node_side) {
    for (size_t i = 0; i < total; ++i) {
      std::string key;
      if (i < 100)
        key = "search:q:target:page:" + std::to_string(i);
      else
        key = "search:q:" + std::to_string(i) + ":page:1";
      if (node_side)
        (void)n->set(key, "v");
      else
        flat.emplace(std::move(key), "v");
    }
  };
  fill(true);
  fill(false);
  std::string glob = "search:q:target:page:*";
  std::vector<double> ours, theirs;
  size_t removed = 0;
  for (int round = 0; round < 3; ++round) {
    auto t0 = steady_clock::now();
    removed = *n->invalidate_pattern(glob);
    ours.push_back(us_since(t0));
    t0 = steady_clock::now();
    std::vector<std::string> hits;
    for (auto& kv : flat)
      if (glob_match(glob, kv.first))
        hits.push_back(kv.first);
    for (auto& k : hits)
      flat.erase(k);
    theirs.push_back(us_since(t0));
    for (size_t i = 0; i < 100; ++i) { // put the 100 back for the next round
      auto key = "search:q:target:page:" + std::to_string(i);
      (void)n->set(key, "v");
      flat.emplace(key, "v");
    }
  }
  auto value = median(ours);
  auto base = median(theirs);
  emit({"pattern_invalidation", "pattern_invalidate_us", value, "us", base,
        std::to_string(removed) + " of " + std::to_string(total)
          + " keys; baseline: full scan with the same matcher (lower is "
            "better)"});
  emit({"pattern_invalidation", "pattern_speedup", base / value, "x",
        std::nullopt, "full-scan time / ordered-index time (goal >= 100)"});
  n->stop();
}

void run_event_apply() {
  auto samples = static_cast<size_t>(2000 * std::min(1.0, scale()));
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  node_setup setup;
  auto rs = rules::parse("[users]\nkeys = user:{id}, user:{id}:profile\n"
                         "tags = user:{id}\n");
  setup.rules = std::move(*rs);
  auto n = std::move(*node::start(sys, opts, std::move(setup)));
  caf::scoped_actor observer{sys};
  caf::anon_send(n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  std::vector<double> lat;
  size_t failures = 0;
  for (size_t i = 0; i < samples; ++i) {
    auto id = std::to_string(i);
    (void)n->set("user:" + id, "v");
    (void)n->set("user:" + id + ":profile", "v");
    invalidated ev;
    ev.resource = "users";
    ev.id = id;
    ev.origin = "bench"; // a remote origin: the listener applies it
    ev.sequence = i + 1;
    auto t0 = steady_clock::now();
    caf::anon_send(n->bus(), caf::publish_atom_v, std::string{"cache:users"},
                   caf::make_message(ev));
    observer->receive([&](applied_atom, const std::string&, uint64_t) {},
                      caf::after(std::chrono::seconds(5)) >>
                        [&] { ++failures; });
    lat.push_back(us_since(t0));
    if (n->get("user:" + id))
      ++failures;
  }
  emit(
    {"event_apply", "latency_p50_us", percentile(lat, 0.5), "us", std::nullopt,
     "bus publish -> listener applied rules on all shards (2 keys + 1 tag)"});
  emit({"event_apply", "latency_p99_us", percentile(lat, 0.99), "us",
        std::nullopt,
        std::to_string(failures) + " failures in " + std::to_string(samples)
          + " events"});
  n->stop();
}

registrar tag_reg{"tag_invalidation",
                  "invalidate one tag on 100k entries vs key-by-key removal",
                  run_tag};
registrar pattern_reg{"pattern_invalidation",
                      "100 of 1M keys by glob vs a full scan", run_pattern};
registrar event_reg{"event_apply",
                    "bus event -> applied on every shard, p50/p99 latency",
                    run_event_apply};

} // namespace

} // namespace cachebus::bench
