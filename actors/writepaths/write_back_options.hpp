// The settings of the write paths (write-through, write-back flusher and its
// journal), all under `cachebus.write-back.` in CAF's configuration system.
// `from` reads and validates them; `validate` decides what is allowed.
// Plain values, freely copyable.
//
//   option                                type      default
//   cachebus.write-back.journal           string    ""  (write-back off)
//   cachebus.write-back.fsync             string    "always" | batch | never
//   cachebus.write-back.fsync-interval    timespan  10ms  (batch: max delay)
//   cachebus.write-back.fsync-records     size_t    512   (batch: max unsynced)
//   cachebus.write-back.flush-interval    timespan  1s
//   cachebus.write-back.max-batch         size_t    10000 records/transaction
//   cachebus.write-back.max-queue         size_t    100000 queued records
//   cachebus.write-back.backpressure      string    "error" | wait
//   cachebus.write-back.backpressure-timeout timespan 1s (wait: bound)
//   cachebus.write-back.retry-min         timespan  50ms
//   cachebus.write-back.retry-max         timespan  5s
//   cachebus.write-back.compact-bytes     size_t    67108864 (64 MiB)
//   cachebus.write-back.shutdown-timeout  timespan  10s
#pragma once

#include <cstddef>
#include <string>

#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/timestamp.hpp"

#include "cachebus/stores/journal.hpp"

namespace cachebus {

enum class backpressure_mode : uint8_t {
  /// A full queue refuses the write at once with errc::backpressure.
  error,
  /// A full queue makes the caller wait up to backpressure_timeout for room,
  /// then refuses with errc::backpressure.
  wait,
};

struct write_back_options {
  /// Path of the journal file. Empty: write-back is off and queue_update
  /// fails with invalid_config (write-through and load still work).
  std::string journal;
  /// When appends reach the disk (see stores::fsync_policy).
  stores::fsync_policy fsync = stores::fsync_policy::always;
  caf::timespan fsync_interval = std::chrono::milliseconds(10);
  size_t fsync_records = 512;
  /// A flush starts every flush_interval, or as soon as max_batch records
  /// are queued; one flush writes at most max_batch records in one
  /// transaction.
  caf::timespan flush_interval = std::chrono::seconds(1);
  size_t max_batch = 10'000;
  /// Most distinct records queued or in flight. Writes to a record already
  /// queued coalesce and are always accepted.
  size_t max_queue = 100'000;
  backpressure_mode backpressure = backpressure_mode::error;
  caf::timespan backpressure_timeout = std::chrono::seconds(1);
  /// Backoff between retries while the store fails: starts at retry_min,
  /// doubles per failure, capped at retry_max.
  caf::timespan retry_min = std::chrono::milliseconds(50);
  caf::timespan retry_max = std::chrono::seconds(5);
  /// The journal is rewritten with only its unflushed writes once it grows
  /// past this many bytes (it is emptied whenever everything is flushed).
  size_t compact_bytes = size_t{64} << 20;
  /// How long stop() waits for the final flush; what it can't flush stays in
  /// the journal for the next start.
  caf::timespan shutdown_timeout = std::chrono::seconds(10);

  /// Returns an invalid_config error naming the first bad setting.
  caf::error validate() const;

  /// Reads `cachebus.write-back.*` (defaults for missing keys), validates.
  static caf::expected<write_back_options>
  from(const caf::actor_system_config& cfg);
};

} // namespace cachebus
