// The bus actor, cachebus's Phoenix.PubSub: topic -> subscribers. Subscribers
// are any actors (dynamic or typed, local or remote), held strongly and
// monitored once until they unsubscribe from everything or go down. publish
// forwards the payload unchanged and anonymously to every matching subscriber
// exactly once, so no subscriber can make the bus fail. Replies (acks, errors,
// counts) go to requests only: a plain send gets no reply.
#pragma once

#include <cstdint>
#include <string>

#include "caf/fwd.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "cachebus/bus/bus_stats.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus {

/// Topics and patterns follow topic.hpp; a bad one is refused with
/// `sec::invalid_argument` and changes nothing. The variants taking a
/// `strong_actor_ptr` act on behalf of that actor (`caf::actor_cast` any
/// handle); the others act for the sender. (Un)subscribing is idempotent.
/// publish replies with the number of subscribers the payload went to; an
/// empty payload is refused. The bus never subscribes itself.
using bus_actor = caf::typed_actor<
  caf::replies_to<caf::subscribe_atom, std::string>::with<caf::ok_atom>,
  caf::replies_to<caf::subscribe_atom, std::string,
                  caf::strong_actor_ptr>::with<caf::ok_atom>,
  caf::replies_to<caf::unsubscribe_atom, std::string>::with<caf::ok_atom>,
  caf::replies_to<caf::unsubscribe_atom, std::string,
                  caf::strong_actor_ptr>::with<caf::ok_atom>,
  caf::replies_to<caf::publish_atom, std::string, caf::message>::with<uint64_t>,
  caf::replies_to<bus_stats_atom>::with<bus_stats>>;

/// Spawns a bus. It runs no timers and traps no exits: it lives until it gets
/// an exit message (or loses its last reference) and then releases every
/// subscriber it holds. With `hidden` the actor system does not wait for it
/// when it shuts down (its owner stops it).
bus_actor spawn_bus(caf::actor_system& sys, bool hidden = false);

} // namespace cachebus
