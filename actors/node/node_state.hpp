// What a cachebus::node owns (private to the node's implementation files:
// node.hpp keeps it behind a pointer, so that embedders' translation units
// do not include the shard tables, the invalidator or the bridge). Every
// member is set by node::start and constant afterwards, except `stopped`
// and `removals` (made by the first on_removal, under removals_mtx) and
// `async_loaders` (made by the first fetch_async load, under async_mtx).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "caf/actor_system.hpp"

#include "cachebus/actors/cache/local_cache.hpp"
#include "cachebus/actors/cache/removal_sink.hpp"
#include "cachebus/actors/cache/shard.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/flight/lock_manager.hpp"
#include "cachebus/actors/invalidation/applied_events.hpp"
#include "cachebus/actors/invalidation/event_source.hpp"
#include "cachebus/actors/invalidation/invalidation_listener.hpp"
#include "cachebus/actors/invalidation/invalidator.hpp"
#include "cachebus/actors/node/options.hpp"
#include "cachebus/actors/node/shutdown_guard.hpp"
#include "cachebus/actors/node/task_pool.hpp"
#include "cachebus/bus/bridge.hpp"

namespace cachebus {

struct node_state {
  node_state(caf::actor_system& sys, node_options opts)
      : sys(sys), opts(std::move(opts)) {
    // nop
  }

  caf::actor_system& sys;
  node_options opts;
  std::shared_ptr<cachebus::time_source> clock;
  std::shared_ptr<local_cache> cache;
  std::vector<shard_actor> shards;
  std::shared_ptr<event_source> source;
  std::shared_ptr<applied_events> applied;
  std::shared_ptr<invalidator> inv;
  invalidation_listener_actor listener;
  lock_manager_actor lock_manager;
  bridge_handle bridge;
  bool owns_bus = false;
  // Armed while the node runs: its actors are hidden, so a system destroyed
  // before the node stops aborts with a message instead of hanging.
  std::unique_ptr<shutdown_guard> guard;
  std::atomic<bool> stopped{false};
  std::mutex removals_mtx;
  std::unique_ptr<removal_sink> removals;
  // The threads loader_fns of fetch_async run on: made by the first such
  // load, stopped by node::stop (under async_mtx).
  std::mutex async_mtx;
  std::shared_ptr<task_pool> async_loaders;
};

} // namespace cachebus
