#include "cachebus/actors/node/tls_setup.hpp"

#include "caf/openssl/manager.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/bus/tls_credentials.hpp"

namespace cachebus {

bool tls_enabled(const caf::actor_system_config& cfg) {
  return caf::get_or(cfg, "cachebus.tls", false);
}

caf::error check_tls(const caf::actor_system_config& cfg) {
  auto err = check_tls_credentials(tls_credentials_of(cfg));
  if (!err)
    return {};
  auto text = describe(err);
  if (text.rfind("TLS: ", 0) == 0)
    text.erase(0, 5);
  return make_error(errc::invalid_config, "cachebus.tls: " + text);
}

caf::error enable_tls(caf::actor_system_config& cfg) {
  if (!tls_enabled(cfg))
    return {};
  // CAF reports unusable credentials only by throwing inside its
  // multiplexer, per connection: check them before anything starts.
  if (auto err = check_tls(cfg))
    return err;
  cfg.load<caf::openssl::manager>();
  return {};
}

} // namespace cachebus
