// The invalidation listener: subscribed to every `cache:*` topic of the bus,
// it applies the events of other nodes to the local shards (through the
// invalidator, hence the central rules). Events of this node's own origin are
// skipped: the call that published them already applied them. An event with
// an empty origin is a request from a local actor: it is applied, published
// with this node's origin and sequence, and answered with the count removed.
//
//   every invalidation kind (bus/events.hpp: invalidation_events)
//                          -> entries removed, or a cachebus error
//   peer_event             -  the partition rule, as the bridge decided it
//                             (bus/peer_event.hpp): `drop` set: drop the
//                             whole local cache and every fill in flight;
//                             `replaying` .. `replayed` (or a drop): fence
//                             the shards, serving nothing, while a peer's
//                             missed events are fetched and applied
//
// No stale read while replaying: the bridge publishes `replaying` before it
// publishes any of that peer's events past the first missing one, and holds
// them back until the missing ones arrive, so the shards are fenced (every
// read misses, every fill is refused) from before the first event that
// revealed the gap until every missing event was applied here, in order,
// through the same invalidator path as a live event (which cancels the
// leases of what it reaches). What a read finds after `replayed` is what
// it would have found had the events arrived on time. The fence is bounded by
// the bridge's replay_timeout: past it the bridge sends a dropping `gap`,
// and a drop always lifts the fence after it emptied the cache.
//   observe(actor)         -  after each event, send (applied, origin, seq)
//   observe(actor, true)   -  after each event of any origin (this node's own
//                             too) has been applied here, send the event
//                             itself to actor (one of any number of
//                             watchers; false removes it): the Redis front
//                             end's `cache:<resource>` channels
//   stats()                -> listener_stats
#pragma once

#include <memory>

#include "caf/typed_actor.hpp"

#include "cachebus/actors/invalidation/listener_stats.hpp"
#include "cachebus/actors/node/type_ids.hpp"
#include "cachebus/bus/event_handlers.hpp"
#include "cachebus/bus/peer_event.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus {

class applied_events;
class event_source;
class invalidator;

/// Answers every invalidation kind (bus/events.hpp) with the count removed.
using invalidation_listener_actor
  = answers_events<uint64_t, caf::reacts_to<peer_event>,
                   caf::reacts_to<observe_atom, caf::actor>,
                   caf::reacts_to<observe_atom, caf::actor, bool>,
                   caf::replies_to<stats_atom>::with<listener_stats>>;

/// `applied` (may be null) learns of every event before it is applied. With
/// `hidden` the actor system does not wait for the listener when it shuts
/// down (its owner stops it).
invalidation_listener_actor spawn_invalidation_listener(
  caf::actor_system& sys, std::shared_ptr<invalidator> inv,
  std::shared_ptr<event_source> source,
  std::shared_ptr<applied_events> applied = nullptr, bool hidden = false);

} // namespace cachebus
