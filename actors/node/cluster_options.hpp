// The cluster options of a node started from its configuration
// (`cachebus.listen-host`, `listen-port`, `seeds`, `heartbeat-interval`,
// `peer-timeout`, `tls` and the `replay*` options) read into the bridge's
// options and checked the way spawn_bridge checks them, so that a bad value
// is refused by --check-config as well as at start, with the bridge's own
// sentence. Stateless; thread-safe on a config nobody modifies.
#pragma once

#include "caf/actor_system_config.hpp"
#include "caf/expected.hpp"

#include "cachebus/bus/bridge_options.hpp"

namespace cachebus {

/// The bridge options `cfg` asks for (no transport, no node name: the node
/// sets both), or invalid_config naming what is wrong.
caf::expected<bridge_options>
cluster_options_from(const caf::actor_system_config& cfg);

} // namespace cachebus
