// The time source of a node. Shard tables ask it for "now" on every read to
// decide expiry, so it must be cheap: steady_clock unless a test switched it to
// manual time, in which case it returns what the test set. Thread-safe; one
// instance is shared by a node's facade and its actors.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

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
  std::atomic<int64_t> manual_ns_{-1};
};

} // namespace cachebus
