// What the bridge (bridge.hpp) tells its own node about a peer, published on
// peers_topic of the local bus and never sent to other nodes. The receiver of
// cache events (the invalidation listener) subscribes to it to apply the
// partition rule. The bridge decides; the receiver obeys two fields:
// - `drop` (not none): some of that peer's events never arrive; drop every
//   entry its invalidations could have made stale, and every fill in flight.
// - `replaying` .. `replayed`: some of its events are missing and are being
//   fetched from its log (origin_log.hpp); in between, serve nothing they
//   could make stale. A failed replay ends with a `gap` that drops.
// With bridge_options::replay off every lost, gap, rejoined (and joined with
// history) drops, cause replay_off. See the kinds for the exact moments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "caf/actor.hpp"
#include "caf/meta/type_name.hpp"

namespace cachebus {

/// The topic of peer events. `!` cannot occur in a resource name, so it never
/// collides with resource_topic(); "cache:*" subscribers receive it too.
constexpr std::string_view peers_topic = "cache:!peers";

/// Why the receiver must drop its cache now (the partition rule), if it must.
enum class drop_cause : uint8_t {
  /// Nothing to drop.
  none = 0,
  /// Replay is off (bridge_options::replay): every loss, gap and rejoin drops,
  /// as before replay existed.
  replay_off = 1,
  /// A first session with a peer that published events before it (joined
  /// with a non-zero last_sequence): those are not replayed.
  history = 2,
  /// The missing range is gone from the origin's log (trimmed by its bounds,
  /// or a sequence it skipped and never sent).
  trimmed = 3,
  /// The origin restarted with a new incarnation: its log of the old one is
  /// gone, and so are the events of the old one that never arrived.
  new_incarnation = 4,
  /// The replay did not complete within bridge_options::replay_timeout.
  timeout = 5,
  /// The origin's answer to a replay request was malformed (refused and
  /// counted in bridge_stats::replay_replies_refused).
  malformed = 6,
  /// The session ended while a replay ran.
  lost = 7,
  /// The peer stayed lost for bridge_options::replay_gone_after: whatever
  /// it published before it went and never sent is given up on.
  gone = 8,
};

/// Number of drop_cause values (for per-cause counters indexed by it).
constexpr size_t drop_cause_count = 9;

std::string to_string(drop_cause x);

enum class peer_event_kind : uint8_t {
  /// A session with a peer this bridge never had a session with started.
  /// Its events after `last_sequence` will be delivered in order until the
  /// next lost/gap event; its events 1..last_sequence (published before the
  /// session) never will. So: if last_sequence is 0, nothing to drop; else
  /// drop what that peer could have made stale (a node whose cache is still
  /// empty has nothing to drop): drop says so.
  joined = 1,
  /// The session with a peer ended: its bridge went down, its connection was
  /// lost, or nothing (not even a heartbeat) came from it within the peer
  /// timeout. `last_sequence` is the last of its events delivered here. The
  /// receiver must drop what that peer could have made stale: its events from
  /// now until it rejoins are not delivered.
  lost = 2,
  /// Events from a connected peer went missing: one arrived with a sequence
  /// beyond the next expected one, or a heartbeat or repeated handshake said
  /// the peer is further along than what arrived. `last_sequence` is the
  /// last in-order sequence delivered before the gap; delivery continues
  /// after it. The missing events are lost for good: `drop` says why (a
  /// replay that failed, or replay_off). Published before the event that
  /// revealed the gap (without replay) or after the replayed events that did
  /// arrive (a failed replay).
  gap = 3,
  /// A new session with a peer that had one before: after `lost`, after a
  /// restart (new incarnation, its sequence restarts), or after we gave up on
  /// it for silence while it still ran. Tracking restarted at the peer's
  /// announced position; `last_sequence` is the last sequence delivered in
  /// the previous session. Values loaded while it was away may miss its
  /// invalidations from that time: with the same incarnation they are
  /// replayed (a `replaying` follows if any are missing); with a new one, or
  /// without replay, `drop` says to drop. Together with `lost` this is what
  /// makes "no stale read survives a reconnect" hold.
  rejoined = 4,
  /// A peer refused this node's handshake (typically because the node name is
  /// taken by another live node, or it is the peer's own name); `reason` says
  /// why. The bridge keeps retrying with backoff, so a restarted node whose
  /// previous incarnation is not yet known to be dead gets in later.
  /// Published when a peer's state becomes refused, not on every retry.
  refused = 5,
  /// Events of a connected peer are missing (a gap, a heartbeat or a
  /// handshake that is further along, a rejoin with the same incarnation)
  /// and are being fetched from its log. `last_sequence`: the last delivered
  /// in order; `resumes_after`: the last one known missing (more may be
  /// added while it runs). Until `replayed` (or a `gap` that drops) the
  /// receiver must serve nothing those events could make stale; the bridge
  /// holds the peer's later events back meanwhile, so they arrive in order.
  /// Bounded by bridge_options::replay_timeout.
  replaying = 6,
  /// The replay `replaying` announced completed: every missing event, and
  /// every later one the peer sent meanwhile, was published on the local bus
  /// before this, in sequence order. `last_sequence`: the last delivered.
  replayed = 7,
};

std::string to_string(peer_event_kind x);

struct peer_event {
  /// The peer's node name (its events' origin); for `refused` by a seed
  /// whose name is unknown, the seed's address as configured.
  std::string peer{};
  peer_event_kind kind = peer_event_kind::joined;
  /// See the kinds; 0 if nothing from this peer was ever delivered.
  uint64_t last_sequence = 0;
  /// The peer's incarnation (a random id of its bridge's lifetime); 0 when
  /// unknown (a refused seed).
  uint64_t incarnation = 0;
  /// A human-readable why, for logs; empty for joined.
  std::string reason{};
  /// For joined and rejoined: the actor the peer advertised for direct talk
  /// (bridge_handshake::endpoint), possibly invalid. Empty otherwise.
  caf::actor endpoint{};
  /// For joined and rejoined: the last of the peer's events this session
  /// will not deliver (delivery starts after it; for joined this equals
  /// last_sequence); for replaying, the last sequence known missing. 0
  /// otherwise.
  uint64_t resumes_after = 0;
  /// What the receiver must drop now (the partition rule), if anything.
  drop_cause drop = drop_cause::none;

  friend bool operator==(const peer_event&, const peer_event&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_event& x) {
  return f(caf::meta::type_name("cachebus::peer_event"), x.peer, x.kind,
           x.last_sequence, x.incarnation, x.reason, x.endpoint,
           x.resumes_after, x.drop);
}

} // namespace cachebus
