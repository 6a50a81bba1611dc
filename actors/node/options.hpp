// The settings of one node and their validation. Every option lives under
// `cachebus.` in CAF's configuration system (command line, caf-application.ini,
// or code); `node_options::from` reads and validates them, and
// `node_options::validate` is the single place that decides what is allowed.
// Plain values, freely copyable; no synchronization needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/timestamp.hpp"

namespace cachebus {

/// A TTL that asks for an entry that never expires. Only given by name.
constexpr caf::timespan never_expires = caf::timespan::max();

/// A TTL of zero means "use the configured default TTL".
constexpr caf::timespan default_ttl = caf::timespan{0};

/// One shard per core.
size_t default_shards();

/// "node-<pid>" on this host.
std::string default_node_name();

struct node_options {
  /// Number of cache shards (actors that each own one table).
  size_t shards = default_shards();
  /// TTL applied to writes that do not name one.
  caf::timespan default_ttl = std::chrono::minutes(5);
  /// Longest TTL a write may ask for (never_expires aside); at most 100
  /// years.
  caf::timespan max_ttl = std::chrono::hours(24 * 365);
  /// Capacity of the whole node in entries and in bytes (keys, values and
  /// per-entry bookkeeping); split evenly over the shards.
  size_t max_entries = 1'000'000;
  size_t max_bytes = size_t{1} << 30;
  /// Largest key and value accepted.
  size_t max_key_size = 1024;
  size_t max_value_size = size_t{8} << 20;
  /// How often each shard reclaims expired entries, and how many it frees
  /// per step before letting readers and other messages in.
  caf::timespan sweep_interval = std::chrono::seconds(1);
  size_t sweep_batch = 1024;
  /// Most tags one entry may carry.
  size_t max_tags = 32;
  /// Keep an ordered index of keys so that pattern invalidation never scans
  /// a whole table (costs one tree node per entry).
  bool ordered_index = true;
  /// This node's name: the origin of the events it publishes.
  std::string name = default_node_name();
  /// Single flight: how long one loader may hold a key, how many callers may
  /// wait for one key, and what waiters get when a load fails: the error
  /// (false, "propagate") or the chance to load themselves (true, "retry").
  caf::timespan lease_timeout = std::chrono::seconds(5);
  size_t max_waiters = 10'000;
  bool loader_error_retry = false;
  /// Bound on facade calls that wait for an actor.
  caf::timespan request_timeout = std::chrono::seconds(10);
  /// Removal notifications (node::on_removal) waiting for delivery; more
  /// are dropped and counted, the cache never waits for a listener.
  size_t max_queued_removals = 65'536;
  /// fetch_async: the threads its loaders run on (made on first use), and
  /// how many loads may wait for one before a call gets backpressure.
  size_t async_loaders = 4;
  size_t max_queued_async_loads = 1024;

  /// Returns an invalid_config error naming the first bad setting.
  caf::error validate() const;

  /// Reads `cachebus.*` from `cfg` (defaults for missing keys) and validates.
  static caf::expected<node_options> from(const caf::actor_system_config& cfg);

  // -- checks applied to every write -----------------------------------------

  caf::error check_key(std::string_view key) const;
  caf::error check_value(std::string_view value) const;
  /// Tags follow the key rules; at most `max_tags` per entry.
  caf::error check_tags(const std::vector<std::string>& tags) const;

  /// Turns a requested TTL into an absolute expiry in clock nanoseconds
  /// (INT64_MAX for never_expires), or invalid_ttl: negative, beyond
  /// max_ttl, or beyond the clock's range (checked, see duration.hpp). The
  /// one place a TTL is added to a clock reading.
  caf::expected<int64_t> expiry_for(caf::timespan ttl, int64_t now_ns) const;
};

/// Largest expiry value: the entry never expires.
constexpr int64_t no_expiry = INT64_MAX;

} // namespace cachebus
