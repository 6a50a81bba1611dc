// cachebus::runtime: a node together with the actor system it runs in, for
// programs that do not have a CAF actor system of their own. It parses its
// configuration like any CAF program (command line, then caf-application.ini),
// so `--help` lists every `cachebus.*` option and the program's own
// (runtime_setup::declare_options), and loads CAF's OpenSSL module
// when `cachebus.tls` is set (tls_setup.hpp). With `cachebus.store` set
// (store_setup.hpp) it also opens the node's system of record before
// anything starts, makes a store loader the node loader (store_loader.hpp)
// and runs a record_cache over the store (write-through; write-back with
// cachebus.write-back.journal). With a PostgreSQL store it also starts the
// store's change feed (change_feed.hpp: rows changed by any client, psql
// included, invalidate their keys on every node), unless
// cachebus.change-feed=false. Destroying it stops the change feed, the
// record cache (flushing write-back), the node, then the system, in that
// order, without hanging.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/invalidation/change_feed.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"

namespace cachebus {

struct store_spec;

/// What a program adds to the runtime; every member is optional.
struct runtime_setup {
  /// The program's own options, declared in the runtime's configuration next
  /// to cachebus's (config::declare_options): the command line and
  /// caf-application.ini set them, --help lists them, a value of the wrong
  /// type is invalid_config naming the option, and an option nobody declared
  /// is still refused. E.g.
  ///   setup.declare_options = [](caf::config_option_set& opts) {
  ///     caf::config_option_adder{opts, "global"}
  ///       .add<uint16_t>("http-port", "port of the HTTP API");
  ///   };
  /// then `--http-port=8080` (or `http-port=8080` atop the file), read back
  /// with read_option(rt->config(), "http-port", port) (option_reader.hpp).
  declare_options_fn declare_options;
};

class runtime {
 public:
  /// Parses `argc`/`argv` and starts the system and the node. If the
  /// arguments asked for --help, the help text is printed and the returned
  /// runtime has no node (help_printed() is true). An unknown option or a
  /// bad value is invalid_config naming it; nothing is started.
  static caf::expected<std::unique_ptr<runtime>>
  start(int argc, char** argv, runtime_setup setup = {});

  /// Same, with arguments given in code, e.g. {"--cachebus.shards=4"}.
  static caf::expected<std::unique_ptr<runtime>>
  start(std::vector<std::string> args = {}, runtime_setup setup = {});

  /// Checks `args` (and the caf-application.ini they name or imply) as
  /// start(args) would, without starting or opening anything: every
  /// cachebus.* option, the rules file of cachebus.rules, the TLS
  /// credentials of cachebus.tls, and the form of cachebus.store with the
  /// schema its rules declare. The store itself is not opened, so a file or
  /// server that cannot be reached is found only by start. Returns the first
  /// error, or none (`cachebus-node --check-config`).
  static caf::error check(std::vector<std::string> args,
                          runtime_setup setup = {});

  ~runtime();

  bool help_printed() const noexcept { return node_ == nullptr; }

  /// REQUIRES: !help_printed()
  cachebus::node& node() noexcept { return *node_; }

  caf::actor_system& system() noexcept { return *sys_; }

  cachebus::config& config() noexcept { return *cfg_; }

  /// The record cache over the store of `cachebus.store`, or nullptr if no
  /// store is configured (or help was printed).
  cachebus::record_cache* records() noexcept { return records_.get(); }

  /// The change feed of a PostgreSQL `cachebus.store`, or an invalid handle
  /// (no store, an SQLite store, or cachebus.change-feed=false).
  const change_feed_actor& change_feed() const noexcept { return feed_; }

 private:
  runtime() = default;

  static caf::expected<std::unique_ptr<runtime>>
  finish(std::unique_ptr<cachebus::config> cfg);

  // Starts the change feed if the store asks for one (see above).
  caf::error start_change_feed(const store_spec& spec);

  std::unique_ptr<cachebus::config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<cachebus::node> node_;
  // cachebus.store: the store, its loader (the node loader) and the record
  // cache over both.
  std::shared_ptr<stores::record_store> store_;
  std::shared_ptr<pending_writes> pending_;
  loader_actor loader_;
  std::unique_ptr<cachebus::record_cache> records_;
  change_feed_actor feed_;
};

} // namespace cachebus
