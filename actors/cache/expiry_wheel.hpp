// The expiry wheel of one shard table: every entry whose memory must go at
// some instant (its expiry plus any grace window) sits in the bucket of that
// instant, one bucket per tick (the sweep interval). Bucket T holds the
// instants in [(T-1)*tick, T*tick) and is due once that whole span lies in
// the past, so an entry is swept at most two ticks after it may go. Entries
// that never go (no_expiry) sit in no bucket. The sweeper takes due entries
// one at a time (due()), so it can stop after any budget and a reader waits
// for at most one small batch.
//
// Intrusive: an entry derives from expiry_wheel::hook; the entries of a bucket
// form a doubly linked list through their hooks, and the wheel keeps only the
// buckets that hold entries (tick -> first entry). Invariants: a hook with
// tick >= 0 is in the list of bucket `tick`, a hook with tick -1 is in none;
// no bucket is empty. Complexity: schedule() and unschedule() of a bucket's
// first entry O(log b), b being the number of non-empty buckets; any other
// unschedule() and due() O(1).
//
// NOT thread-safe on its own: every operation REQUIRES the owning shard_table's
// exclusive lock, except the const ones (tick_of, due, buckets), which REQUIRE
// at least its shared lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

namespace cachebus {

class expiry_wheel {
 public:
  /// The wheel's links inside an entry.
  struct hook {
    hook* x_prev = nullptr;
    hook* x_next = nullptr;
    int64_t tick = -1; // its bucket; -1: not scheduled
  };

  /// REQUIRES: tick_ns > 0
  explicit expiry_wheel(int64_t tick_ns) : tick_ns_(tick_ns) {
    // nop
  }

  expiry_wheel(const expiry_wheel&) = delete;
  expiry_wheel& operator=(const expiry_wheel&) = delete;

  /// The bucket of instant `at_ns`, or -1 ("no bucket") for no_expiry.
  int64_t tick_of(int64_t at_ns) const noexcept;

  /// Files `h` in the bucket of `at_ns` (nothing for no_expiry).
  /// REQUIRES: `h` is not scheduled.
  void schedule(hook& h, int64_t at_ns);

  /// Takes `h` out of its bucket, if any; drops the bucket when it empties.
  void unschedule(hook& h) noexcept;

  /// Puts `now` where `old` is (same bucket, same place) and leaves `old`
  /// unscheduled: an entry that moved to a new allocation keeps its
  /// schedule. REQUIRES: `now` is not scheduled.
  void replace(hook& old, hook& now) noexcept;

  /// Moves `h` to the bucket of `at_ns`. Most rewrites land in the bucket the
  /// entry is in already: then it keeps its place.
  void reschedule(hook& h, int64_t at_ns);

  /// An entry of the earliest bucket if that bucket is due at `now_ns`, else
  /// null. The caller removes it (which unschedule()s it) before asking again.
  hook* due(int64_t now_ns) const noexcept;

  /// Number of non-empty buckets.
  size_t buckets() const noexcept { return buckets_.size(); }

 private:
  int64_t tick_ns_;
  std::map<int64_t, hook*> buckets_; // tick -> first entry of its list
};

} // namespace cachebus
