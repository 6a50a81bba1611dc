// The sending side's ordering of its own node's events. A node's event source
// takes a sequence number and then enqueues the event, so two threads can put
// 5 on the bus before 4; forwarded as they come, peers would see a false gap
// and then drop 4 as a duplicate. This buffer releases sequences strictly in
// order, holds early ones, and gives up on a missing one only when told to
// (skip: after a timeout, or when `capacity` events wait). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "caf/message.hpp"

namespace cachebus {

class reorder_buffer {
 public:
  enum class outcome {
    /// Released, together with any held successors.
    released,
    /// Held until the sequences before it arrive or are skipped.
    held,
    /// Below the next sequence to release (a repeat): dropped.
    stale,
  };

  /// REQUIRES: first >= 1 and capacity >= 1.
  explicit reorder_buffer(uint64_t first = 1, size_t capacity = 4096)
      : next_(first), capacity_(capacity) {
    // nop
  }

  /// Accepts event `seq` and appends every event now releasable, in sequence
  /// order, to `out`. When more than `capacity` events are held, it skips
  /// the hole before the oldest one. REQUIRES: seq >= 1.
  outcome push(uint64_t seq, caf::message msg, std::vector<caf::message>& out);

  /// Gives up on the missing sequences before the oldest held event and
  /// releases the run that starts there. Returns how many sequences were
  /// given up on (0 if nothing is held).
  uint64_t skip(std::vector<caf::message>& out);

  /// The next sequence to release; everything below it was released or
  /// skipped.
  uint64_t next() const noexcept { return next_; }

  /// True if events wait for a missing sequence.
  bool holding() const noexcept { return !held_.empty(); }

  size_t held() const noexcept { return held_.size(); }

 private:
  void release_run(std::vector<caf::message>& out);

  uint64_t next_;
  size_t capacity_;
  std::map<uint64_t, caf::message> held_;
};

} // namespace cachebus
