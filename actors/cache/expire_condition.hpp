// When a new expiry may replace an entry's current one (Redis 7's EXPIRE
// NX / XX / GT / LT), decided under the shard table's lock with the move
// itself. An entry that never expires (no_expiry) has no TTL and counts as
// an infinite one: GT never holds for it, LT always does. Several flags must
// all hold (XX GT: only a TTL that exists and grows). Plain values.
#pragma once

#include <cstdint>

namespace cachebus {

struct expire_condition {
  /// Only if the entry has no expiry (EXPIRE NX).
  bool if_none = false;
  /// Only if the entry has an expiry (EXPIRE XX).
  bool if_some = false;
  /// Only if the new expiry is later than the current one (EXPIRE GT).
  bool if_later = false;
  /// Only if the new expiry is earlier than the current one (EXPIRE LT).
  bool if_earlier = false;

  /// True if an entry expiring at `current` (INT64_MAX: never) may be made
  /// to expire at `next`.
  constexpr bool holds(int64_t current, int64_t next) const noexcept {
    constexpr int64_t never = INT64_MAX;
    if (if_none && current != never)
      return false;
    if (if_some && current == never)
      return false;
    if (if_later && !(current != never && next > current))
      return false;
    if (if_earlier && !(next < current))
      return false;
    return true;
  }
};

} // namespace cachebus
