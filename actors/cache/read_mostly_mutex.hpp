// A reader-writer mutex for read-mostly data whose readers write no cache
// line that another reader thread writes. std::shared_mutex counts readers
// in one word, so two threads that only read still bounce that line between
// their cores on every lock and unlock: on two cores a cache hit cost twice
// as much from two threads as from one. Here each reader announces itself in
// its own slot (one cache line of kSlots, picked once per thread by
// this_thread_slot()), and a writer raises a flag, then waits until every
// slot is empty.
//
// Contract:
// - Meets the standard SharedMutex requirements that std::unique_lock and
//   std::shared_lock use: lock/unlock, lock_shared/unlock_shared (and the
//   try_ forms). A shared lock is released on the thread that took it.
// - Fair both ways: a reader that meets the flag steps back and queues on
//   the writers' mutex, so readers cannot starve a writer (they stop
//   entering once its flag is up), and a stream of writers cannot starve a
//   reader (it enters after the writers queued before it, not only when no
//   writer wants the lock).
// - Not recursive in either mode, and a reader must not take the write lock:
//   a thread that takes the shared lock twice can deadlock with a waiting
//   writer (as with any writer-preferring lock).
// - Cost: a shared lock is one uncontended read-modify-write on the thread's
//   own slot plus a load of the writer flag; a write lock scans kSlots lines.
//   Threads beyond kSlots share slots (correct, just contended again).
// - Memory: (kSlots + 2) cache lines per mutex.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace cachebus {

/// The number of per-thread slots of read_mostly_mutex and of the counters
/// that use the same slot (shard_table's hit and miss counts).
inline constexpr size_t read_slots = 16;

/// This thread's slot in [0, read_slots): threads get consecutive slots in
/// the order they first ask, so up to read_slots threads never share one.
size_t this_thread_slot() noexcept;

class read_mostly_mutex {
 public:
  read_mostly_mutex() = default;
  read_mostly_mutex(const read_mostly_mutex&) = delete;
  read_mostly_mutex& operator=(const read_mostly_mutex&) = delete;

  void lock();
  bool try_lock();
  void unlock();

  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

 private:
  struct alignas(64) slot {
    std::atomic<uint32_t> readers{0};
  };

  // Waits until no reader holds the lock. REQUIRES: writer_ raised.
  void drain_readers();

  std::array<slot, read_slots> slots_;
  alignas(64) std::atomic<bool> writer_{false};
  alignas(64) std::mutex writers_;
};

} // namespace cachebus
