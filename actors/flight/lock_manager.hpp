// The lock manager: single-flight loading (stampede prevention). For each key
// it grants the right to load to one caller at a time; every other caller
// waits on a response promise and is woken by a message carrying the value,
// never by polling. The holder is monitored: if it dies the key is released
// at once; a lease timeout bounds a hung loader; a failed load releases the
// key, and by cachebus.loader-error its waiters either get the error
// ("propagate") or one of them loads next ("retry"). Waiters per key are
// bounded (too_many_waiters). Fills are registered in the shard table, so a
// value loaded before a write or an invalidation of its key is never
// installed. Such a superseded load ends its attempt: if the write left a
// fresh value cached, every waiter gets that; otherwise a new attempt runs
// for everyone (at most twice); after that, the waiters that joined before
// the attempt began get the loaded value (their reads began before the write
// completed), and those that joined later wait for a new attempt, which
// begins after they joined. So no waiter gets a value read before a write
// that completed before it asked, and every attempt answers at least the
// waiters it began with (no livelock under constant writes).
//
// Cluster-wide single flight: with a node loader (the loader every node of
// the cluster has, e.g. a store reader), fetch(key, options) routes each
// key's load to one live member, chosen by rendezvous hashing over this node
// and the peers whose lock managers joined (peer_events from the bridge, which
// carry the peer's lock manager as endpoint). This node's callers of a key
// wait on one local entry (one request per node); a non-owner forwards it to
// the owner's lock manager (owner_fetch), whose entry collects every node's
// request and runs the loader once; each node installs the value under its own
// fill lease, so an invalidation that reaches it during the load still wins.
// Membership changes move ownership without losing waiters: when the owner is
// lost, or the link to it fails, the entry is routed again (to the new owner,
// or loaded here); when two nodes' views disagree so that each forwards to the
// other, the one asked as owner loads itself, which breaks the cycle.
//
// Protocol:
//   acquire(acquire_request)             -> acquire_reply (load|value|busy)
//   release(key, token, value)           -  holder loaded and installed value;
//                                           waiters get what the table holds
//                                           when this arrives (an
//                                           invalidation may have come
//                                           between), or a new attempt
//   fail(key, token, error)              -  holder's load failed
//   fail(key, token, error, version)     -  the same, but the entry of
//                                           `version` the holder found may
//                                           serve the waiters while the
//                                           table still holds it
//                                           (stale-if-error)
//   superseded(key, token, loaded)       -> acquire_reply (value|load): the
//                                           holder loaded a value the table
//                                           refused (a write came after the
//                                           load began): return this value,
//                                           or run a new attempt; see above
//   fetch(key, loader_actor, options)    -> value: the whole cycle for actors;
//                                           the lock manager asks the loader
//   fetch(key, options)                  -> value: the same with the node
//                                           loader, single flight cluster-
//                                           wide; counts no hit or miss (the
//                                           caller checked the cache first)
//   owner_fetch(key, options)            -> owner_reply: from a peer's lock
//                                           manager, to this node as owner;
//                                           the asker installs the value
//                                           only if the reply's clock covers
//                                           its own (applied_events.hpp)
//   peer_event                           -  membership (bus, cache:!peers)
//   lease(key, token)                    -  internal lease timer
//   stats()                              -> lock_stats
#pragma once

#include <memory>
#include <string>

#include "caf/typed_actor.hpp"

#include "cachebus/actors/flight/fetch_options.hpp"
#include "cachebus/actors/flight/lock_messages.hpp"
#include "cachebus/actors/node/options.hpp"
#include "cachebus/actors/node/type_ids.hpp"
#include "cachebus/bus/peer_event.hpp"

namespace cachebus {

class applied_events;
class local_cache;
class pending_writes;
class rules;
class time_source;

/// An actor that loads values for the lock manager's fetch: (load, key) ->
/// loaded value or error. Blocking I/O belongs in a detached actor.
using loader_actor
  = caf::typed_actor<caf::replies_to<load_atom, std::string>::with<loaded>>;

using lock_manager_actor = caf::typed_actor<
  caf::replies_to<acquire_atom, acquire_request>::with<acquire_reply>,
  caf::reacts_to<release_atom, std::string, uint64_t, std::string>,
  caf::reacts_to<fail_atom, std::string, uint64_t, caf::error>,
  caf::reacts_to<fail_atom, std::string, uint64_t, caf::error, uint64_t>,
  caf::replies_to<superseded_atom, std::string, uint64_t,
                  loaded>::with<acquire_reply>,
  caf::replies_to<fetch_atom, std::string, loader_actor,
                  fetch_options>::with<std::string>,
  caf::replies_to<fetch_atom, std::string, fetch_options>::with<std::string>,
  caf::replies_to<owner_fetch_atom, std::string,
                  fetch_options>::with<owner_reply>,
  caf::reacts_to<peer_event>, caf::reacts_to<lease_atom, std::string, uint64_t>,
  caf::replies_to<stats_atom>::with<lock_stats>>;

/// Spawns a lock manager for `cache`. `node_loader` (may be invalid) serves
/// fetch(key, options) and owner_fetch; without it both answer
/// invalid_config. Its node name, for rendezvous hashing, is opts.name. Keys
/// that `pending` (may be null) holds are loaded here, not by their owner.
/// `applied` (may be null: no clock checks) is this node's clock of applied
/// events. With `rs` (may be null), every fetch, of actors and of peers,
/// tags the entry it installs with the tags of the rule that owns its key
/// (rules::add_key_tags), besides the tags the caller asked for. A waiter's
/// options, and so its tags, count only if it loads: a waiter whose tags
/// and the rule's are too many is refused (invalid_argument) when its turn
/// to load comes, not when it joins, and the next waiter loads. With
/// `hidden` the actor system does not wait for the lock manager when it
/// shuts down (its owner stops it).
lock_manager_actor spawn_lock_manager(
  caf::actor_system& sys, std::shared_ptr<local_cache> cache, node_options opts,
  std::shared_ptr<time_source> clk, loader_actor node_loader = {},
  std::shared_ptr<const pending_writes> pending = nullptr,
  std::shared_ptr<const applied_events> applied = nullptr,
  std::shared_ptr<const rules> rs = nullptr, bool hidden = false);

} // namespace cachebus
