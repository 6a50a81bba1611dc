// The bridge's directory of peers (bridge.hpp has the rules): every node it
// has heard of, by name, with where it listens, its state (peer_state), its
// incarnation, the position of its event sequence in the current session,
// its redial backoff and attempt counter and its last error; this node's own
// member row; and the decisions made on them alone: whether a handshake is
// acceptable (and why not), whether it continues the current session, whom
// of a member list to dial, how long to wait before the next dial.
//
// It holds no actor handle and sends nothing: the bridge keeps each peer's
// CAF handles keyed by the same name (bridge_state.hpp), tells the directory
// whether a handshake came from the peer's current bridge, and acts on what
// the directory returns (a dial to start, a timer to arm, a peer_event to
// publish). Keeping handles out (rather than a template over the handle
// type) keeps it a plain value that tests build without an actor system.
// The clock is the caller's (`now` arguments). Records are never removed:
// a lost peer keeps its row and is redialed. A value; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cachebus/bus/bridge_protocol.hpp"
#include "cachebus/bus/bridge_stats.hpp"
#include "cachebus/bus/sequence_tracker.hpp"

namespace cachebus {

class peer_directory {
 public:
  using clock = std::chrono::steady_clock;
  using duration = std::chrono::nanoseconds;

  /// Everything known about one peer.
  struct peer {
    std::string name;
    /// Where it listens (from its handshake or a member list).
    std::string host;
    uint16_t port = 0;
    peer_state state = peer_state::connecting;
    /// Of its current or last session; 0 before the first.
    uint64_t incarnation = 0;
    /// Its event sequence in the current or last session.
    sequence_tracker inbound;
    bool ever_connected = false;
    /// When something last arrived from it in session.
    clock::time_point last_heard;
    /// The delay before the next redial.
    duration backoff{0};
    /// Identifies the current dial attempt or dial timer; anything carrying
    /// an older number is stale and ignored.
    uint64_t attempt = 0;
    /// A dial attempt is in flight.
    bool dialing = false;
    /// Its events delivered (all sessions).
    uint64_t events_in = 0;
    /// Why the last attempt or session failed; empty while connected.
    std::string last_error;
  };

  /// Who sent a handshake, as far as the decisions need to know.
  enum class sender {
    /// Nobody (an anonymous message): always refused.
    nobody,
    /// The bridge the peer of that name had its last session with.
    current_bridge,
    /// Any other bridge.
    other_bridge,
  };

  /// A dial to start: connect to host:port and shake hands with `name`;
  /// its outcome counts only while `attempt` is the peer's current one.
  struct dial {
    std::string name;
    std::string host;
    uint16_t port = 0;
    uint64_t attempt = 0;
  };

  /// A redial timer to arm: start a dial of `name` after `delay` if
  /// `attempt` is still the peer's current one then.
  struct redial {
    std::string name;
    duration delay{0};
    uint64_t attempt = 0;
  };

  /// What accepting a handshake changed.
  struct session {
    /// A new session started (else the handshake repeated the current one).
    bool started = false;
    /// The peer had a session before (a new one is a rejoin).
    bool rejoined = false;
    /// The last sequence delivered before the handshake.
    uint64_t previous_last = 0;
    /// A repeated handshake announced a position beyond the next expected
    /// sequence: what lies between is given up on.
    bool gap = false;
  };

  /// What a failed dial changed.
  struct failure {
    /// The peer refused us and had not before: publish `refused`.
    bool newly_refused = false;
    redial next;
  };

  /// What an arrived event is.
  struct arrival {
    sequence_tracker::verdict verdict = sequence_tracker::verdict::in_order;
    /// The last sequence delivered before it.
    uint64_t last = 0;
  };

  /// An empty directory of a node without a name; assign a real one.
  peer_directory() = default;

  /// REQUIRES: 0 < reconnect_initial <= reconnect_max.
  peer_directory(std::string self_name, std::string self_host,
                 duration reconnect_initial, duration reconnect_max);

  // -- this node --------------------------------------------------------------

  /// This node's member row: its name, the host it advertises, its port.
  const bridge_member& self() const noexcept { return self_; }

  /// Sets this node's port once it listens.
  void set_port(uint16_t port) noexcept { self_.port = port; }

  // -- lookup -----------------------------------------------------------------

  /// Every peer heard of, ordered by name.
  const std::map<std::string, peer>& peers() const noexcept { return peers_; }

  /// The peer called `name`, or null.
  const peer* find(const std::string& name) const;

  /// True if `name` is a peer in session.
  bool connected(const std::string& name) const;

  /// True if a dial outcome or dial timer carrying `attempt` is current for
  /// `name`: the peer exists, is not in session and `attempt` is its latest.
  bool awaits(const std::string& name, uint64_t attempt) const;

  // -- membership -------------------------------------------------------------

  /// This node and every peer in session: what newcomers should dial.
  std::vector<bridge_member> members() const;

  /// Adds the members of `list` it did not know and returns the dials to
  /// start: every member not in session and not being dialed, at the
  /// address in `list`. Skips this node, invalid names and members without
  /// an address.
  std::vector<dial> learn(const std::vector<bridge_member>& list);

  /// One row per peer, ordered by name (bridge_stats::peers).
  std::vector<peer_stats> stats() const;

  // -- handshakes -------------------------------------------------------------

  /// Why the handshake `h` from `from` must be refused, or nothing if it is
  /// acceptable: another protocol version, an invalid name, this node's own
  /// name, no incarnation or address, no sender, or a name held by a
  /// connected peer of another bridge.
  std::optional<std::string> refusal(const bridge_handshake& h,
                                     sender from) const;

  /// True if `h` from `from` repeats the current session with its peer:
  /// the peer is in session, with that bridge and incarnation.
  bool same_session(const bridge_handshake& h, sender from) const;

  /// Starts (or confirms) the session with the sender of `h`: records its
  /// address and incarnation, restarts tracking at its announced sequence
  /// (a new session) or checks it (a repeated one), resets its backoff and
  /// cancels its pending dials. REQUIRES: !refusal(h, from).
  session start_session(const bridge_handshake& h, sender from,
                        clock::time_point now);

  // -- dialing ----------------------------------------------------------------

  /// Starts a new dial attempt of `name` (a lost peer is now reconnecting).
  /// REQUIRES: find(name).
  dial start_dial(const std::string& name);

  /// Ends the current attempt of `name` and returns the timer for the next
  /// one: after the current backoff, which then doubles up to the maximum.
  /// REQUIRES: find(name).
  redial schedule_redial(const std::string& name);

  /// The current dial of `name` failed with `reason`; `refused` if the peer
  /// refused our handshake (else it may pass with time). REQUIRES:
  /// awaits(name, attempt) for the failed dial's attempt.
  failure dial_failed(const std::string& name, bool refused,
                      std::string reason);

  // -- liveness ---------------------------------------------------------------

  /// Something arrived from `name` at `now`. REQUIRES: connected(name).
  void heard(const std::string& name, clock::time_point now);

  /// The peers in session from which nothing arrived after `deadline`.
  std::vector<std::string> silent_since(clock::time_point deadline) const;

  /// Ends the session with `name` for `reason` and returns the timer of the
  /// first redial (after the initial backoff). REQUIRES: connected(name).
  redial lose(const std::string& name, std::string reason);

  // -- inbound sequences ------------------------------------------------------

  /// Event `seq` of `name` arrived (0: unsequenced, always delivered).
  /// Classifies it and, unless it is a duplicate, counts it as delivered.
  /// REQUIRES: connected(name).
  arrival deliver(const std::string& name, uint64_t seq);

  /// `name` says it sent every sequence below `next` (a heartbeat). Returns
  /// the last sequence delivered before if some never arrived (a gap),
  /// else nothing. REQUIRES: connected(name).
  std::optional<uint64_t> sent_up_to(const std::string& name, uint64_t next);

 private:
  peer& at(const std::string& name);

  bridge_member self_;
  duration reconnect_initial_{0};
  duration reconnect_max_{0};
  std::map<std::string, peer> peers_;
};

} // namespace cachebus
