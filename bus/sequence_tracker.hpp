// The receiving side's view of one peer's event sequence within one session:
// which sequence it expects next, so that a duplicate (at or below the last
// delivered) is dropped and a jump ahead is reported as a gap. A session
// starts at the position the peer announces (reset); a new session or a new
// incarnation of the peer starts a new position. Not thread-safe; a value.
#pragma once

#include <cstdint>

namespace cachebus {

class sequence_tracker {
 public:
  enum class verdict {
    /// The next expected sequence: deliver.
    in_order,
    /// Already delivered (or announced as skipped): drop.
    duplicate,
    /// Beyond the next expected one: deliver, but sequences in between are
    /// missing for good.
    gap,
  };

  sequence_tracker() noexcept = default;

  /// REQUIRES: next >= 1.
  explicit sequence_tracker(uint64_t next) noexcept : next_(next) {
    // nop
  }

  /// Starts a session: `next` is the first sequence the peer will send.
  void reset(uint64_t next) noexcept { next_ = next; }

  /// Classifies `seq` and, unless it is a duplicate, moves past it.
  /// REQUIRES: seq >= 1 (0 marks an unsequenced event, never tracked).
  verdict observe(uint64_t seq) noexcept {
    if (seq < next_)
      return verdict::duplicate;
    auto result = seq == next_ ? verdict::in_order : verdict::gap;
    next_ = seq + 1;
    return result;
  }

  /// The peer says it sent every sequence below `next` (a heartbeat). Returns
  /// true if some of them never arrived; then they are given up on.
  bool sent_up_to(uint64_t next) noexcept {
    if (next <= next_)
      return false;
    next_ = next;
    return true;
  }

  /// The next sequence expected.
  uint64_t next() const noexcept { return next_; }

  /// The last sequence delivered or given up on (0 if none).
  uint64_t last() const noexcept { return next_ - 1; }

 private:
  uint64_t next_ = 1;
};

} // namespace cachebus
