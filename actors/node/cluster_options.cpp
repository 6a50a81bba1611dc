#include "cachebus/actors/node/cluster_options.hpp"

#include <string>

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/tls_setup.hpp"
#include "cachebus/bus/error_text.hpp"

namespace cachebus {

caf::expected<bridge_options>
cluster_options_from(const caf::actor_system_config& cfg) {
  bridge_options b;
  for (auto err :
       {read_option(cfg, "cachebus.listen-host", b.host),
        read_option(cfg, "cachebus.listen-port", b.port),
        read_option(cfg, "cachebus.seeds", b.seeds),
        read_option(cfg, "cachebus.heartbeat-interval", b.heartbeat_interval),
        read_option(cfg, "cachebus.peer-timeout", b.peer_timeout),
        read_option(cfg, "cachebus.replay", b.replay),
        read_option(cfg, "cachebus.replay-log-events", b.replay_log_events),
        read_option(cfg, "cachebus.replay-log-bytes", b.replay_log_bytes),
        read_option(cfg, "cachebus.replay-timeout", b.replay_timeout),
        read_option(cfg, "cachebus.replay-gone-after", b.replay_gone_after)})
    if (err)
      return err;
  b.tls = tls_enabled(cfg);
  // Checked with a stand-in name: the node's own is checked with its options.
  auto named = b;
  named.node = "check";
  if (auto err = check_bridge_options(named))
    return make_error(errc::invalid_config,
                      "cluster options: " + error_text(err, nullptr));
  return b;
}

} // namespace cachebus
