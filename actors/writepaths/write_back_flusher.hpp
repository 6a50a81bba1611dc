// The write-back flusher: a detached actor (its own thread, because every
// flush blocks on store I/O) that moves coalesced writes from the
// write_back_queue into the record store, one transaction per batch. It
// flushes every flush_interval, at once when nudged (the queue reached
// max_batch), and retries a failing batch with exponential backoff while the
// store is unavailable; a record the store refuses for good is dropped and
// counted (isolated by retrying the batch's records one by one). After each
// commit it calls `on_flushed` per record, then checkpoints the journal.
// Spawn it with spawn_write_back_flusher; stop it with send_exit (pending
// drain requests then get errc::stopped). It is hidden: an actor system
// destroyed while it runs aborts with a message (shutdown_guard.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/typed_actor.hpp"

#include "cachebus/actors/node/type_ids.hpp"
#include "cachebus/actors/writepaths/write_back_flusher_actor.hpp"
#include "cachebus/actors/writepaths/write_back_options.hpp"
#include "cachebus/actors/writepaths/write_back_queue.hpp"
#include "cachebus/actors/writepaths/write_back_stats.hpp"
#include "cachebus/stores/record_store.hpp"

namespace cachebus {

/// Counters the flusher updates and the facade reads without a round trip.
struct write_back_counters {
  std::atomic<uint64_t> flushed_rows{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> rejected{0};

  void set_error(std::string e);

  /// Fills the flusher members of `out`.
  void fill(write_back_stats& out) const;

 private:
  mutable std::mutex mtx_;
  std::string last_error_;
};

/// Called on the flusher's thread after the store committed the write of a
/// record (`version` > 0, its new version) or refused it for good (`version`
/// == 0). It must call queue.retire(w.resource, w.id); doing so under the
/// caller's own per-record lock lets it update caches without racing
/// readers.
using flushed_fn
  = std::function<void(const stores::record_write& w, uint64_t version)>;

struct write_back_flusher_setup {
  std::shared_ptr<write_back_queue> queue;
  std::shared_ptr<stores::record_store> store;
  std::shared_ptr<write_back_counters> counters;
  /// Retires records itself when empty.
  flushed_fn on_flushed;
  write_back_options opts;
  /// Flush once right away (the queue holds replayed writes).
  bool flush_at_start = false;
};

/// REQUIRES: setup.queue, setup.store and setup.counters are set.
write_back_flusher_actor
spawn_write_back_flusher(caf::actor_system& sys,
                         write_back_flusher_setup setup);

} // namespace cachebus
