// TLS between nodes, seen from a node's configuration: `cachebus.tls` (a flag)
// turns it on; CAF's own options name the credentials: openssl.certificate
// (this node's certificate chain, PEM), openssl.key (its private key, PEM),
// openssl.passphrase (if the key is encrypted) and openssl.cafile or
// openssl.capath (the CAs every peer's certificate must be signed by).
// enable_tls checks them and loads CAF's OpenSSL module into the config;
// call it after parsing and before constructing the actor system
// (runtime::start does). With TLS on, node::start publishes and dials the
// cluster bridge over TLS only; peers without a valid certificate cannot
// connect. The module is loaded only when TLS is on: it costs a thread.
#pragma once

#include "caf/actor_system_config.hpp"
#include "caf/error.hpp"

namespace cachebus {

/// True if `cfg` asks for TLS between nodes (`cachebus.tls`).
bool tls_enabled(const caf::actor_system_config& cfg);

/// Returns errc::invalid_config naming the option and the file if the
/// credentials of `cfg` (openssl.*) are missing or unusable for TLS.
caf::error check_tls(const caf::actor_system_config& cfg);

/// If `cfg` asks for TLS: returns errc::invalid_config naming the option and
/// file when a credential is missing or unusable, otherwise loads
/// caf::openssl::manager into `cfg`. Does nothing if TLS is off. Call once
/// per config. REQUIRES: the middleman is loaded (cachebus::config does it).
caf::error enable_tls(caf::actor_system_config& cfg);

} // namespace cachebus
