// The write-back queue: queued writes coalesced per record, in front of the
// journal that makes them durable. Thread-safe (one mutex; the journal append
// happens under it, so journal order is coalescing order). Callers push from
// any thread; the flusher takes batches, and retires records once the store
// has them. Owns the journal.
//
// A record is either pending (queued, not yet taken), in flight (taken by the
// flush that is running or being retried), or both (written again while its
// flush runs: the new fields wait for the next batch, so per record the store
// sees writes in order). The low-water mark is the smallest seq not known to
// be in the store: replay starts there.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/writepaths/write_back_stats.hpp"
#include "cachebus/stores/journal.hpp"
#include "cachebus/stores/record.hpp"

namespace cachebus {

class write_back_queue {
 public:
  /// REQUIRES: j != nullptr, max_records > 0
  write_back_queue(std::unique_ptr<stores::journal> j, size_t max_records);

  write_back_queue(const write_back_queue&) = delete;
  write_back_queue& operator=(const write_back_queue&) = delete;

  // -- producers (any thread) -------------------------------------------------

  /// Queues entries replayed from the journal (already journaled), in seq
  /// order. May exceed max_records; pushes then see backpressure until the
  /// flusher catches up.
  void restore(std::vector<stores::journal_entry> entries);

  struct pushed {
    stores::journal_ticket ticket;
    /// Pending records after the push.
    size_t pending = 0;
    /// True if the write merged into a record already pending.
    bool coalesced = false;
  };

  /// Appends `w` to the journal and merges its fields into the record's
  /// pending entry (last write wins per field). Fails with backpressure,
  /// changing nothing, if the record is not queued and max_records records
  /// are; with journal_error if the append failed.
  /// REQUIRES: `w` was validated (the store will accept it).
  caf::expected<pushed> push(const stores::record_write& w);

  /// Waits until a new record would fit or `deadline` passes; returns
  /// whether there is room.
  bool wait_for_room(std::chrono::steady_clock::time_point deadline);

  /// Returns once the push of `t` is durable by the journal's policy.
  caf::error wait_durable(const stores::journal_ticket& t);

  /// The fields queued or in flight for (resource, id), in-flight fields
  /// overwritten by pending ones; nullopt if none.
  std::optional<stores::field_map> unflushed(const std::string& resource,
                                             const std::string& id) const;

  // -- the flusher (one thread) -----------------------------------------------

  /// Moves up to `max` pending records, oldest first, into flight and
  /// returns them, one coalesced write per record.
  /// REQUIRES: nothing in flight
  std::vector<stores::record_write> take(size_t max);

  /// The store has the in-flight write of (resource, id): it leaves the
  /// queue. Wakes callers waiting for room.
  void retire(const std::string& resource, const std::string& id);

  /// Writes a checkpoint at the low-water mark; empties the journal if
  /// nothing is queued, or rewrites it with only the unflushed writes once it
  /// is larger than `compact_bytes`.
  caf::error checkpoint(size_t compact_bytes);

  // -- introspection ----------------------------------------------------------

  /// The seq the next push gets; every push before it has a smaller one.
  uint64_t next_seq() const;

  /// Smallest seq not known to be in the store.
  uint64_t low_water() const;

  size_t pending() const;

  size_t in_flight() const;

  /// Fills the queue and journal members of `out`.
  void stats(write_back_stats& out) const;

  /// Counts one write that met a full queue (refused or made to wait).
  void count_backpressure();

 private:
  struct entry {
    stores::record_write write;
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    std::chrono::steady_clock::time_point since;
  };

  using entry_map = std::unordered_map<std::string, entry>;

  static std::string key_of(const std::string& resource, const std::string& id);

  // REQUIRES: mtx_ held
  void merge_locked(const stores::record_write& w, uint64_t seq,
                    std::chrono::steady_clock::time_point now, bool& coalesced);
  uint64_t low_water_locked() const;

  const size_t max_records_;
  std::unique_ptr<stores::journal> journal_;
  mutable std::mutex mtx_;
  std::condition_variable room_cv_;
  entry_map pending_;
  std::map<uint64_t, std::string> pending_order_; // first_seq -> key
  entry_map in_flight_;
  uint64_t queued_writes_ = 0;
  uint64_t coalesced_writes_ = 0;
  uint64_t backpressured_ = 0;
  uint64_t replayed_ = 0;
};

} // namespace cachebus
