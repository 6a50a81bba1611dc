// The receiving bridge's position in one peer's events and its decisions on
// the ones it missed (replay instead of drop; bridge.hpp). `delivered` is the
// last sequence published on the local bus in order; `target` the last one
// the peer is known to have sent (live events, heartbeats, handshakes). While
// delivered < target some are missing: live events are not published but
// fetched from the peer's log (origin_log.hpp) with everything before them,
// one request in flight at a time, so the local bus sees the peer's events
// strictly in order. The cursor says when a replay starts (publish
// `replaying`) and ends (`replayed`), and why it must give up and drop the
// cache instead (drop_cause): the range was trimmed, the peer restarted, its
// answer was malformed, the session ended or the caller's timeout fired.
// A replay answer is checked before anything of it is used: its status, its
// incarnation, that it starts where asked, holds 1 to the asked-for number
// of events, each a known event kind of that origin with the expected
// sequence on a valid topic. The sequence tracker (sequence_tracker.hpp)
// still drops duplicates first. A value; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cachebus/bus/bridge_protocol.hpp"
#include "cachebus/bus/event_route.hpp"
#include "cachebus/bus/peer_event.hpp"

namespace cachebus {

class replay_cursor {
 public:
  replay_cursor() = default;

  // -- sessions ---------------------------------------------------------------

  /// A session with the peer of lifetime `incarnation` begins; it delivers
  /// its events after `resumes_after`. Returns what the cache must drop:
  /// history (a first session after some of its events; they are not
  /// replayed), new_incarnation (it restarted: its old life's missing
  /// events are gone), malformed (the same life announced a position below
  /// what arrived), or none (then whatever lies between delivered() and
  /// resumes_after is pending). A dropping start gives up what was pending.
  /// REQUIRES: incarnation != 0.
  drop_cause begin_session(uint64_t incarnation, uint64_t resumes_after);

  /// The session ended. If a replay was pending it is given up (returns
  /// lost): the node cannot wait for a partition to heal.
  drop_cause end_session();

  // -- what arrives live ------------------------------------------------------

  /// A live event `seq` the tracker did not call a duplicate. Returns true
  /// if it is to be published now (it is the next one and nothing is
  /// pending); else it becomes part of what the replay fetches.
  /// REQUIRES: seq >= 1.
  bool live(uint64_t seq);

  /// The peer says it sent every sequence up to `last` (a heartbeat, a
  /// repeated handshake).
  void sent_up_to(uint64_t last);

  // -- the replay -------------------------------------------------------------

  /// True while some events are missing.
  bool pending() const noexcept { return delivered_ < target_; }

  /// True between start() and finish() or give_up().
  bool active() const noexcept { return active_; }

  /// Marks a pending replay active; returns true if it just became so
  /// (publish `replaying`, arm the timeout of run()).
  bool start();

  /// The request to send now, if one is due: pending and none in flight
  /// (then it is in flight from here on). Asks for (delivered, target].
  std::optional<replay_request> next_request();

  /// Checks `b`, the answer to the request in flight of a peer called
  /// `origin`. If it is usable returns none, moves delivered() past its
  /// events and appends their routes to `routes` (in order); else returns
  /// why not (trimmed, new_incarnation or malformed) and gives up.
  drop_cause accept(const replay_batch& b, const std::string& origin,
                    std::vector<event_route>& routes);

  /// Ends an active replay that has nothing pending and nothing in flight;
  /// returns true if it did (publish `replayed`).
  bool finish();

  /// Gives up what is pending (the caller drops the cache): delivered
  /// catches up with target, nothing in flight, not active.
  void give_up();

  // -- properties -------------------------------------------------------------

  uint64_t delivered() const noexcept { return delivered_; }
  uint64_t target() const noexcept { return target_; }
  uint64_t incarnation() const noexcept { return incarnation_; }
  bool in_flight() const noexcept { return in_flight_.has_value(); }

  /// Identifies the request in flight: an answer or a failure carrying an
  /// older number is stale and ignored.
  uint64_t attempt() const noexcept { return attempt_; }

  /// Identifies the current replay: a timeout carrying an older number is
  /// stale and ignored.
  uint64_t run() const noexcept { return run_; }

  /// Counts sessions begun: a timer of a loss carrying an older number is
  /// stale (the peer came back meanwhile).
  uint64_t sessions() const noexcept { return sessions_; }

 private:
  uint64_t incarnation_ = 0;
  uint64_t delivered_ = 0;
  uint64_t target_ = 0;
  bool active_ = false;
  std::optional<replay_request> in_flight_;
  uint64_t attempt_ = 0;
  uint64_t run_ = 0;
  uint64_t sessions_ = 0;
};

} // namespace cachebus
