// The CAF type-ID block of the bus layer: its atoms and every message type the
// bus and its events put on the wire. Registered once per actor system with
// add_bus_types (the actors layer's config calls it). Types that cross nodes
// must be registered under the same name on both sides, which this block
// guarantees for every cachebus node. IDs start at first_custom_type_id.
#pragma once

#include "caf/fwd.hpp"
#include "caf/type_id.hpp"

#include "cachebus/bus/bridge_protocol.hpp"
#include "cachebus/bus/bridge_stats.hpp"
#include "cachebus/bus/bus_stats.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/peer_event.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(cachebus_bus, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::invalidated))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::tag_invalidated))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::keys_invalidated))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::pattern_invalidated))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::bus_stats))
// The bridge (bridge.hpp): its local peer events and stats, and the wire
// protocol between bridges (bridge_protocol.hpp). A vector sent on its own
// needs its own entry: loading a block does not register std::vector<T>
// (add_message_type<T> would), and bridge_protocol_test catches a miss.
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::peer_event))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::bridge_member))
CAF_ADD_TYPE_ID(cachebus_bus, (std::vector<cachebus::bridge_member>))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::bridge_handshake))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::peer_stats))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::seed_stats))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::bridge_stats))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::replay_request))
CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::replay_batch))

CAF_ADD_ATOM(cachebus_bus, cachebus, bus_stats_atom, "bus_stats")
CAF_ADD_ATOM(cachebus_bus, cachebus, bridge_hello_atom, "br_hello")
CAF_ADD_ATOM(cachebus_bus, cachebus, bridge_event_atom, "br_event")
CAF_ADD_ATOM(cachebus_bus, cachebus, bridge_beat_atom, "br_beat")
CAF_ADD_ATOM(cachebus_bus, cachebus, bridge_members_atom, "br_members")
CAF_ADD_ATOM(cachebus_bus, cachebus, bridge_stats_atom, "br_stats")
CAF_ADD_ATOM(cachebus_bus, cachebus, bridge_replay_atom, "br_replay")

CAF_END_TYPE_ID_BLOCK(cachebus_bus)

static_assert(caf::id_block::cachebus_bus::end
                <= caf::first_custom_type_id + 100,
              "the bus block must leave room for the actors layer's block");

namespace cachebus {

/// Registers every type of the bus layer with `cfg`. Call it once, before
/// constructing the actor system, on every node.
void add_bus_types(caf::actor_system_config& cfg);

} // namespace cachebus
