// The CAF type-ID block of the actors layer: every atom and message type that
// cachebus actors exchange, registered once (config.hpp loads the block). Types
// that cross nodes must be registered under the same name on both sides, which
// this block guarantees for every cachebus node.
#pragma once

#include <string>
#include <vector>

#include "caf/type_id.hpp"

#include "cachebus/actors/cache/shard_messages.hpp"
#include "cachebus/actors/flight/fetch_options.hpp"
#include "cachebus/actors/flight/lock_messages.hpp"
#include "cachebus/actors/invalidation/change_feed_stats.hpp"
#include "cachebus/actors/invalidation/listener_stats.hpp"
#include "cachebus/actors/writepaths/write_back_stats.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(cachebus_actors, caf::first_custom_type_id + 100)

CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::put_request))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::shard_stats))
CAF_ADD_TYPE_ID(cachebus_actors, (std::vector<cachebus::shard_stats>))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::listener_stats))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::fetch_options))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::loaded))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::acquire_request))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::acquire_reply))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::lock_stats))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::change_feed_stats))

CAF_ADD_ATOM(cachebus_actors, cachebus, stats_atom, "stats")
CAF_ADD_ATOM(cachebus_actors, cachebus, sweep_atom, "sweep")
CAF_ADD_ATOM(cachebus_actors, cachebus, observe_atom, "observe")
CAF_ADD_ATOM(cachebus_actors, cachebus, applied_atom, "applied")
CAF_ADD_ATOM(cachebus_actors, cachebus, acquire_atom, "acquire")
CAF_ADD_ATOM(cachebus_actors, cachebus, release_atom, "release")
CAF_ADD_ATOM(cachebus_actors, cachebus, fail_atom, "fail")
CAF_ADD_ATOM(cachebus_actors, cachebus, fetch_atom, "fetch")
CAF_ADD_ATOM(cachebus_actors, cachebus, load_atom, "load")
CAF_ADD_ATOM(cachebus_actors, cachebus, lease_atom, "lease")
CAF_ADD_ATOM(cachebus_actors, cachebus, poll_atom, "poll")
CAF_ADD_ATOM(cachebus_actors, cachebus, owner_fetch_atom, "ownfetch")
CAF_ADD_ATOM(cachebus_actors, cachebus, lock_stats_atom, "lockstats")

CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::write_back_stats))
CAF_ADD_ATOM(cachebus_actors, cachebus, wb_flush_atom, "wbflush")
CAF_ADD_ATOM(cachebus_actors, cachebus, wb_tick_atom, "wbtick")
CAF_ADD_ATOM(cachebus_actors, cachebus, wb_retry_atom, "wbretry")
CAF_ADD_ATOM(cachebus_actors, cachebus, wb_drain_atom, "wbdrain")
CAF_ADD_ATOM(cachebus_actors, cachebus, record_atom, "record")
CAF_ADD_ATOM(cachebus_actors, cachebus, queue_update_atom, "queueupd")
CAF_ADD_ATOM(cachebus_actors, cachebus, superseded_atom, "supersede")
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::event_clock))
CAF_ADD_TYPE_ID(cachebus_actors, (cachebus::owner_reply))

CAF_END_TYPE_ID_BLOCK(cachebus_actors)
