// The SCAN cursors of one connection. A Redis cursor is an opaque number;
// ours names a saved position (shard index, last key visited) in a small
// per-connection map, because a position inside an ordered index that keys
// are inserted into and removed from is a key, not an offset: resuming after
// the last key visited returns every key that stays for the whole scan
// exactly once. The map keeps the max_cursors newest positions; an older
// or foreign cursor is unknown (SCAN answers "ERR invalid cursor"), so a
// client may run that many scans at once on one connection, and a
// connection holds at most max_cursors keys for them. Cursor 0 starts and
// ends a scan, as in Redis. Not thread-safe (one per session).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace cachebus {

class resp_scan_cursors {
 public:
  struct position {
    size_t shard = 0;
    /// The last key visited in that shard; empty: from its first key.
    std::string after;
  };

  static constexpr size_t max_cursors = 128;

  /// Saves `pos` and returns its cursor (never 0); forgets the oldest saved
  /// position if max_cursors are saved.
  uint64_t save(position pos) {
    if (saved_.size() == max_cursors)
      saved_.pop_front();
    saved_.emplace_back(++last_, std::move(pos));
    return last_;
  }

  /// The position of `cursor`, if it is one of the saved ones. It stays
  /// saved: a client may repeat a SCAN call.
  std::optional<position> find(uint64_t cursor) const {
    for (auto& [c, pos] : saved_)
      if (c == cursor)
        return pos;
    return std::nullopt;
  }

  size_t size() const noexcept { return saved_.size(); }

 private:
  uint64_t last_ = 0;
  std::deque<std::pair<uint64_t, position>> saved_;
};

} // namespace cachebus
