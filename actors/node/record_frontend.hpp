// The record frontend: the node frontend (node_frontend.hpp) plus the write
// paths of a node with a system of record (record_cache.hpp), as one typed
// actor for clients in other processes. Its interface is a superset of
// node_frontend_actor, so a client may connect to it as either.
//
//   everything of node_frontend_actor   -> answered by an inner node frontend
//   update(resource, id, fields)        -> version: write-through
//   queue_update(resource, id, fields)  -> ok: write-back (journaled when it
//                                          answers; needs
//                                          cachebus.write-back.journal)
//   record(resource, id)                -> (fields, version): the record from
//                                          the cache, else from the store
//
// Without a record cache (no cachebus.store) the three record requests answer
// invalid_config. Record requests block on store I/O and fsync, so they run
// on a small pool of detached workers (never on a scheduler worker); node
// requests never block. Errors are those of record_cache.
//
// Stopping: send the frontend an exit message; it ends its inner frontend and
// its workers and terminates only after all of them (a worker in store I/O
// finishes its call first). Once the frontend is down, no call of the record
// cache runs any more, so record_cache::stop() may follow. If a child ends
// on its own (it should not), the frontend ends too: its clients see it go
// down rather than wait for answers that never come.
#pragma once

#include "caf/typed_actor.hpp"

#include "cachebus/actors/node/node_frontend.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/stores/record.hpp"

namespace cachebus {

/// The three record calls (served by the frontend's workers).
using record_calls_actor = caf::typed_actor<
  caf::replies_to<caf::update_atom, std::string, std::string,
                  stores::field_map>::with<uint64_t>,
  caf::replies_to<queue_update_atom, std::string, std::string,
                  stores::field_map>::with<caf::ok_atom>,
  caf::replies_to<record_atom, std::string,
                  std::string>::with<stores::field_map, uint64_t>>;

using record_frontend_actor
  = node_frontend_actor::extend_with<record_calls_actor>;

/// Spawns a record frontend for `n` and `rc` (nullptr: no store) with
/// `workers` (at least 1) detached workers for record requests.
/// REQUIRES: `n` and `rc` outlive the frontend (see "Stopping" above).
record_frontend_actor spawn_record_frontend(caf::actor_system& sys, node* n,
                                            record_cache* rc,
                                            size_t workers = 4);

} // namespace cachebus
