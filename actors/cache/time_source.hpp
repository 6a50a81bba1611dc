// The time source of a node. Shard tables ask it on every read whether an
// entry's expiry is still ahead, so it must be cheap: steady_clock unless a
// test switched it to manual time, in which case it returns what the test
// set. Thread-safe; one instance is shared by a node's facade and its actors.
//
// before(deadline) answers "now_ns() < deadline" without reading the precise
// clock when the deadline is far off: the vDSO reads the steady clock with an
// lfence before rdtsc, which waits for every load in flight, so on a hit
// that reads memory it made the lookup's cache misses run one after another
// (one thread, 1M keys: ~1,100 ns per hit against ~460 with a manual clock).
// The kernel's coarse monotonic clock is the same clock as of its last tick,
// read without rdtsc: never ahead of steady_clock and behind it by at most a
// tick while this thread runs (its own CPU ticks, or a housekeeping CPU keeps
// time). A deadline more than two ticks past the coarse time is therefore
// ahead of now; only a deadline within that margin reads the precise clock,
// so the answer is exact either way. If the kernel reports a coarse
// resolution above 20 ms, before() always reads the precise clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace cachebus {

class time_source {
 public:
  using duration = std::chrono::nanoseconds;

  /// Nanoseconds on the steady clock (or the manual clock), the unit in which
  /// entries store their expiry.
  int64_t now_ns() const noexcept {
    auto m = manual_ns_.load(std::memory_order_relaxed);
    if (m >= 0)
      return m;
    return std::chrono::duration_cast<duration>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  }

  /// now_ns() < deadline_ns, answered from the coarse clock when the
  /// deadline is more than coarse_margin_ns() away.
  bool before(int64_t deadline_ns) const noexcept {
    auto m = manual_ns_.load(std::memory_order_relaxed);
    if (m >= 0)
      return m < deadline_ns;
    if (margin_ns_ > 0) {
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
      auto coarse = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
      if (coarse + margin_ns_ < deadline_ns)
        return true;
    }
    return now_ns() < deadline_ns;
  }

  /// Deadlines closer than this to the coarse time read the precise clock
  /// (0: all do).
  int64_t coarse_margin_ns() const noexcept { return margin_ns_; }

  /// Switches to manual time, starting at the current steady time.
  void make_manual() noexcept {
    manual_ns_.store(std::chrono::duration_cast<duration>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count());
  }

  /// REQUIRES: make_manual() was called. Moves manual time forward.
  void advance(duration d) noexcept { manual_ns_.fetch_add(d.count()); }

  bool is_manual() const noexcept {
    return manual_ns_.load(std::memory_order_relaxed) >= 0;
  }

 private:
  static int64_t margin_of_coarse_clock() noexcept {
    timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 || res.tv_sec != 0
        || res.tv_nsec > 20'000'000)
      return 0;
    return 2 * int64_t{res.tv_nsec};
  }

  std::atomic<int64_t> manual_ns_{-1};
  const int64_t margin_ns_ = margin_of_coarse_clock();
};

} // namespace cachebus
