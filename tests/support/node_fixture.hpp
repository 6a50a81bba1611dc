// One node on its own actor system, for the tests of the facade's calls
// (fetch, async, typed values): 2 shards, an optional manual clock and an
// optional tweak of the options; locks() and waiters_reach() look at the
// lock manager through node::lock_stats().
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

namespace cachebus::test {

struct node_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<time_source> clk = std::make_shared<time_source>();
  std::unique_ptr<node> n;

  explicit node_fixture(bool manual_clock = false,
                        std::function<void(node_options&)> tweak = nullptr) {
    if (manual_clock)
      clk->make_manual();
    node_options opts;
    opts.shards = 2;
    if (tweak)
      tweak(opts);
    node_setup setup;
    setup.clock = clk;
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
  }

  // The lock manager's counters (all zero if it did not answer).
  lock_stats locks() {
    auto s = n->lock_stats();
    return s ? *s : lock_stats{};
  }

  // Waits (bounded) until `count` callers wait on the lock manager.
  bool waiters_reach(uint64_t count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (locks().waiting < count)
      if (std::chrono::steady_clock::now() > deadline)
        return false;
    return true;
  }
};

} // namespace cachebus::test
