// A node's transport (bus/transport.hpp) from its configuration: the
// cluster bridge and cachebus-node's client port listen on it, so every
// port of a node checks BASP frames and bounds unauthenticated peers alike.
// Options (CAF's config system, declared by declare_transport_options):
//   cachebus.max-frame-size           largest BASP payload after the
//                                     handshake (16 MiB; 64 KiB .. 4 GiB-1)
//   cachebus.max-pending-connections  connections before their handshake
//                                     (64; 1 .. 65536)
//   cachebus.handshake-timeout        accept to BASP handshake, TLS
//                                     included (5s; 10ms .. 10min)
// With cachebus.tls the credentials (openssl.*) are read once, here.
#pragma once

#include <memory>

#include "caf/actor_system.hpp"
#include "caf/config_option_set.hpp"
#include "caf/expected.hpp"

#include "cachebus/bus/transport.hpp"

namespace cachebus {

/// Declares the options above in `opts` (category "cachebus").
void declare_transport_options(caf::config_option_set& opts);

/// The options above from `cfg`, checked (errc::invalid_config naming the
/// option and the value); tls is left null.
caf::expected<transport_options>
transport_options_from(const caf::actor_system_config& cfg);

/// Starts the transport `sys.config()` asks for, with TLS credentials from
/// openssl.* when cachebus.tls is set. REQUIRES: the middleman is loaded.
caf::expected<std::shared_ptr<transport>>
start_node_transport(caf::actor_system& sys);

} // namespace cachebus
