// What two nodes' bridges say to each other (bridge.hpp has the rules). Plain
// structs with `inspect`, registered in bus/type_ids.hpp under the same names
// on every node; the atoms are defined there too. Five messages:
//   (bridge_hello_atom, bridge_handshake)  request -> bridge_handshake | error
//   (bridge_event_atom, caf::message ev)   one event of the sender's own node
//   (bridge_beat_atom, uint64_t next)      heartbeat, every heartbeat interval
//   (bridge_members_atom, std::vector<bridge_member>)  a session started
//   (bridge_replay_atom, replay_request)   request -> replay_batch: events of
//                                          the receiver's own node again,
//                                          from its log (origin_log.hpp)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/message.hpp"
#include "caf/meta/type_name.hpp"

namespace cachebus {

/// Bumped on any incompatible change to the messages above; a handshake with
/// another version is refused.
constexpr uint32_t bridge_protocol_version = 3;

/// A node of the cluster as its bridge advertises itself.
struct bridge_member {
  std::string name;
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const bridge_member&, const bridge_member&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bridge_member& x) {
  return f(caf::meta::type_name("cachebus::bridge_member"), x.name, x.host,
           x.port);
}

/// Both directions of the handshake: who the sender is and where it stands.
struct bridge_handshake {
  uint32_t protocol = bridge_protocol_version;
  /// The sender's node name: the origin of its events, unique in the cluster.
  std::string name{};
  /// Random and non-zero per bridge lifetime: a restarted node (whose
  /// sequence starts over) is told apart from a reconnecting one.
  uint64_t incarnation = 0;
  /// Where the sender listens, for the other members to dial.
  std::string host{};
  uint16_t port = 0;
  /// The sequence of the first event the sender forwards after this message;
  /// it forwards every own event from there on, in order, for as long as it
  /// considers the session up (the dialer from sending its hello, the
  /// responder from sending its reply).
  uint64_t next_sequence = 1;
  /// The sender and every member it is connected to.
  std::vector<bridge_member> members{};
  /// An actor of the sender's node that the receiver's upper layers may talk
  /// to directly (cachebus: its lock manager, for cluster-wide single
  /// flight); reported in peer_event. May be invalid.
  caf::actor endpoint{};

  friend bool operator==(const bridge_handshake&, const bridge_handshake&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bridge_handshake& x) {
  return f(caf::meta::type_name("cachebus::bridge_handshake"), x.protocol,
           x.name, x.incarnation, x.host, x.port, x.next_sequence, x.members,
           x.endpoint);
}

/// Asks a peer for its own events [from, to] of its lifetime `incarnation`
/// again (a receiver that missed them). The peer answers with at most one
/// batch (a prefix of the range); the asker asks again for the rest.
struct replay_request {
  uint64_t incarnation = 0;
  uint64_t from = 0;
  uint64_t to = 0;

  friend bool operator==(const replay_request&, const replay_request&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_request& x) {
  return f(caf::meta::type_name("cachebus::replay_request"), x.incarnation,
           x.from, x.to);
}

enum class replay_status : uint8_t {
  /// `events` holds sequences from, from+1, ... (at least one).
  ok = 0,
  /// Asked of another incarnation: the asker's view is of a previous life.
  other_incarnation = 1,
  /// Part of the range is gone from the log (or was never sent).
  trimmed = 2,
  /// The request makes no sense (an empty range, or beyond what was sent).
  refused = 3,
};

/// The answer to a replay_request.
struct replay_batch {
  replay_status status = replay_status::ok;
  /// The answering node's incarnation.
  uint64_t incarnation = 0;
  /// The sequence of events[0].
  uint64_t from = 0;
  /// Each one event of invalidation_events, as on the live path.
  std::vector<caf::message> events{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_batch& x) {
  return f(caf::meta::type_name("cachebus::replay_batch"), x.status,
           x.incarnation, x.from, x.events);
}

} // namespace cachebus
