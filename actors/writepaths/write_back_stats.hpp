// What the write-back flusher reports: queue depth and lag, what it wrote,
// how often it retried, the journal's size and what its replay found at
// start (torn tail, skipped damage). A plain value (a snapshot),
// registered as a message type so actors can ask the flusher for it.
#pragma once

#include <cstdint>
#include <string>

#include "caf/meta/type_name.hpp"
#include "caf/timestamp.hpp"

namespace cachebus {

struct write_back_stats {
  /// Records queued and not yet taken by a flush (after coalescing).
  uint64_t queue_depth = 0;
  /// Records in the flush that is running or waiting for a retry.
  uint64_t in_flight = 0;
  /// Age of the oldest write not yet in the store (0 if none): the lag.
  caf::timespan oldest_age{0};
  /// Writes accepted by queue_update, and writes that coalesced into a
  /// record already queued.
  uint64_t queued_writes = 0;
  uint64_t coalesced_writes = 0;
  /// Rows (records) written to the store, and transactions that wrote them.
  uint64_t flushed_rows = 0;
  uint64_t batches = 0;
  /// Failed flush attempts that were retried (store unavailable or conflict).
  uint64_t retries = 0;
  /// Records the store refused for good (not retryable); see last_error.
  uint64_t rejected = 0;
  /// Writes refused or delayed because the queue was full.
  uint64_t backpressured = 0;
  /// Writes replayed from the journal at start.
  uint64_t replayed = 0;
  /// Current journal size in bytes and fdatasync calls so far.
  uint64_t journal_bytes = 0;
  uint64_t journal_syncs = 0;
  /// What the journal's replay found at start: bytes of a torn tail cut off
  /// (normal after a crash), bytes of damage before the tail that were
  /// skipped, how many seqs those damaged regions span (writes that may be
  /// lost), and a sentence naming the offsets, seq ranges and the copy of the
  /// damaged file ("" if the journal was healthy).
  uint64_t journal_torn_bytes = 0;
  uint64_t journal_skipped_bytes = 0;
  uint64_t journal_missing_seqs = 0;
  std::string journal_damage;
  /// The most recent store error the flusher saw ("" if none).
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_back_stats& x) {
  return f(caf::meta::type_name("cachebus::write_back_stats"), x.queue_depth,
           x.in_flight, x.oldest_age, x.queued_writes, x.coalesced_writes,
           x.flushed_rows, x.batches, x.retries, x.rejected, x.backpressured,
           x.replayed, x.journal_bytes, x.journal_syncs, x.journal_torn_bytes,
           x.journal_skipped_bytes, x.journal_missing_seqs, x.journal_damage,
           x.last_error);
}

} // namespace cachebus
