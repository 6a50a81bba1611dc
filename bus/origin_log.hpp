// The bounded log of the events this node originated, kept by its bridge so
// that a peer that missed some can fetch them again (replay instead of drop;
// bridge.hpp). Indexed by sequence, stamped with the bridge's incarnation:
// a restarted node has a new incarnation and an empty log, and says so. The
// bridge appends each own event when it forwards it, in sequence order; a
// sequence the reorder buffer gave up on is a hole (never sent, never
// replayable). The oldest events go first once more than `max_events` are
// held or they take more than `max_bytes` (event_bytes()); what is gone is
// gone: a request reaching below first() is answered `trimmed`. A read copies
// at most a batch (by count and bytes, at least one event), so an answer
// stays well below a frame's limit. A value; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "caf/message.hpp"

#include "cachebus/bus/bridge_protocol.hpp"

namespace cachebus {

/// The bounds of an origin_log.
struct origin_log_limits {
  /// Most events held (holes count). REQUIRES: >= 1.
  size_t max_events = 65536;
  /// Most bytes held, as event_bytes() counts them. REQUIRES: >= 1.
  size_t max_bytes = size_t{16} << 20;
};

class origin_log {
 public:
  using limits = origin_log_limits;

  /// An empty log of the bridge lifetime `incarnation` whose first event
  /// will be `first`. REQUIRES: first >= 1.
  origin_log(uint64_t incarnation = 0, limits lim = {}, uint64_t first = 1);

  /// Appends own event `seq` of `bytes` (its event_bytes()); sequences
  /// between next() and `seq` become holes. Trims the oldest events while
  /// over the limits. An event below next() (a repeat) is ignored.
  /// REQUIRES: seq >= 1.
  void append(uint64_t seq, caf::message ev, size_t bytes);

  /// Answers a peer's request for [from, to] of `incarnation` with at most
  /// `max_events` events of at most `max_bytes` together (but at least one):
  /// status ok and events from..from+n-1 (n >= 1); or why not, and no
  /// events: other_incarnation, trimmed (from is below first(), or a hole
  /// lies in the batch), or refused (from > to, from == 0, or to >= next():
  /// asks for what was never sent). REQUIRES: max_events >= 1.
  replay_batch read(uint64_t incarnation, uint64_t from, uint64_t to,
                    size_t max_events, size_t max_bytes) const;

  uint64_t incarnation() const noexcept { return incarnation_; }

  /// The oldest sequence held (== next() when empty).
  uint64_t first() const noexcept { return first_; }

  /// The sequence the next append continues at.
  uint64_t next() const noexcept { return first_ + slots_.size(); }

  /// Events and holes held.
  size_t size() const noexcept { return slots_.size(); }

  size_t bytes() const noexcept { return bytes_; }

  /// Events dropped so far by the limits (not holes).
  uint64_t trimmed() const noexcept { return trimmed_; }

 private:
  struct slot {
    caf::message ev; // empty: a hole
    size_t bytes = 0;
  };

  void trim();

  uint64_t incarnation_;
  limits lim_;
  uint64_t first_;
  std::deque<slot> slots_;
  size_t bytes_ = 0;
  uint64_t trimmed_ = 0;
};

} // namespace cachebus
