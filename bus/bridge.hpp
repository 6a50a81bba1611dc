// The bridge links this node's bus to the other nodes' buses over CAF's
// middleman, in a full mesh: it forwards every event whose origin is this node
// to every peer in session, once and in sequence order, and publishes peers'
// events on the local bus (never onward: no loops). It reports peers on
// peers_topic (peer_event.hpp) so the actor layer can apply the partition
// rule. Its I/O is asynchronous; it never blocks a worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/message.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "cachebus/bus/bridge_options.hpp"
#include "cachebus/bus/bridge_protocol.hpp"
#include "cachebus/bus/bridge_stats.hpp"
#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/event_handlers.hpp"
#include "cachebus/bus/peer_event.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus {

/// Everything a bridge takes:
/// - Local interface:
///     (bridge_stats_atom) -> bridge_stats  requests only; a plain send gets
///                                          no reply
///     exit message                         stops it: it unpublishes its
///                                          port, peers see it `lost`
/// - Every invalidation kind (bus/events.hpp), no reply: what the bus
///   delivers to it (it subscribes to "cache:*"); do not send it events
///   directly. The bus also hands it its own peer_events (on "cache:!peers");
///   it ignores them, as it does any other message (once started, a request
///   it does not answer gets `sec::unexpected_message`).
/// - The peer protocol of bridge_protocol.hpp, which only other bridges
///   speak: hello (request, answered with the receiver's handshake or a
///   refusal), event, heartbeat, member list, replay (request, answered
///   from the receiver's log of its own events).
/// Its timers and start signal are private to its implementation and not
/// part of this type.
using bridge_actor = reacts_to_events<
  caf::replies_to<bridge_stats_atom>::with<bridge_stats>,
  caf::replies_to<bridge_hello_atom, bridge_handshake>::with<bridge_handshake>,
  caf::reacts_to<bridge_event_atom, caf::message>,
  caf::reacts_to<bridge_beat_atom, uint64_t>,
  caf::reacts_to<bridge_members_atom, std::vector<bridge_member>>,
  caf::replies_to<bridge_replay_atom, replay_request>::with<replay_batch>>;

/// A running bridge: the actor (published on `port`) and the port it bound.
///
/// Rules, as peers see them:
/// - Membership: dialing any member joins the cluster. The handshake carries
///   the member list; a bridge dials every member it does not know, and sends
///   its list to every peer whenever a session starts. A name already held by
///   a connected peer, or the receiver's own name, is refused
///   (`sec::invalid_argument`, the reason in the error's context).
/// - Sequences: a bridge forwards its own events in sequence order (holding
///   early ones up to reorder_timeout, see reorder_buffer.hpp) to every peer
///   in session and to every bridge its hello is on the way to; the hello
///   and its reply carry the sender's next sequence. Per peer and session,
///   events are delivered in order; one at or below the last delivered is
///   dropped as a duplicate; one beyond the next expected is a gap: with
///   replay (below) it is fetched from the peer's log with the missing ones,
///   without it is delivered after a dropping `gap` peer_event. Heartbeats
///   and repeated handshakes carry the sender's next sequence, so a lost
///   tail is a gap too. A new session
///   (after a loss, or with a restarted peer's new incarnation) restarts
///   tracking at the peer's announced sequence and publishes `rejoined`.
/// - Liveness: a peer is `lost` when its bridge's down message arrives
///   (`remote_link_unreachable` when the connection breaks) or when nothing
///   arrived from it for peer_timeout (a hung peer: our own heartbeats, so
///   CAF's middleman.heartbeat-interval is not needed). Lost peers are
///   redialed with exponential backoff (forever, at most reconnect_max
///   apart); a handshake or heartbeat from them ends the wait early.
/// - Endpoint: the handshake carries opts.endpoint, an actor of the node's
///   upper layers (cachebus: its lock manager); joined and rejoined
///   peer_events hand the peer's endpoint to local subscribers, which may
///   talk to it directly (cluster-wide single flight does).
/// - Replay instead of drop (opts.replay, on by default): each bridge logs
///   its own events as it forwards them (origin_log.hpp, bounded by
///   replay_log_events and replay_log_bytes). A receiver that finds some of
///   a peer's events missing (a gap, a heartbeat or a repeated handshake
///   further along, a rejoin with the same incarnation) publishes
///   `replaying`, asks the peer for the range, publishes it on its bus in
///   order followed by whatever the peer sent meanwhile (held back, and
///   fetched from the log as well), then `replayed`. Only what cannot be
///   replayed makes it tell its node to drop (peer_event::drop): a range gone
///   from the log, a restarted peer (new incarnation), a malformed answer,
///   a session lost during the replay, or replay_timeout. A first session
///   with a peer that already published events drops (history) as before.
///   Without replay every lost, gap and rejoined drops (replay_off).
struct bridge_handle {
  bridge_actor actor;
  uint16_t port = 0;
  /// What it listens and dials on (opts.transport, or the one it started).
  std::shared_ptr<cachebus::transport> transport;
};

/// Checks `opts`, spawns the bridge, subscribes it to `local_bus` and
/// publishes it on opts.host:opts.port. Returns the running bridge, or a
/// clear error (invalid options, no middleman loaded, the port cannot be
/// bound; with opts.tls: no OpenSSL module, unusable openssl.* credentials)
/// after which nothing is left running. It publishes and dials through
/// opts.transport (transport.hpp; started here if null), over TLS with
/// opts.tls. The bridge dials its
/// seeds in the background; watch peers_topic or its stats to see them
/// join. A dial the peer's TLS refuses fails like an unreachable address.
/// Blocks the calling thread while binding: call it from setup code, not
/// from inside an actor. REQUIRES: the middleman module is loaded and the
/// bus types are registered (add_bus_types) in `sys`.
caf::expected<bridge_handle>
spawn_bridge(caf::actor_system& sys, bus_actor local_bus, bridge_options opts);

} // namespace cachebus
