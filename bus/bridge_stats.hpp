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
  /// One row per peer, ordered by name.
  std::vector<peer_stats> peers;

  friend bool operator==(const bridge_stats&, const bridge_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bridge_stats& x) {
  return f(caf::meta::type_name("cachebus::bridge_stats"), x.node,
           x.incarnation, x.port, x.events_out, x.events_in,
           x.duplicates_dropped, x.gaps_detected, x.rejected,
           x.own_sequences_skipped, x.peers);
}

} // namespace cachebus
