// The parts of the node's cache-aside path that its synchronous and
// asynchronous fetches share (node_fetch.cpp, node_async.cpp). Private.
#pragma once

#include <string>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/cache/shard_table.hpp"
#include "cachebus/actors/flight/lock_messages.hpp"
#include "cachebus/actors/node/node.hpp"

namespace cachebus {

struct node_state;

/// A request to the lock manager about `key` failed: its timeout becomes
/// errc::timeout naming cachebus.request-timeout, anything else passes.
caf::error waited_too_long(caf::error err, const std::string& key);

/// The caller holds `key` (`grant`): runs `loader` on this thread, installs
/// under the grant's fill lease and tells the lock manager what became of
/// it (release, fail, superseded). `old` / `old_value`: what the caller's
/// lookup found (stale-if-error serves it).
caf::expected<std::string> load_as_owner(node_state& st, const std::string& key,
                                         acquire_reply grant,
                                         const loader_fn& loader,
                                         const fetch_options& fo,
                                         const shard_table::lookup_result& old,
                                         const std::string& old_value);

} // namespace cachebus
