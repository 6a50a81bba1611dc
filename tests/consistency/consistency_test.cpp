// The consistency suite: seeded random concurrent histories (workload.hpp)
// checked for stale reads, stale caches after quiescence and broken single
// flight (checker.hpp), on one node or on three cluster members (also with
// their connections cut mid-history, as root). Each case runs histories for
// a time budget:
// CACHEBUS_CONSISTENCY_MINUTES (default 0.25 per case) runs longer, and
// CACHEBUS_CONSISTENCY_SEED=N runs the one history of seed N (printed with
// every failure).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "cachebus/apps/common/net_cut.hpp"
#include "checker.hpp"
#include "workload.hpp"

using namespace cachebus::consistency;

namespace {

std::chrono::milliseconds budget() {
  if (auto* m = std::getenv("CACHEBUS_CONSISTENCY_MINUTES")) {
    char* end = nullptr;
    double minutes = std::strtod(m, &end);
    if (end != m && *end == '\0' && minutes > 0 && minutes < 24 * 60)
      return std::chrono::milliseconds{static_cast<int64_t>(minutes * 60'000)};
    FAIL("CACHEBUS_CONSISTENCY_MINUTES must be a number of minutes in (0, "
         "1440), not \""
         << m << "\"");
  }
  return std::chrono::milliseconds{15'000};
}

// Runs histories of `base` (seed aside) until the budget is spent (at least
// `min_histories`), or the one of CACHEBUS_CONSISTENCY_SEED; fails on the
// first violating history with its seed.
void run_suite(const std::string& name, workload_options base,
               size_t min_histories) {
  std::vector<uint64_t> seeds;
  bool replay = false;
  if (auto* s = std::getenv("CACHEBUS_CONSISTENCY_SEED")) {
    seeds.push_back(std::stoull(s));
    replay = true;
  }
  uint64_t first = std::random_device{}();
  workbench bench{base.store};
  auto deadline = std::chrono::steady_clock::now() + budget();
  size_t histories = 0;
  size_t operations = 0;
  size_t cuts = 0;
  uint64_t replays = 0;
  for (uint64_t i = 0;; ++i) {
    if (replay && i == 1)
      break;
    if (!replay && histories >= min_histories
        && std::chrono::steady_clock::now() > deadline)
      break;
    auto opts = base;
    opts.seed = replay ? seeds.front() : first + i;
    auto r = bench.run(opts);
    ++histories;
    operations += r.operations;
    cuts += r.cuts;
    replays += r.replays;
    if (!r.violations.empty()) {
      std::string text;
      for (auto& v : r.violations)
        text += "  " + v + "\n";
      // The seed again at the end, so that it survives a cut of the
      // output from either side.
      FAIL(name << ": seed " << opts.seed << " (replay with "
                << "CACHEBUS_CONSISTENCY_SEED=" << opts.seed << ") broke the "
                << "contract after " << histories << " histories:\n"
                << text << "  (seed " << opts.seed << ")");
    }
  }
  std::cout << "consistency: " << name << ": " << histories << " histories, "
            << operations << " operations checked, "
            << (base.cut_connections ? std::to_string(cuts) + " cuts, " : "")
            << (base.nodes > 1 ? std::to_string(replays) + " replays, " : "")
            << "0 violations (first seed " << (replay ? seeds.front() : first)
            << ")" << std::endl;
  CHECK(histories >= (replay ? 1 : min_histories));
  if (base.cut_connections && !replay) {
    // The cuts did happen, and sessions came back through replay.
    CHECK(cuts >= histories / 2);
    CHECK(replays > 0);
  }
}

} // namespace

TEST_CASE("random concurrent histories on one node over the memory store "
          "never serve a superseded value",
          "[consistency]") {
  workload_options o;
  o.store = store_kind::memory;
  run_suite("one node, memory store", o, 50);
}

TEST_CASE("random concurrent histories on one node over SQLite never serve "
          "a superseded value",
          "[consistency]") {
  workload_options o;
  o.store = store_kind::sqlite;
  run_suite("one node, SQLite", o, 50);
}

TEST_CASE("random concurrent histories on three cluster members never serve "
          "a value superseded on any node past the propagation bound",
          "[consistency][cluster]") {
  workload_options o;
  o.nodes = 3;
  o.store = store_kind::memory;
  o.threads = 5;
  run_suite("three cluster members, memory store", o, 10);
}

TEST_CASE("random concurrent histories on three cluster members whose "
          "connections are cut mid-history never serve a value superseded "
          "past the propagation bound",
          "[consistency][cluster][cut]") {
  if (!cachebus::app::can_cut_connections()) {
    WARN("skipped: cutting connections (ss -K) needs root and ss");
    return;
  }
  workload_options o;
  o.nodes = 3;
  o.store = store_kind::memory;
  o.threads = 5;
  o.cut_connections = true;
  run_suite("three cluster members, connections cut", o, 10);
}
