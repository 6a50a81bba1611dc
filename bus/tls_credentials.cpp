#include "cachebus/bus/tls_credentials.hpp"

#include <openssl/ssl.h>

#include "caf/actor_system_config.hpp"

#include "cachebus/bus/tls_context.hpp"

namespace cachebus {

tls_credentials tls_credentials_of(const caf::actor_system_config& cfg) {
  return {cfg.openssl_certificate, cfg.openssl_key, cfg.openssl_passphrase,
          cfg.openssl_cafile, cfg.openssl_capath};
}

caf::error check_tls_credentials(const tls_credentials& x) {
  auto ctx = make_ssl_context(x);
  if (!ctx)
    return std::move(ctx.error());
  SSL_CTX_free(*ctx);
  return {};
}

} // namespace cachebus
