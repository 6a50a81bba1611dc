// cachebus::node, the embedding facade: starts one node's actors (the cache
// shards) inside a caller's caf::actor_system and gives plain threads a
// thread-safe blocking API. A hit is answered from the owning shard's table on
// the caller's thread (no actor round trip); writes take that table's write
// lock. Code that is itself an actor should talk to shards() directly with
// typed requests (shard.hpp).
//
// Every call validates its input first: empty or oversized keys, oversized
// values, bad TTLs and bad tags get a cachebus error and change nothing. After
// stop() every call returns errc::stopped. A node must be stopped (or
// destroyed) before its actor_system is destroyed.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/clock.hpp"
#include "cachebus/actors/options.hpp"
#include "cachebus/actors/shard.hpp"
#include "cachebus/actors/shard_messages.hpp"

namespace cachebus {

/// Options of one write.
struct set_options {
  /// default_ttl (0) applies cachebus.default-ttl; never_expires asks for an
  /// entry that never expires; anything else must lie in (0, max-ttl].
  caf::timespan ttl = default_ttl;
  std::vector<std::string> tags;
  /// The source record's version; 0 lets the shard assign one.
  uint64_t version = 0;
};

/// Counters of a node: the sum and each shard.
struct node_stats {
  shard_stats total;
  std::vector<shard_stats> shards;
};

class node {
public:
  // -- construction -----------------------------------------------------------

  /// Starts a node in `sys` with `opts` (validated first). `clk` may be a
  /// manual clock for tests; by default the node uses the steady clock.
  static caf::expected<std::unique_ptr<node>>
  start(caf::actor_system& sys, node_options opts,
        std::shared_ptr<cachebus::clock> clk = nullptr);

  /// Starts a node in `sys` with the `cachebus.*` options of its config.
  static caf::expected<std::unique_ptr<node>> start(caf::actor_system& sys);

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops the node's actors and waits for them.
  ~node();

  // -- the blocking API (any thread) -------------------------------------------

  /// Returns the value of a live entry, or errc::miss.
  caf::expected<std::string> get(std::string_view key) const;

  /// Inserts or replaces `key`; returns the entry's version.
  caf::expected<uint64_t> set(std::string_view key, std::string value,
                              const set_options& opts = {});

  /// Removes `key`; returns how many entries were removed (0 or 1).
  caf::expected<size_t> erase(std::string_view key);

  /// Removes every key in `keys`; all keys are validated before any is
  /// removed. Returns how many entries were removed.
  caf::expected<size_t> erase(const std::vector<std::string>& keys);

  node_stats stats() const;

  // -- actor handles ------------------------------------------------------------

  const std::vector<shard_actor>& shards() const noexcept {
    return shards_;
  }

  /// The shard that owns `key`.
  size_t shard_index(std::string_view key) const noexcept;

  const shard_actor& shard_for(std::string_view key) const noexcept {
    return shards_[shard_index(key)];
  }

  // -- properties -------------------------------------------------------------

  const node_options& options() const noexcept {
    return opts_;
  }

  cachebus::clock& clock() noexcept {
    return *clock_;
  }

  caf::actor_system& system() noexcept {
    return sys_;
  }

  bool stopped() const noexcept {
    return stopped_.load(std::memory_order_acquire);
  }

  /// Stops every actor of this node and waits until they are gone.
  /// Idempotent; safe to call from any non-actor thread.
  void stop();

private:
  node(caf::actor_system& sys, node_options opts,
       std::shared_ptr<cachebus::clock> clk);

  caf::actor_system& sys_;
  node_options opts_;
  std::shared_ptr<cachebus::clock> clock_;
  std::vector<std::shared_ptr<shard_table>> tables_;
  std::vector<shard_actor> shards_;
  std::atomic<bool> stopped_{false};
};

} // namespace cachebus
