// Randomized concurrent histories against real nodes: several plain threads
// run seeded random operations (get, set, fetch with slow or failing
// loaders on the facade and through the lock manager's actor path, puts
// through the shard actors, write-through update, write-back queue_update,
// record loads, and every invalidation kind: key, keys, tag, pattern,
// dependency, resource rule) on one node or on several cluster members, over
// a record store (memory or SQLite) whose loads are delayed. Short TTLs, a
// fast sweep and a small capacity add expiry and eviction pressure. Each
// operation is recorded (history.hpp) and the history is checked
// (checker.hpp).
//
// A seed fixes every thread's operations, keys, values and loader delays;
// the interleaving is the OS scheduler's, so a failing seed reproduces the
// same workload, and usually the failure, not the exact schedule.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cachebus::consistency {

enum class store_kind { memory, sqlite };

struct workload_options {
  uint64_t seed = 1;
  /// 1: one node; more: in-process cluster members linked by bridges.
  int nodes = 1;
  int threads = 4;
  int ops_per_thread = 40;
  store_kind store = store_kind::memory;
  /// Longest injected load delay, in microseconds.
  int max_load_delay_us = 400;
  /// Cluster only: while the operations run, one more thread aborts the
  /// TCP connections of a random member's cluster port every 5-30 ms
  /// (`ss -K`, root only: apps/common/net_cut.hpp), so that sessions drop,
  /// come back and replay what they missed in the middle of a history.
  bool cut_connections = false;
};

struct history_result {
  size_t operations = 0;
  /// How many times cut_connections cut a member's connections, and the
  /// replays the members' bridges started (after cuts, gaps, reconnects).
  size_t cuts = 0;
  uint64_t replays = 0;
  std::vector<std::string> violations;
};

/// What consecutive histories of one kind share, so that a history costs
/// its operations rather than a start-up: the actor system of single-node
/// histories and the record store (each history uses records of its own).
class workbench {
 public:
  explicit workbench(store_kind kind);
  ~workbench();

  workbench(const workbench&) = delete;
  workbench& operator=(const workbench&) = delete;

  /// Runs one history and checks it. REQUIRES: opts.store is this kind.
  history_result run(const workload_options& opts);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

} // namespace cachebus::consistency
