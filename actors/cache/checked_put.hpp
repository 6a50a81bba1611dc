// The one write path into a shard table that every entry point shares (the
// node facade for plain threads, the shard actor for actors), and the one
// fill path (a fetch's holder on a plain thread, the lock manager for
// actors): each validates the value, the tags and the TTL as node_options
// says, turns the TTL into an expiry, and applies the write. A write refused
// because the cached sourced version of its key is newer comes back as
// errc::stale_version. Nothing changes on any error. The key's validity (and
// its shard) is the caller's to check. Thread-safe, as shard_table is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"
#include "caf/timestamp.hpp"

#include "cachebus/actors/cache/shard_table.hpp"
#include "cachebus/actors/flight/fetch_options.hpp"
#include "cachebus/actors/node/options.hpp"

namespace cachebus {

/// The expiry of a write of `value` with `tags` and `ttl` at `now_ns`, or
/// the error that refuses it (value size, tags, TTL), as every write path
/// checks it.
caf::expected<int64_t> check_write(const node_options& opts, int64_t now_ns,
                                   std::string_view value,
                                   const std::vector<std::string>& tags,
                                   caf::timespan ttl);

/// Writes `key` into `table` at `now_ns`; returns the entry's version.
/// REQUIRES: opts.check_key(key) passed and `table` owns `key`.
caf::expected<uint64_t>
checked_put(shard_table& table, const node_options& opts, int64_t now_ns,
            std::string_view key, std::string value, caf::timespan ttl,
            std::vector<std::string> tags, uint64_t version);

/// Installs the value `x` of `key` that a fetch with `fo` loaded under fill
/// `fill` in `load_ns`: it expires fo.ttl after `now_ns` and stays readable
/// as stale for the longer of fo's stale windows. Returns whether the table
/// took it (false: a write or an invalidation superseded the load, or a newer
/// sourced version is cached; the fill ended either way), or the error that
/// refuses the value (size, tags, TTL; the fill is still open then).
/// REQUIRES: opts.check_key(key) passed and `table` owns `key`.
caf::expected<bool> checked_fill(shard_table& table, const node_options& opts,
                                 int64_t now_ns, std::string_view key,
                                 uint64_t fill, const loaded& x,
                                 const fetch_options& fo, int64_t load_ns);

} // namespace cachebus
