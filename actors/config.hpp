// An actor_system_config that knows cachebus: it declares every `cachebus.*`
// option (so `--help` lists them and the command line and caf-application.ini
// can set them), registers cachebus's message types and error category, and
// sets `scheduler.max-threads` to the core count (CAF's default of 4
// oversubscribes small machines). Derive your own config from it, or call
// cachebus::prepare on a config you already have. It loads the middleman but
// not CAF's OpenSSL module (a thread of its own): for `cachebus.tls` call
// cachebus::enable_tls after parsing (tls_setup.hpp; runtime does).
#pragma once

#include "caf/actor_system_config.hpp"

namespace cachebus {

class config : public caf::actor_system_config {
public:
  config();
};

/// Registers cachebus's message types and error category with `cfg` and sets
/// `scheduler.max-threads` to the core count unless it is already set. Use it
/// for configs that do not derive from cachebus::config (their `cachebus.*`
/// options then only come from code: pass node_options to node::start).
void prepare(caf::actor_system_config& cfg);

} // namespace cachebus
