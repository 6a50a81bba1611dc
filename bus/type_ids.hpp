// The CAF type-ID block of the bus layer: its atoms and every message type the
// bus and its events put on the wire. Registered once per actor system with
// add_bus_types (the actors layer's config calls it). Types that cross nodes
// must be registered under the same name on both sides, which this block
// guarantees for every cachebus node. IDs start at first_custom_type_id.
#pragma once

#include "caf/fwd.hpp"
#include "caf/type_id.hpp"

#include "cachebus/bus/bus_stats.hpp"
#include "cachebus/bus/events.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(cachebus_bus, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::invalidated))
  CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::tag_invalidated))
  CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::keys_invalidated))
  CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::pattern_invalidated))
  CAF_ADD_TYPE_ID(cachebus_bus, (cachebus::bus_stats))

  CAF_ADD_ATOM(cachebus_bus, cachebus, bus_stats_atom, "bus_stats")

CAF_END_TYPE_ID_BLOCK(cachebus_bus)

static_assert(caf::id_block::cachebus_bus::end
                <= caf::first_custom_type_id + 100,
              "the bus block must leave room for the actors layer's block");

namespace cachebus {

/// Registers every type of the bus layer with `cfg`. Call it once, before
/// constructing the actor system, on every node.
void add_bus_types(caf::actor_system_config& cfg);

} // namespace cachebus
