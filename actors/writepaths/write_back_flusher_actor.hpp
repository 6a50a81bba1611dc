// What an actor may send the write-back flusher (write_back_flusher.hpp):
// its typed interface on its own, so that record_cache.hpp can name the
// flusher without the queue and the journal behind it.
#pragma once

#include <cstdint>

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "cachebus/actors/node/type_ids.hpp"
#include "cachebus/actors/writepaths/write_back_stats.hpp"

namespace cachebus {

using write_back_flusher_actor = caf::typed_actor<
  /// Flush soon: the queue holds a full batch (anon_send it).
  caf::reacts_to<wb_flush_atom>,
  /// Internal: the flush timer and the retry timer.
  caf::reacts_to<wb_tick_atom>, caf::reacts_to<wb_retry_atom>,
  /// Replies (with the rows flushed so far) once every write queued before
  /// the request is in the store. Never times out by itself: request it with
  /// a timeout.
  caf::replies_to<wb_drain_atom>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<write_back_stats>>;

} // namespace cachebus
