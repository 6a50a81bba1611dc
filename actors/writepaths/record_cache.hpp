// cachebus::record_cache, the write-path facade: records of a system of
// record (stores::record_store) cached in a node, written through (store
// first) or back (journal first, store later, by the write-back flusher).
// Thread-safe: every call may come from any plain thread (not from an actor:
// calls block on store I/O and fsync). Per record, calls are serialized by a
// striped lock, so the cache sees one record's writes in store order. Owns the
// flusher and the journal; shares the store; the node must outlive it.
//
// Where a record lives in the cache: the FIRST key template of the resource's
// rule (node::rules(), e.g. `user:{id}`) is the record's canonical key. Its
// value is encode_record(fields, version) (record_codec.hpp): the record's
// fields, length-prefixed so any bytes round-trip, and the store version they
// are based on; the entry's version is that store version. Every other key
// of the rule (and of its dependents) is derived data the application caches
// itself; record_cache invalidates it with versioned events. The canonical
// entry carries the rule's tags (rules::add_key_tags), as a fetched one does.
//
// Which ids: every call checks (resource, id) with rules::check_id before it
// touches the store, the journal or the cache (the store loader applies the
// same rule to fetched keys). An id is refused with invalid_key if any key
// or tag its rules make is longer than cachebus.max-key-size (the cache
// could not hold the record, nor invalidate it: its event would be
// refused), or if a key it makes means another template or id (users/"8:posts"
// would make `user:8:posts`, the derived key `user:{id}:posts` of users/8).
// A refused write changes nothing: no store write, no journal entry, no cache
// entry, no event.
//
// Every write wins: update() and queue_update() take an install lease on
// the record's canonical key (node::begin_install) before they read
// anything: it supersedes every load of the key in flight on this node, so
// no fetch installs a row it read before them, and their own install is
// refused if an event lands in between. update() installs the record as the
// store has it after the write (read back, never merged into a cached copy
// that may miss a write made behind our back).
// Write-back visibility (reads its own writes): queue_update merges its
// fields into the canonical entry at once (when it is cached), and load()
// and the node's store loader (with `pending`) overlay queued fields on what
// the store returns, so no fetch on this node installs a store row without
// them. Derived keys and other nodes see the write after its flush (the
// invalidation event carries the new version). Don't mix update() and
// queue_update() on one record: a later flush of older queued fields would
// win over update(). fetch() reads through node::fetch (single flight, fill
// lease) and returns the record decoded.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"
#include "cachebus/actors/writepaths/write_back_flusher_actor.hpp"
#include "cachebus/actors/writepaths/write_back_options.hpp"
#include "cachebus/actors/writepaths/write_back_stats.hpp"
#include "cachebus/stores/record_store.hpp"
#include "cachebus/stores/schema.hpp"

namespace cachebus {

class pending_writes;
class write_back_queue;
struct write_back_counters;

class record_cache {
 public:
  // -- construction -----------------------------------------------------------

  /// Starts the write paths of `n` over `store`. With a journal path, opens
  /// (creating) the journal, queues what it holds that is not yet in the
  /// store, and starts the flusher, which writes those first. Fails with
  /// invalid_config for bad options, journal_error if the journal can't be
  /// opened, is not one, or is held by another opener (named by pid). A
  /// damaged journal is recovered and reported (stats(), stderr; see
  /// stores/journal.hpp).
  /// REQUIRES: store != nullptr; `n` outlives the record_cache.
  /// With `pending`, the queue is attached to it while the record cache
  /// runs, so that the node's store loader reads this node's queued writes
  /// (pending_writes.hpp).
  static caf::expected<std::unique_ptr<record_cache>>
  start(node& n, std::shared_ptr<stores::record_store> store,
        write_back_options opts,
        std::shared_ptr<pending_writes> pending = nullptr);

  /// Same, with the `cachebus.write-back.*` options of n's actor system.
  static caf::expected<std::unique_ptr<record_cache>>
  start(node& n, std::shared_ptr<stores::record_store> store,
        std::shared_ptr<pending_writes> pending = nullptr);

  record_cache(const record_cache&) = delete;
  record_cache& operator=(const record_cache&) = delete;

  /// Calls stop().
  ~record_cache();

  // -- write-through
  // ------------------------------------------------------------

  /// Writes `fields` of (resource, id) to the store (on this thread), then
  /// sets the canonical key with the new version and publishes the
  /// invalidation event with it: derived keys go on every node, the fresh
  /// canonical entry survives. Returns the new version. On a store error the
  /// cache is untouched and the error is store_unavailable or store_error.
  /// Bad input (unknown_resource, invalid_field, invalid_argument,
  /// value_too_large, invalid_key for a refused id) changes nothing.
  caf::expected<uint64_t> update(std::string resource, std::string id,
                                 stores::field_map fields);

  // -- read
  // ---------------------------------------------------------------------

  /// The record (resource, id) as a value, never bytes: from its canonical
  /// entry, or on a miss from the store (then cached with its version),
  /// with this node's queued writes merged in. Single flight: concurrent
  /// fetches of one record on this node read the store once (the others get
  /// the entry it cached). Read fields with rec->fields.at("name") or
  /// typed with field_as<T>(*rec, "age") (record_fields.hpp). not_found if
  /// neither the store nor the queue has it; unknown_resource, invalid_rule
  /// as canonical_key(); decode_failed if the canonical key holds bytes that
  /// are not a record (someone set() it; nothing is served or changed). A
  /// record only queued so far has version 0.
  caf::expected<stores::record> fetch(const std::string& resource,
                                      const std::string& id);

  /// The same as fetch() (its former name).
  caf::expected<stores::record> load(const std::string& resource,
                                     const std::string& id) {
    return fetch(resource, id);
  }

  // -- write-back
  // ---------------------------------------------------------------

  /// Queues `fields` of (resource, id): in the journal (fsynced per
  /// cachebus.write-back.fsync) and in the canonical entry when this
  /// returns; in the store after the next flush. Validated like update().
  /// backpressure if max-queue records are queued (at once, or after
  /// backpressure-timeout in wait mode); journal_error if the journal
  /// failed (the write may or may not be flushed later); invalid_config if
  /// no journal is configured.
  caf::error queue_update(std::string resource, std::string id,
                          stores::field_map fields);

  /// Waits until every write queued before this call is in the store.
  /// timeout if that takes longer than `timeout` (e.g. the store is down;
  /// nothing is lost, the flusher keeps retrying).
  caf::error flush(caf::timespan timeout);

  /// Queue, flusher and journal metrics (no actor round trip).
  write_back_stats stats() const;

  /// The flusher actor (invalid if write-back is off).
  const write_back_flusher_actor& flusher() const noexcept { return flusher_; }

  bool write_back_enabled() const noexcept { return queue_ != nullptr; }

  // -- properties
  // ---------------------------------------------------------------

  /// The canonical cache key of (resource, id); unknown_resource if no rule
  /// declares `resource`, invalid_rule if its rule has no key template,
  /// invalid_key if the id is refused (see "Which ids" above).
  caf::expected<std::string> canonical_key(std::string_view resource,
                                           std::string_view id) const;

  const write_back_options& options() const noexcept { return opts_; }

  /// Flushes what it can within shutdown-timeout, stops the flusher and
  /// closes the journal (what was not flushed is replayed by the next
  /// start). Idempotent; afterwards every call returns errc::stopped.
  /// REQUIRES: no other call of this object is running.
  void stop();

 private:
  static constexpr size_t stripe_count = 256;

  record_cache(node& n, std::shared_ptr<stores::record_store> store,
               write_back_options opts);

  std::mutex& stripe(std::string_view resource, std::string_view id);

  // Validates a write and returns its canonical key.
  caf::expected<std::string> check(const stores::record_write& w);

  // Reads and decodes the canonical entry.
  std::optional<cached_record> cached(const std::string& key);

  // Caches `fields` at `version` under `key` with the node's install
  // `lease` (refused if a write or invalidation came since it began), or
  // drops the entry if the encoding is too large for the node. Ends the
  // lease.
  void install(const std::string& key, uint64_t lease,
               const stores::field_map& fields, uint64_t version);

  // The flusher's callback; see flushed_fn.
  void flushed(const stores::record_write& w, uint64_t version);

  node& node_;
  std::shared_ptr<stores::record_store> store_;
  write_back_options opts_;
  std::array<std::mutex, stripe_count> stripes_;
  // A copy of the store's declarations, refreshed when a write names a
  // resource or field it doesn't know (declarations only grow).
  mutable std::shared_mutex schema_mtx_;
  stores::schema schema_;
  std::shared_ptr<write_back_queue> queue_;
  std::shared_ptr<pending_writes> pending_;
  std::shared_ptr<write_back_counters> counters_;
  write_back_flusher_actor flusher_;
  std::atomic<bool> stopped_{false};
};

/// Maps a store status to the cachebus error a caller gets.
/// REQUIRES: !st.ok()
caf::error to_error(const stores::status& st);

} // namespace cachebus
