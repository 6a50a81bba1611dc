#include "cachebus/actors/cache/read_mostly_mutex.hpp"

#include <chrono>
#include <thread>

namespace cachebus {

namespace {

// A spin-wait hint to the CPU (no-op elsewhere).
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long a reader that met a writer spins before it queues on the
// writers' mutex. A write holds the lock for a microsecond or so, a batch
// of a sweep or a pattern invalidation for a few; sleeping on the mutex
// costs a futex wake-up, 10-20 us on this machine kind. cachebus-bench
// hit_latency, reader p99 under pattern invalidations: 19-27 us when the
// reader slept after ~100 pauses (2-3 us), 7-9 us with 30 us of spinning.
constexpr auto short_wait = std::chrono::microseconds(30);
// Pauses between two reads of the clock while spinning.
constexpr int pauses_per_clock_read = 16;

// Spins briefly, then yields: a lock holder may be descheduled (more threads
// than cores), and spinning against it would only burn its time slice.
class backoff {
 public:
  void pause() {
    if (++spins_ < 64) {
      cpu_pause();
      return;
    }
    std::this_thread::yield();
  }

 private:
  int spins_ = 0;
};

std::atomic<size_t> next_slot{0};

} // namespace

size_t this_thread_slot() noexcept {
  thread_local const size_t slot
    = next_slot.fetch_add(1, std::memory_order_relaxed) % read_slots;
  return slot;
}

// Why this is a lock: a reader increments its slot, then reads the flag; a
// writer raises the flag, then reads every slot. All four are sequentially
// consistent, so in their single total order either the reader's increment
// precedes the writer's scan (the writer waits for it) or the writer's flag
// precedes the reader's check (the reader steps back). The reader's release
// decrement and the writer's acquire scan order the reader's section before
// the writer's; the writer's release of the flag and the reader's load of it
// order the writer's section before the reader's (on the slow path, the
// writers' mutex does: the writer unlocks it after lowering its flag).

void read_mostly_mutex::lock() {
  writers_.lock();
  writer_.store(true, std::memory_order_seq_cst);
  drain_readers();
}

bool read_mostly_mutex::try_lock() {
  if (!writers_.try_lock())
    return false;
  writer_.store(true, std::memory_order_seq_cst);
  for (auto& s : slots_)
    if (s.readers.load(std::memory_order_seq_cst) != 0) {
      writer_.store(false, std::memory_order_release);
      writers_.unlock();
      return false;
    }
  return true;
}

void read_mostly_mutex::unlock() {
  writer_.store(false, std::memory_order_release);
  writers_.unlock();
}

void read_mostly_mutex::drain_readers() {
  for (auto& s : slots_) {
    backoff b;
    while (s.readers.load(std::memory_order_seq_cst) != 0)
      b.pause();
  }
}

void read_mostly_mutex::lock_shared() {
  auto& s = slots_[this_thread_slot()];
  s.readers.fetch_add(1, std::memory_order_seq_cst);
  if (!writer_.load(std::memory_order_seq_cst))
    return;
  // A writer holds or wants the lock: step back, and queue for the writers'
  // mutex behind it. Holding that mutex, no writer is between raising and
  // lowering its flag, so announcing ourselves then is safe, and a writer
  // that comes next waits for us. A reader thus waits for at most the
  // writers ahead of it in that mutex's queue, never for an endless stream
  // of writers re-raising the flag.
  s.readers.fetch_sub(1, std::memory_order_release);
  // Writers hold the lock for microseconds: spin on the flag first (up to
  // short_wait), since sleeping on the mutex costs a futex round trip.
  auto until = std::chrono::steady_clock::now() + short_wait;
  for (int i = 1;; ++i) {
    if (i % pauses_per_clock_read == 0
        && std::chrono::steady_clock::now() >= until)
      break;
    cpu_pause();
    if (writer_.load(std::memory_order_relaxed))
      continue;
    s.readers.fetch_add(1, std::memory_order_seq_cst);
    if (!writer_.load(std::memory_order_seq_cst))
      return;
    s.readers.fetch_sub(1, std::memory_order_release);
  }
  std::lock_guard<std::mutex> queued{writers_};
  s.readers.fetch_add(1, std::memory_order_seq_cst);
}

bool read_mostly_mutex::try_lock_shared() {
  auto& s = slots_[this_thread_slot()];
  s.readers.fetch_add(1, std::memory_order_seq_cst);
  if (!writer_.load(std::memory_order_seq_cst))
    return true;
  s.readers.fetch_sub(1, std::memory_order_release);
  return false;
}

void read_mostly_mutex::unlock_shared() {
  slots_[this_thread_slot()].readers.fetch_sub(1, std::memory_order_release);
}

} // namespace cachebus
