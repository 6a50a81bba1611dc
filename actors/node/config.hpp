// An actor_system_config that knows cachebus: it declares every `cachebus.*`
// option (so `--help` lists them and the command line and caf-application.ini
// can set them), registers cachebus's message types and error category, and
// sets `scheduler.max-threads` to the core count (CAF's default of 4
// oversubscribes small machines). Derive your own config from it, or call
// cachebus::prepare on a config you already have. It loads the middleman but
// not CAF's OpenSSL module (a thread of its own): for `cachebus.tls` call
// cachebus::enable_tls after parsing (tls_setup.hpp; runtime does).
#pragma once

#include <string>
#include <vector>

#include "caf/actor_system_config.hpp"
#include "caf/error.hpp"

namespace cachebus {

class config : public caf::actor_system_config {
 public:
  config();

  /// Checks what CAF's parse(args) would let through: a `cachebus.*` entry
  /// of the configuration file (--config-file in `args`, else
  /// config_file_path) of the wrong type, which CAF drops silently, or
  /// unknown to cachebus; and durations, in the file or in `args`, too large
  /// for CAF's unchecked conversion. invalid_config naming the option. Call
  /// it before parse(args); cachebus::runtime does.
  caf::error check_sources(const std::vector<std::string>& args) const;
};

/// Registers cachebus's message types and error category with `cfg` and sets
/// `scheduler.max-threads` to the core count unless it is already set. Use it
/// for configs that do not derive from cachebus::config (their `cachebus.*`
/// options then only come from code: pass node_options to node::start).
void prepare(caf::actor_system_config& cfg);

} // namespace cachebus
