// What the bridge (bridge.hpp) tells its own node about a peer, published on
// peers_topic of the local bus and never sent to other nodes. The receiver of
// cache events (the invalidation listener) subscribes to it to apply the
// partition rule: after `lost`, `gap`, `rejoined` (and `joined` with a
// non-zero last_sequence) it must drop every entry that the peer's
// invalidations could have made stale, because some of that peer's events
// never arrive. See the kinds below for the exact moments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/actor.hpp"
#include "caf/meta/type_name.hpp"

namespace cachebus {

/// The topic of peer events. `!` cannot occur in a resource name, so it never
/// collides with resource_topic(); "cache:*" subscribers receive it too.
constexpr std::string_view peers_topic = "cache:!peers";

enum class peer_event_kind : uint8_t {
  /// A session with a peer this bridge never had a session with started.
  /// Its events after `last_sequence` will be delivered in order until the
  /// next lost/gap event; its events 1..last_sequence (published before the
  /// session) never will. So: if last_sequence is 0, nothing to drop; else
  /// drop what that peer could have made stale (a node whose cache is still
  /// empty has nothing to drop).
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
  /// after it. The receiver must drop what that peer could have made stale
  /// (the missing events are lost for good). Published before the event that
  /// revealed the gap.
  gap = 3,
  /// A new session with a peer that had one before: after `lost`, after a
  /// restart (new incarnation, its sequence restarts), or after we gave up on
  /// it for silence while it still ran. Tracking restarted at the peer's
  /// announced position; `last_sequence` is the last sequence delivered in
  /// the previous session. The receiver must drop what that peer could have
  /// made stale AGAIN: values loaded while it was away may miss its
  /// invalidations from that time. Together with `lost` this is what makes
  /// "no stale read survives a reconnect" hold.
  rejoined = 4,
  /// A peer refused this node's handshake (typically because the node name is
  /// taken by another live node, or it is the peer's own name); `reason` says
  /// why. The bridge keeps retrying with backoff, so a restarted node whose
  /// previous incarnation is not yet known to be dead gets in later.
  /// Published when a peer's state becomes refused, not on every retry.
  refused = 5,
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
  /// last_sequence). 0 otherwise.
  uint64_t resumes_after = 0;

  friend bool operator==(const peer_event&, const peer_event&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_event& x) {
  return f(caf::meta::type_name("cachebus::peer_event"), x.peer, x.kind,
           x.last_sequence, x.incarnation, x.reason, x.endpoint,
           x.resumes_after);
}

} // namespace cachebus
