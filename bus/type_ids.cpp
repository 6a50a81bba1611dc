#include "cachebus/bus/type_ids.hpp"

#include "caf/actor_system_config.hpp"

namespace cachebus {

void add_bus_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::cachebus_bus>();
}

} // namespace cachebus
