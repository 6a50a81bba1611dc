// Counters and peer table of one bridge, the reply to a bridge_stats_atom
// request (bridge.hpp). Counters count since the bridge started; the peer
// table is the bridge's current view, one row per node name it has heard of.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace cachebus {

enum class peer_state : uint8_t {
  /// Known (from a member list), never connected yet; being dialed.
  connecting = 1,
  /// In session: events flow both ways, heartbeats arrive.
  connected = 2,
  /// Lost; waiting for the next reconnect attempt (exponential backoff).
  down = 3,
  /// Lost; a reconnect attempt is in flight.
  reconnecting = 4,
  /// The peer refused our handshake (see last_error); retried with backoff.
  refused = 5,
};

std::string to_string(peer_state x);

struct peer_stats {
  std::string name;
  std::string host;
  uint16_t port = 0;
  peer_state state = peer_state::connecting;
  uint64_t incarnation = 0;
  /// The last of its event sequences delivered or given up on, this session.
  uint64_t last_sequence = 0;
  /// Its events delivered to the local bus (all sessions).
  uint64_t events_in = 0;
  /// Why the last attempt or session failed; empty while connected.
  std::string last_error;

  friend bool operator==(const peer_stats&, const peer_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_stats& x) {
  return f(caf::meta::type_name("cachebus::peer_stats"), x.name, x.host, x.port,
           x.state, x.incarnation, x.last_sequence, x.events_in, x.last_error);
}

/// A seed (bridge_options::seeds) as the bridge sees it: a seed is dialed by
/// address until it answers once; from then on its member is a peer row.
struct seed_stats {
  /// "host:port" as configured.
  std::string address;
  /// It answered a handshake once (or is this node's own address).
  bool resolved = false;
  /// Its last answer was a refusal of our handshake.
  bool refused = false;
  /// Why the last dial failed (e.g. a TLS handshake that broke off); empty
  /// once resolved.
  std::string last_error;

  friend bool operator==(const seed_stats&, const seed_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, seed_stats& x) {
  return f(caf::meta::type_name("cachebus::seed_stats"), x.address, x.resolved,
           x.refused, x.last_error);
}

struct bridge_stats {
  std::string node;
  uint64_t incarnation = 0;
  /// The port the bridge listens on.
  uint16_t port = 0;
  /// Own events forwarded (each counted once, however many peers got it).
  uint64_t events_out = 0;
  /// Peers' events published on the local bus.
  uint64_t events_in = 0;
  /// Peers' events dropped because their sequence was already delivered.
  uint64_t duplicates_dropped = 0;
  /// Gaps detected in peers' sequences (each one a gap peer_event).
  uint64_t gaps_detected = 0;
  /// Messages from peers dropped as invalid: from an unknown or lost sender,
  /// an origin other than the sender, not an event.
  uint64_t rejected = 0;
  /// Own sequences given up on after the reorder timeout (peers see gaps).
  uint64_t own_sequences_skipped = 0;
  // -- replay (bridge_options::replay) --
  /// Replays of peers' missing events started (each a `replaying`), ended
  /// with every event (`replayed`), and given up (a `gap` that drops).
  uint64_t replays_started = 0;
  uint64_t replays_completed = 0;
  uint64_t replays_failed = 0;
  /// Peers' events published here from their logs.
  uint64_t replayed_events_in = 0;
  /// Peers' live events not published as they came because earlier ones
  /// were missing (fetched from the log in order instead).
  uint64_t live_events_deferred = 0;
  /// Answers from peers' logs refused as malformed.
  uint64_t replay_replies_refused = 0;
  /// Peers' requests of this node's log answered with events, and refused
  /// (from a node not in session, an absurd range, trimmed, another
  /// incarnation).
  uint64_t replay_requests_served = 0;
  uint64_t replay_requests_refused = 0;
  /// This node's log: events (and holes) held, their bytes, its oldest
  /// sequence, and events trimmed from it by its bounds.
  uint64_t log_events = 0;
  uint64_t log_bytes = 0;
  uint64_t log_first = 0;
  uint64_t log_trimmed = 0;
  /// One row per peer, ordered by name.
  std::vector<peer_stats> peers;
  /// One row per configured seed, in configuration order.
  std::vector<seed_stats> seeds;

  friend bool operator==(const bridge_stats&, const bridge_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bridge_stats& x) {
  return f(caf::meta::type_name("cachebus::bridge_stats"), x.node,
           x.incarnation, x.port, x.events_out, x.events_in,
           x.duplicates_dropped, x.gaps_detected, x.rejected,
           x.own_sequences_skipped, x.replays_started, x.replays_completed,
           x.replays_failed, x.replayed_events_in, x.live_events_deferred,
           x.replay_replies_refused, x.replay_requests_served,
           x.replay_requests_refused, x.log_events, x.log_bytes, x.log_first,
           x.log_trimmed, x.peers, x.seeds);
}

} // namespace cachebus
