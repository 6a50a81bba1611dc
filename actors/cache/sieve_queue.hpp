// The SIEVE eviction queue of one shard table (Zhang et al., NSDI 2024; the
// shape of CacheLib's MMSieve): a FIFO of entries, newest at the head, plus one
// "visited" bit per entry and a hand that walks from old to new. A hit only
// sets the bit, so reads never reorder the queue (unlike LRU); on skewed
// workloads SIEVE also keeps more of the hot set (see the `hit` bench
// scenario, eviction_hit_ratio against LRU). victim() walks the hand toward
// the head, clearing the bits it passes, and picks the first entry whose bit
// is clear; at the head it wraps around to the tail.
//
// Intrusive: an entry derives from sieve_queue::hook and the queue links those
// hooks; it owns nothing and allocates nothing. Invariants: every pushed hook
// is in the list exactly once until unlinked; the hand is null or a linked
// hook. Complexity: push(), unlink() and replace() O(1); victim() O(1)
// amortized (each step clears a bit that a hit set), O(n) at worst.
//
// NOT thread-safe on its own: every operation REQUIRES the owning shard_table's
// exclusive lock, except mark_visited(), which REQUIRES only its shared lock
// (a relaxed atomic store; concurrent readers may race on the bit harmlessly).
#pragma once

#include <atomic>

namespace cachebus {

class sieve_queue {
 public:
  /// The queue's links inside an entry.
  struct hook {
    hook* newer = nullptr; // toward the head
    hook* older = nullptr; // toward the tail
    mutable std::atomic<bool> visited{false};
  };

  sieve_queue() = default;
  sieve_queue(const sieve_queue&) = delete;
  sieve_queue& operator=(const sieve_queue&) = delete;

  /// A read hit `h`. REQUIRES: the shared lock (or the exclusive one).
  static void mark_visited(const hook& h) noexcept {
    // Avoid dirtying the cache line when the bit is already set.
    if (!h.visited.load(std::memory_order_relaxed))
      h.visited.store(true, std::memory_order_relaxed);
  }

  /// A write replaced the value of `h`; it counts as a use.
  static void mark_written(hook& h) noexcept {
    h.visited.store(true, std::memory_order_relaxed);
  }

  /// Appends `h` at the head (newest). REQUIRES: `h` is not linked.
  void push(hook& h) noexcept;

  /// Takes `h` out of the queue; moves the hand past it if it points at it.
  /// REQUIRES: `h` is linked.
  void unlink(hook& h) noexcept;

  /// Puts `now` where `old` is (same place, same visited bit) and leaves
  /// `old` unlinked: an entry that moved to a new allocation keeps its place
  /// in the eviction order. REQUIRES: `old` is linked, `now` is not.
  void replace(hook& old, hook& now) noexcept;

  /// Returns the entry SIEVE evicts next and leaves the hand just past it
  /// (toward the head). Clears the visited bits it passes. Does not unlink:
  /// the caller removes the entry, which unlink()s it.
  /// REQUIRES: !empty().
  hook& victim() noexcept;

  bool empty() const noexcept { return tail_ == nullptr; }

 private:
  hook* head_ = nullptr; // newest
  hook* tail_ = nullptr; // oldest
  hook* hand_ = nullptr; // next to look at; null: start at the tail
};

} // namespace cachebus
