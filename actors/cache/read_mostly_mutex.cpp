#include "cachebus/actors/cache/read_mostly_mutex.hpp"

#include <thread>

namespace cachebus {

namespace {

// Spins briefly, then yields: a lock holder may be descheduled (more threads
// than cores), and spinning against it would only burn its time slice.
class backoff {
 public:
  void pause() {
    if (++spins_ < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
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
// order the writer's section before the reader's.

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
  for (;;) {
    s.readers.fetch_add(1, std::memory_order_seq_cst);
    if (!writer_.load(std::memory_order_seq_cst))
      return;
    // A writer holds or wants the lock: step back and wait it out.
    s.readers.fetch_sub(1, std::memory_order_release);
    backoff b;
    while (writer_.load(std::memory_order_acquire))
      b.pause();
  }
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
