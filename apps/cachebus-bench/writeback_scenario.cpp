// Scenario `writeback`: the write-back flusher against SQLite.
//   queue_update_ops         queue_update from one thread with the journal on
//                            (fsync=batch: group commit every 10 ms)
//   queue_update_ops_always  the same with fsync=always (an fdatasync per
//                            acknowledged write; fewer updates)
//   store_writes             rows written per flush window for 1,000,000
//                            updates over 10,000 records (goal <= 10,000:
//                            coalescing)
//   flush_rows_per_s         rows/s of the flusher's batch transactions vs
//                            per-row autocommit into the same SQLite store
//                            (goal ratio >= 20)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/temp_dir.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;

std::shared_ptr<stores::record_store>
open_store(const std::string& path,
           stores::sqlite_options::sync_mode sync
           = stores::sqlite_options::sync_mode::normal) {
  stores::sqlite_options opts;
  opts.synchronous = sync;
  auto s = stores::sqlite_store::open(path, opts);
  if (!s.ok()) {
    std::fprintf(stderr, "writeback: %s\n", s.error().to_string().c_str());
    std::abort();
  }
  std::shared_ptr<stores::record_store> store{std::move(s).value()};
  (void)store->declare("users", {"name", "score"});
  return store;
}

struct queue_run {
  double ops_per_s = 0;
  write_back_stats stats;
  double seconds = 0;
};

// Queues `updates` writes over `records` records and flushes; returns the
// queue_update rate and the flusher's stats.
queue_run run_queue(stores::fsync_policy fsync, size_t updates,
                    size_t records) {
  app::temp_dir dir{"cachebus-bench"}; // throws (and so aborts) on failure
  auto store = open_store(dir.file("records.db"));
  config cfg;
  caf::actor_system sys{cfg};
  rules r;
  (void)r.add({"users", {"user:{id}"}, {}, {}});
  node_setup setup;
  setup.rules = r;
  node_options nopts;
  nopts.max_entries = records * 2;
  auto n = std::move(*node::start(sys, nopts, setup));
  write_back_options o;
  o.journal = dir.file("journal");
  o.fsync = fsync;
  o.max_batch = 10'000;
  auto rc = record_cache::start(*n, store, o);
  if (!rc) {
    std::fprintf(stderr, "writeback: %s\n", describe(rc.error()).c_str());
    std::abort();
  }
  std::vector<uint32_t> trace(updates);
  std::mt19937 rng{42};
  std::uniform_int_distribution<uint32_t> pick(0, records - 1);
  for (auto& x : trace)
    x = pick(rng);
  std::vector<std::string> ids;
  for (size_t i = 0; i < records; ++i)
    ids.push_back(std::to_string(i));
  queue_run out;
  auto start = steady_clock::now();
  for (size_t i = 0; i < updates; ++i)
    if (auto err = (*rc)->queue_update("users", ids[trace[i]],
                                       {{"score", std::to_string(i)}})) {
      std::fprintf(stderr, "writeback: %s\n", describe(err).c_str());
      std::abort();
    }
  std::chrono::duration<double> took = steady_clock::now() - start;
  out.seconds = took.count();
  out.ops_per_s = static_cast<double>(updates) / took.count();
  if (auto err = (*rc)->flush(std::chrono::minutes(5)))
    std::fprintf(stderr, "writeback: %s\n", describe(err).c_str());
  out.stats = (*rc)->stats();
  (*rc)->stop();
  rc->reset();
  n->stop();
  return out;
}

void run_writeback() {
  auto updates = static_cast<size_t>(1'000'000 * scale());
  size_t records = std::max<size_t>(1, std::min<size_t>(10'000, updates / 100));

  // -- queue_update_ops and store_writes
  // ---------------------------------------
  auto run = run_queue(stores::fsync_policy::batch, updates, records);
  emit({"writeback", "queue_update_ops", run.ops_per_s, "ops/s", std::nullopt,
        "1 thread, " + std::to_string(updates) + " updates over "
          + std::to_string(records)
          + " records, journal fsync=batch (10 ms group commit), SQLite "
            "store, flusher running"});
  auto windows = std::max<uint64_t>(1, run.stats.batches);
  emit({"writeback", "store_writes",
        static_cast<double>(run.stats.flushed_rows) / windows, "rows/flush",
        std::nullopt,
        "mean rows per flush window (1 s interval or a full 10,000-row "
        "batch); "
          + std::to_string(run.stats.flushed_rows) + " rows in "
          + std::to_string(run.stats.batches) + " flushes for "
          + std::to_string(updates) + " updates ("
          + std::to_string(run.stats.coalesced_writes)
          + " coalesced); queue "
            "phase took "
          + std::to_string(run.seconds) + " s"});

  auto always_updates = static_cast<size_t>(20'000 * scale());
  auto run2 = run_queue(stores::fsync_policy::always, always_updates,
                        std::min<size_t>(records, always_updates));
  emit({"writeback", "queue_update_ops_always", run2.ops_per_s, "ops/s",
        std::nullopt,
        "1 thread, " + std::to_string(always_updates)
          + " updates, journal fsync=always (fdatasync per acknowledged "
            "write)"});

  // -- flush_rows_per_s: batch transactions vs per-row autocommit
  // ---------------
  using sync_mode = stores::sqlite_options::sync_mode;
  for (auto sync : {sync_mode::normal, sync_mode::full}) {
    app::temp_dir dir{"cachebus-bench"};
    auto store = open_store(dir.file("records.db"), sync);
    size_t rows = std::max<size_t>(100, static_cast<size_t>(10'000 * scale()));
    // The per-row baseline with synchronous=full fsyncs every commit: fewer
    // rows keep it within seconds (rates are per row either way).
    size_t base_rows = sync == sync_mode::full ? rows / 10 : rows;
    std::vector<stores::record_write> batch;
    for (size_t i = 0; i < rows; ++i)
      batch.push_back(
        {"users", std::to_string(i), {{"score", "s" + std::to_string(i)}}});
    (void)store->apply(batch); // create the records: both runs update
    std::vector<double> ours, theirs;
    for (int round = 0; round < 3; ++round) {
      for (auto& w : batch)
        w.fields["score"] = "b" + std::to_string(round);
      auto t0 = steady_clock::now();
      auto res = store->apply(batch);
      std::chrono::duration<double> took = steady_clock::now() - t0;
      if (!res.ok())
        std::abort();
      ours.push_back(rows / took.count());
      t0 = steady_clock::now();
      for (size_t i = 0; i < base_rows; ++i) {
        auto w = batch[i];
        w.fields["score"] = "a" + std::to_string(round);
        if (!store->apply({w}).ok())
          std::abort();
      }
      took = steady_clock::now() - t0;
      theirs.push_back(base_rows / took.count());
    }
    bool full = sync == sync_mode::full;
    emit({"writeback", full ? "flush_rows_per_s_sync_full" : "flush_rows_per_s",
          median(ours), "rows/s", median(theirs),
          std::to_string(rows)
            + "-row batch in one transaction (the flusher's apply) vs "
            + std::to_string(base_rows)
            + " rows one transaction each; SQLite WAL, synchronous="
            + (full ? "full" : "normal (the store's default)")});
  }
}

registrar writeback_reg{"writeback",
                        "write-back: queue_update with the journal, "
                        "coalescing per flush window, batch vs per-row "
                        "SQLite writes",
                        [] { run_writeback(); }};

} // namespace

} // namespace cachebus::bench
