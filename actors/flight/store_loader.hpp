// The store loader: the node loader (node_setup::loader) of a node whose
// system of record is a stores::record_store. Asked (load, key), it maps the
// cache key to the record it is the canonical key of, reads that record from
// the store and answers loaded{encode_record(fields, version), version}: the
// very entry record_cache would install (record_cache.hpp, "Where a record
// lives in the cache"), so fetch-installed and write-through entries agree.
//
// Key -> record: the template that owns `key` (rules::match_key: the most
// specific of those that make it) must be the FIRST template of its rule,
// the record's canonical key (e.g. `user:{id}` for "user:42";
// "user:42:profile" is derived data of users/42 when `user:{id}:profile` is
// a template too, never the record "42:profile"), and its id must pass
// rules::check_id, the rule every write path applies (record_cache.hpp), so
// reads and writes refuse the same ids. Errors (cachebus errors, none
// changes anything):
//   - no template makes `key`, it is ambiguous, or its template is not a
//     first template: invalid_argument;
//   - its id makes another key the rules give to another template or id
//     (rules::check_id): invalid_key;
//   - the record does not exist: not_found;
//   - the store refuses or is down: to_error(status) of record_cache.hpp
//     (unknown_resource if the store never declared the resource,
//     store_unavailable, store_error, ...).
//
// Write-back reads its own writes: with `pending` (this node's queued
// write-back writes, pending_writes.hpp), the loader overlays the record's
// unflushed fields on what the store returns (read before the store, see
// there), and a record that so far exists only in the queue loads with
// version 0 (unsourced: any versioned invalidation removes it).
//
// The loader runs detached (store I/O blocks its own thread, never a
// scheduler worker) and serves one load at a time. It holds the store
// (shared) and a copy of the rules; stop it with an exit message after the
// node that uses it stopped.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "caf/actor_system.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/flight/lock_manager.hpp"
#include "cachebus/actors/invalidation/rules.hpp"
#include "cachebus/actors/writepaths/pending_writes.hpp"
#include "cachebus/stores/record_store.hpp"

namespace cachebus {

/// A record of a resource, by id.
struct record_ref {
  std::string resource;
  std::string id;
};

/// The record whose canonical key is `key` under `rs` (see above);
/// invalid_argument if there is none or it is ambiguous, invalid_key if its
/// id is one no write path accepts (sizes aside: the key itself is checked
/// by the node).
caf::expected<record_ref> record_for_key(const rules& rs, std::string_view key);

/// Spawns a detached store loader over `store` with the rules `rs`, which
/// overlays `pending` (may be null) on what it reads.
/// REQUIRES: store != nullptr
loader_actor
spawn_store_loader(caf::actor_system& sys,
                   std::shared_ptr<stores::record_store> store, rules rs,
                   std::shared_ptr<const pending_writes> pending = nullptr);

} // namespace cachebus
