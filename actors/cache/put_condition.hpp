// A write that depends on what its key holds, decided under the shard
// table's lock so that no other write of the key lands between the check and
// the write (Redis's SET NX / XX / GET / KEEPTTL): put only if the key has no
// live entry, or only if it has one; keep that entry's expiry instead of
// setting a new one; report the value it replaced. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cachebus {

struct put_condition {
  enum class when : uint8_t {
    always,     // write whatever the key holds
    if_absent,  // only if the key has no live entry (SET NX)
    if_present, // only if the key has a live entry (SET XX)
  };
  when only = when::always;
  /// With a live entry, keep its expiry (SET KEEPTTL); without one, the
  /// write's own TTL applies.
  bool keep_ttl = false;
  /// Report the live entry's value (SET GET).
  bool want_old = false;
};

/// What a conditional put did.
struct put_outcome {
  /// The value was written.
  bool written = false;
  /// The version the written entry got (0 if nothing was written).
  uint64_t version = 0;
  /// The live entry's value before the call, if asked for and there was
  /// one (whether or not the write happened).
  std::optional<std::string> old;
};

} // namespace cachebus
