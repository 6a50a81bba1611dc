// Private to the bridge's implementation files (bridge*.cpp); nothing else
// includes it. The functions those files share, one section per file: what
// the bridge reports (peer_events, refusals), dialing, sessions and
// forwarding. bridge.cpp wires them into the actor's behavior; each takes the
// actor (`self`) and works on its state (bridge_state.hpp). None blocks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/message.hpp"
#include "caf/result.hpp"
#include "caf/timespan.hpp"

#include "cachebus/bus/bridge_protocol.hpp"
#include "cachebus/bus/bridge_state.hpp"
#include "cachebus/bus/peer_directory.hpp"
#include "cachebus/bus/peer_event.hpp"

namespace cachebus::bridge_detail {

// -- reports (bridge_reports.cpp) ---------------------------------------------

/// A refusal of ours: `sec::invalid_argument` with one readable sentence.
caf::error refusal(std::string reason);

/// "<n> ms".
std::string ms(caf::timespan x);

/// The refusals we make carry one readable sentence; other errors (CAF's)
/// read best through the system's renderer.
std::string describe(bridge_pointer self, const caf::error& err);

/// Publishes a peer_event on peers_topic of the local bus.
void publish_peer_event(bridge_pointer self, std::string peer,
                        peer_event_kind kind, uint64_t last_sequence,
                        uint64_t incarnation, std::string reason,
                        caf::actor endpoint = {}, uint64_t resumes_after = 0,
                        drop_cause drop = drop_cause::none);

// -- dialing (bridge_dialer.cpp) ----------------------------------------------

/// Dials seed `index` at its configured address.
void start_seed(bridge_pointer self, size_t index);

/// Carries out a dial the directory started (learn, start_dial).
void dial_member(bridge_pointer self, const peer_directory::dial& d);

/// Starts a new dial attempt of peer `name` now.
void dial_peer(bridge_pointer self, const std::string& name);

/// Arms the timer of the next dial attempt of a peer.
void arm_redial(bridge_pointer self, const peer_directory::redial& r);

/// A peer's redial timer fired.
void on_dial_timer(bridge_pointer self, const std::string& name,
                   uint64_t attempt);

/// A seed's redial timer fired.
void on_seed_timer(bridge_pointer self, uint64_t index, uint64_t attempt);

// -- sessions (bridge_sessions.cpp) -------------------------------------------

/// Our side of the handshake: who we are and where we stand.
bridge_handshake make_handshake(bridge_pointer self);

/// Starts (or confirms) a session with the peer that sent `h` from `handle`.
/// Refuses, changing nothing, when the name cannot be ours to accept.
caf::error accept(bridge_pointer self, const bridge_handshake& h,
                  const bridge_actor& handle);

/// Dials every member of `list` this bridge is not in session with.
void learn(bridge_pointer self, const std::vector<bridge_member>& list);

/// The peer whose bridge sent the current message, if we know it.
const peer_directory::peer* sender_peer(bridge_pointer self);

/// A peer's hello (request): accept it and answer with ours.
caf::result<bridge_handshake> on_hello(bridge_pointer self,
                                       const bridge_handshake& h);

/// A peer's heartbeat: it sent every sequence below `next`.
void on_beat(bridge_pointer self, uint64_t next);

/// A peer's member list (a session of its started).
void on_members(bridge_pointer self, const std::vector<bridge_member>& list);

/// The heartbeat timer: loses silent peers, beats the others.
void on_tick(bridge_pointer self);

/// A peer bridge we monitor went down.
void on_bridge_down(bridge_pointer self, const caf::down_msg& dm);

// -- forwarding (bridge_forwarding.cpp) ---------------------------------------

/// Sends an own event to every peer in session and every bridge our hello is
/// on the way to.
void forward(bridge_pointer self, const caf::message& ev);

/// An event from the local bus (the current message): forward it if this
/// node originated it.
void on_local(bridge_pointer self, const std::string& origin,
              uint64_t sequence);

/// An event from a peer's bridge: check it and publish it locally.
void on_remote(bridge_pointer self, const caf::message& ev);

/// The reorder timer that waits for own sequence `awaited` fired.
void on_reorder_timer(bridge_pointer self, uint64_t awaited);

// -- replay (bridge_replay.cpp) -----------------------------------------------

/// Forwards own events the reorder buffer released into `st.ready` (the run
/// that ends just below outbound.next()) and logs them.
void forward_ready(bridge_pointer self);

/// A peer asks for own events again: answered from the log.
replay_batch on_replay_request(bridge_pointer self, const replay_request& r);

/// A live event of a peer in session that is not a duplicate: publishes it
/// now if nothing of that peer is missing, else fetches it with the rest.
void deliver_live(bridge_pointer self, const std::string& peer,
                  const caf::message& ev, std::string topic, uint64_t seq);

/// A session with `name` (handshake `h`) started. Publishes joined or
/// rejoined with what to drop, then starts a replay if events are missing.
void session_started(bridge_pointer self, const bridge_handshake& h,
                     bool rejoined, uint64_t previous_last,
                     const caf::actor& endpoint);

/// `name` said it sent everything up to `last` and some never arrived (a
/// live event, a heartbeat, a repeated handshake): publishes a gap (without
/// replay) or fetches them (after the current message `from_handshake`,
/// so that our answer to the handshake reaches the peer first). `why` is
/// the gap's reason.
void missing_up_to(bridge_pointer self, const std::string& name,
                   uint64_t last_delivered, uint64_t last, std::string why,
                   bool from_handshake = false);

/// Moves the replay of `name` on (a request due, or its end).
void on_pump(bridge_pointer self, const std::string& name);

/// The session with `name` ended: publishes lost with what to drop.
void session_lost(bridge_pointer self, const std::string& name,
                  uint64_t last_delivered, uint64_t incarnation,
                  std::string reason);

/// `name`, lost after session number `session`, may be gone for good.
void on_gone_timer(bridge_pointer self, const std::string& name,
                   uint64_t session);

/// The timeout of replay run `run` of `name` fired.
void on_replay_timeout(bridge_pointer self, const std::string& name,
                       uint64_t run);

} // namespace cachebus::bridge_detail
