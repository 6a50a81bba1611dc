// cachebus::node, the embedding facade: starts one node's actors (cache
// shards, the bus unless one is given, the invalidation listener) inside a
// caller's caf::actor_system and gives plain threads a thread-safe blocking
// API. A hit is answered from the owning shard's table on the caller's thread
// (no actor round trip); writes take that table's write lock. Invalidations
// have been applied to every local shard when they return, and their event is
// on the bus for the other nodes by then. Code that is itself an actor talks
// to shards() and listener() with typed requests.
//
// Every call validates its input first: empty or oversized keys, oversized
// values, bad TTLs, tags, patterns and unknown resources get a cachebus error
// and change nothing. After stop() every call returns errc::stopped. A node
// must be stopped (or destroyed) before its actor_system is destroyed: a
// system destroyed under a running node aborts the process with a message
// naming the mistake (CAF would wait for the node's actors forever).
#pragma once

#include <concepts>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "cachebus/actors/cache/expire_condition.hpp"
#include "cachebus/actors/cache/node_stats.hpp"
#include "cachebus/actors/cache/put_condition.hpp"
#include "cachebus/actors/cache/removal.hpp"
#include "cachebus/actors/cache/shard.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/flight/fetch_options.hpp"
#include "cachebus/actors/flight/lock_manager.hpp"
#include "cachebus/actors/invalidation/invalidation_listener.hpp"
#include "cachebus/actors/invalidation/rules.hpp"
#include "cachebus/actors/node/codec.hpp"
#include "cachebus/actors/node/options.hpp"
#include "cachebus/bus/bridge.hpp"
#include "cachebus/bus/bridge_options.hpp"
#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/events.hpp"

namespace cachebus {

class pending_writes;
class transport;
struct node_state;

/// Options of one write.
struct set_options {
  /// default_ttl (0) applies cachebus.default-ttl; never_expires asks for an
  /// entry that never expires; anything else must lie in (0, max-ttl].
  caf::timespan ttl = default_ttl;
  std::vector<std::string> tags{};
  /// The source record's version; 0 lets the shard assign one.
  uint64_t version = 0;
};

/// Loads the value of a key from its source; runs on the fetching thread.
/// May return an error or throw: either releases the key. It may fetch other
/// keys; a fetch of the key it loads (on its thread) fails at once with
/// errc::invalid_argument rather than wait for itself.
using loader_fn = std::function<caf::expected<loaded>(const std::string& key)>;

/// What a typed loader (node::fetch_as) may return besides a plain T: the
/// value and, if the source knows it, the record's version (see `loaded`).
template <class T>
struct loaded_as {
  T value;
  uint64_t version = 0;
};

/// Told of one removal (node::on_removal).
using removal_listener = std::function<void(const removal&)>;

/// What a node needs beyond plain options; every member is optional.
struct node_setup {
  /// A manual clock for tests; the steady clock by default.
  std::shared_ptr<cachebus::time_source> clock{};
  /// Central invalidation rules; by default those of the file named by
  /// `cachebus.rules`, or none.
  std::optional<cachebus::rules> rules{};
  /// The bus to join (e.g. one shared by several nodes in a process); by
  /// default the node spawns its own and stops it on stop().
  std::optional<bus_actor> bus{};
  /// Cluster mode: a bridge links this node's bus to the other nodes' (CAF
  /// middleman; bridge.hpp). Its `node` name is set to the node's name.
  /// REQUIRES: the middleman is loaded (cachebus::config does).
  std::optional<bridge_options> cluster{};
  /// The node loader: what fetch(key, options) loads with. In cluster mode
  /// every node should have one that reads the same source (e.g. the system
  /// of record): each key's loads then run on one live node of the cluster
  /// (rendezvous hashing), the others wait for its value (lock_manager.hpp).
  /// Blocking I/O belongs in a detached actor.
  loader_actor loader{};
  /// This node's unflushed write-back writes (pending_writes.hpp; shared
  /// with its record_cache and store loader): keys with such writes are
  /// loaded here, never by another node that lacks them.
  std::shared_ptr<const pending_writes> pending{};
};

class node {
 public:
  // -- construction -----------------------------------------------------------

  /// Starts a node in `sys` with `opts` (validated first).
  static caf::expected<std::unique_ptr<node>>
  start(caf::actor_system& sys, node_options opts, node_setup setup = {});

  /// Starts a node in `sys` with the `cachebus.*` options of its config,
  /// including the rules file named by `cachebus.rules`. What `setup` sets
  /// wins over the config (rules, cluster); its loader, bus and clock can
  /// only come from there.
  static caf::expected<std::unique_ptr<node>> start(caf::actor_system& sys,
                                                    node_setup setup = {});

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops the node's actors and waits for them.
  ~node();

  // -- reads and writes (any thread)
  // -------------------------------------------

  /// Returns the value of a live entry, or errc::miss.
  caf::expected<std::string> get(std::string_view key) const;

  /// Like get(), but copies the value into `out`, reusing its capacity: a
  /// caller that keeps one buffer allocates nothing per hit. Returns no
  /// error on a hit (`out` holds the value), else errc::miss or the error
  /// get() gives (`out` unchanged).
  caf::error get_into(std::string_view key, std::string& out) const;

  /// Inserts or replaces `key`; returns the entry's version. Supersedes
  /// every load of `key` in flight (none installs what it read). With
  /// opts.version, errc::stale_version if a newer sourced version is cached.
  caf::expected<uint64_t> set(std::string_view key, std::string value,
                              const set_options& opts = {});

  // -- expiry and conditional writes (any thread) -----------------------------
  // What the Redis front end needs beyond get/set (TTL, EXPIRE, PERSIST,
  // SET NX/XX/GET/KEEPTTL), each decided under the key's table lock.

  /// How long the live entry of `key` has left: never_expires for one that
  /// never expires, else a positive duration; errc::miss if there is none.
  /// Counts neither a hit nor a miss and copies no value.
  caf::expected<caf::timespan> ttl(std::string_view key) const;

  /// Makes the live entry of `key` expire `ttl` from now (never_expires:
  /// never, asked for by name; default_ttl: cachebus.default-ttl), keeping
  /// its value, version and tags. Returns false (nothing changed) if there
  /// is no live entry; invalid_ttl as set() would refuse `ttl`. Not a write:
  /// no removal is reported and no event is published (expiry is local to
  /// each node's copy, as the TTL of set() is).
  caf::expected<bool> expire(std::string_view key, caf::timespan ttl);

  /// expire(key, ttl) only if `cond` holds for the live entry's current
  /// expiry and the new one (expire_condition.hpp), decided under the key's
  /// table lock; false (nothing changed) if it does not.
  caf::expected<bool> expire(std::string_view key, caf::timespan ttl,
                             expire_condition cond);

  /// set(key, value, opts) if `cond` holds for what `key` holds now (no
  /// live entry, or one), decided under the key's table lock: of concurrent
  /// set_if(if_absent) calls on one key exactly one writes. Validates like
  /// set(); opts.version must be 0 (the value is unsourced). A write
  /// supersedes loads in flight as set() does; a refused one changes
  /// nothing. The outcome says whether it wrote and, if asked, what the live
  /// entry held before.
  caf::expected<put_outcome> set_if(std::string_view key, std::string value,
                                    put_condition cond,
                                    const set_options& opts = {});

  // -- installs under a lease (write paths, any thread) -----------------------
  // A write path that reads (the cache, the store) before it writes the
  // cache, as record_cache does, installs under a lease, so that a write or
  // an invalidation that lands between its read and its install wins.

  /// Begins an install of `key` and supersedes every load and install of it
  /// in flight (none installs what it read). Returns the lease. A load that
  /// begins later does not replace the lease; it may install before ours
  /// (the write has not completed), never after it: install() and
  /// cancel_install() end its fill too.
  /// REQUIRES: opts.check_key(key) passed.
  uint64_t begin_install(std::string_view key);

  /// Installs `value` iff no write (set, a later begin_install) or
  /// invalidation reached `key` since begin_install returned `lease`, and
  /// opts.version is not older than a cached sourced version; true if
  /// installed, false if refused. The lease ends either way. Validates like
  /// set(). A refusal drops what `key` holds: no value from before the write
  /// stays readable once it completes, even one that what refused it spared
  /// (a versioned invalidation spares entries not older than its event,
  /// which may still be older than this write) or one a load that began
  /// during the write installed. On an error the caller drops the key.
  caf::expected<bool> install(std::string_view key, uint64_t lease,
                              std::string value, const set_options& opts = {});

  /// Ends `lease` without installing anything (and the loads of `key` that
  /// began since, which may have read the source before the write). For a
  /// write that did not happen, or one no load can have missed (record_cache
  /// queues before its lease, and its loads read the queue first).
  void cancel_install(std::string_view key, uint64_t lease);

  /// Invalidates `key` (same as invalidate({key})).
  caf::expected<size_t> erase(std::string_view key);

  /// Invalidates every key in `keys` (same as invalidate(keys)).
  caf::expected<size_t> erase(const std::vector<std::string>& keys);

  // -- cache-aside with single flight (any thread) ----------------------------

  /// Returns the cached value of `key`, or loads it with `loader` on this
  /// thread and caches it. Concurrent misses on a key run the loader once:
  /// the other callers wait for its value, woken by a message (no polling).
  /// Every write wins: a value whose load began before a write (set, a
  /// write path, an event) or an invalidation of `key` is never installed.
  /// This caller still gets it (it asked first); a waiter gets the value the
  /// write left, or a value loaded after it joined (lock_manager.hpp). Sourced
  /// versions never go backwards: a versioned set older than the cached
  /// version is refused with errc::stale_version. If the loader fails (error or
  /// exception), this caller gets the error and waiters get it too
  /// (cachebus.loader-error=propagate) or one of them loads (retry). See
  /// fetch_options for XFetch early refresh, stale-while-revalidate and
  /// stale-if-error; windows and TTL the call leaves at zero come from the rule
  /// whose key template makes `key`, and its tags tag the loaded value (see
  /// resolve_fetch). A tagged load is refused by any tag invalidation that
  /// lands while it runs (fill_leases.hpp): then it loads again, as after a
  /// write.
  caf::expected<std::string> fetch(std::string_view key,
                                   const loader_fn& loader,
                                   const fetch_options& opts = {});

  /// Returns the cached value of `key`, or loads it with the node loader
  /// (node_setup::loader; invalid_config without one) and caches it. Single
  /// flight spans the cluster: concurrent misses on any nodes run the loader
  /// once, on the key's owner node; every node installs the value under its
  /// own fill lease (no stale fill). TTL, tags and windows apply as in the
  /// loader_fn form; XFetch (beta) and serving stale values while one caller
  /// refreshes are not offered here (a stale entry is a miss).
  caf::expected<std::string> fetch(std::string_view key,
                                   const fetch_options& opts = {});

  /// The options a fetch of `key` runs with: what `call_opts` leaves at zero
  /// comes from the rule whose key template makes `key`, and the tags of
  /// that rule, expanded with the key's id (rules::add_key_tags: `tags =
  /// user:{id}` gives "user:8" to "user:8:posts"), join the call's tags, so
  /// that invalidate_tag("user:8") removes the fetched entry. Validates key
  /// and options (the errors fetch would return).
  caf::expected<fetch_options>
  resolve_fetch(std::string_view key, const fetch_options& call_opts) const;

  // -- typed values (any thread; codec.hpp) -----------------------------------
  // The byte calls above with cachebus::codec<T> at the edges: the same
  // validation, single flight, leases and consistency rules (they call
  // get, set and fetch). A cached value that does not decode as T is never
  // returned as one: the call fails with errc::decode_failed naming the key,
  // and the entry is left as it is (erase it, or let it expire).

  /// get(key) decoded as T: the value, errc::miss, or decode_failed.
  template <cacheable T>
  caf::expected<T> get_as(std::string_view key) const;

  /// set(key, codec<T>::encode(value), opts); encode_failed (nothing
  /// changed) if the codec refuses the value.
  template <cacheable T>
  caf::expected<uint64_t> set_as(std::string_view key, const T& value,
                                 const set_options& opts = {});

  /// fetch(key, loader, opts) with a typed loader, called on this thread
  /// with the key and returning T, loaded_as<T> (with the source version),
  /// or caf::expected of either. What it returns is encoded and installed
  /// under the fill lease; every caller, the loading one too, gets the
  /// cached bytes decoded as T. A value the codec refuses fails the load
  /// (encode_failed; waiters get it as they get any loader error).
  template <cacheable T, class Loader>
  requires std::invocable<Loader&, const std::string&> caf::expected<T>
  fetch_as(std::string_view key, Loader&& loader,
           const fetch_options& opts = {});

  /// fetch(key, opts) with the node loader, decoded as T (for the store
  /// loader's records: T = cached_record, record_codec.hpp).
  template <cacheable T>
  caf::expected<T> fetch_as(std::string_view key,
                            const fetch_options& opts = {});

  // -- invalidation (any thread) ----------------------------------------------
  // Each returns how many local entries it removed, after every local shard
  // applied it, and publishes its event for the other nodes.

  /// Multi-key invalidation, with the dependents of every key.
  caf::expected<size_t> invalidate(std::vector<std::string> keys);

  /// Every key matching `glob` (`*`, `?`, `\`); the glob must start with a
  /// literal prefix, which the ordered index serves without a full scan.
  caf::expected<size_t> invalidate_pattern(std::string glob);

  /// Every entry tagged `tag`: O(shards), not O(entries). Dependents of the
  /// tagged entries are not reached (that would cost O(entries)): give a
  /// derived entry the tags of what it derives from.
  caf::expected<size_t> invalidate_tag(std::string tag);

  /// Record `id` of `resource` changed to `version` (0: unknown). The central
  /// rules say which keys, tags and dependent resources that touches; only
  /// entries older than `version` go.
  caf::expected<size_t> publish_invalidation(std::string resource,
                                             std::string id,
                                             uint64_t version = 0);

  /// Any invalidation event (bus/events.hpp), as the call of its kind above
  /// would apply it: its origin, sequence and send time are ignored (this
  /// node stamps its own). What the frontends use, generic over the kinds.
  caf::expected<size_t> invalidate_event(invalidation_event ev);

  /// Invalidating `parent` will also invalidate `dependent` (transitively,
  /// cycle-safe). The edge lives as long as dependent's entry: errc::miss if
  /// `dependent` is not cached.
  caf::error track_dependency(const std::string& parent,
                              const std::string& dependent);

  /// Drops every entry and every load in flight on this node, without an
  /// event (the partition rule: after events may have been lost, nothing
  /// cached can be trusted). Returns how many entries were dropped.
  size_t clear();

  // -- asynchronous calls (any thread; they never block) ----------------------
  // Each returns at once with a future that holds what the blocking call
  // would have returned, errors included (never an exception, never a
  // broken promise: if the node stops first, errc::stopped). No thread is
  // made per call: waiting is a CAF request (the lock manager or the
  // listener answers it), and only a loader_fn needs a thread to run on.

  /// fetch(key, loader, opts) without blocking. A hit is a ready future.
  /// On a miss the call joins the same single flight as fetch (concurrent
  /// fetches and fetch_asyncs of a key run one loader); waiting takes no
  /// thread. If this call is the one to load, `loader` runs on one of the
  /// node's async loader threads (cachebus.async-loaders), never on the
  /// caller's; if cachebus.max-queued-async-loads loads already wait for
  /// one, the future gets errc::backpressure and the key is released.
  /// XFetch and stale-while-revalidate are not applied (a stale entry is a
  /// miss); stale-if-error is. `loader` is copied and runs after this call
  /// returns: whatever it refers to must outlive the future.
  std::future<caf::expected<std::string>>
  fetch_async(std::string_view key, loader_fn loader,
              const fetch_options& opts = {});

  /// fetch(key, opts) with the node loader, without blocking (the lock
  /// manager's actor path: no thread of this node is used at all).
  std::future<caf::expected<std::string>>
  fetch_async(std::string_view key, const fetch_options& opts = {});

  /// invalidate_event(ev) without blocking: the node's invalidation
  /// listener applies it to every local shard and publishes it, then the
  /// future holds the number of entries removed.
  std::future<caf::expected<size_t>> invalidate_async(invalidation_event ev);

  /// What fetch_then hands its callback: what fetch(key, opts) returns.
  using fetch_callback = std::function<void(caf::expected<std::string>)>;

  /// fetch(key, opts) with the node loader, for a caller that must not wait
  /// even for a future (an event loop, an io broker): a hit, or input the
  /// call refuses, is returned at once and `done` is never called; otherwise
  /// it returns std::nullopt and `done` gets the outcome exactly once, later,
  /// on one of the actor system's threads (the lock manager's actor path, as
  /// fetch_async: no thread of this node waits). If the node stops first,
  /// `done` gets errc::stopped. `done` must not block.
  std::optional<caf::expected<std::string>>
  fetch_then(std::string_view key, const fetch_options& opts,
             fetch_callback done);

  // -- removal notifications (any thread; removal.hpp) ------------------------
  // Like Caffeine's removalListener: a listener is told of every entry that
  // leaves this node's cache, with the cause (expired, evicted, replaced,
  // or the invalidation kind and, for another node's event, its origin).
  //
  // - Thread: every listener runs on one delivery thread of this node (not
  //   the caller's, not a CAF worker), started by the first on_removal;
  //   listeners never run under a cache lock, so they may call the node.
  // - Order: one at a time, in the order removals were queued. Removals of
  //   one shard (so every removal of one key) come in the order the shard
  //   applied them; removals on different shards in no particular order.
  //   An invalidation's removals are queued when the call returns, and are
  //   delivered shortly after (drain_removals waits for them).
  // - A slow listener delays the ones after it, never the cache: at most
  //   cachebus.max-queued-removals notifications wait; further ones are
  //   dropped and counted (removal_listener_stats().dropped).
  // - A listener that throws is counted (failed); delivery goes on.
  // - Cost: nothing on reads; with no listener registered, nothing on
  //   writes either. With one, a tag invalidation walks its entries to
  //   report them (O(tagged entries) instead of O(shards)).
  // - Not reported: the entries of a node being stopped; removals before
  //   the first on_removal. stop() delivers what is queued first.

  /// Registers `fn` for every removal from now on; returns its id for
  /// remove_removal_listener. invalid_argument for an empty function,
  /// stopped after stop().
  caf::expected<uint64_t> on_removal(removal_listener fn);

  /// Like on_removal, and `fn` is also told when a write makes a key that
  /// had no readable entry (removal_cause::created, with the writer): what
  /// a client that cached a miss needs (the Redis front end's CLIENT
  /// TRACKING). Writes of new keys cost one notification each while such a
  /// listener is registered. Unregister with remove_removal_listener.
  caf::expected<uint64_t> on_change(removal_listener fn);

  /// Unregisters listener `id`; when it returns the listener is not running
  /// and will not be called again (called from inside a listener: it will
  /// not be called again). Unknown ids are ignored.
  void remove_removal_listener(uint64_t id);

  /// Waits until every removal queued before this call has been delivered,
  /// at most `timeout`; true if it was (also when no listener was ever
  /// registered).
  bool drain_removals(caf::timespan timeout);

  /// Delivery counters (zero before the first on_removal).
  removal_stats removal_listener_stats() const;

  // -- introspection ----------------------------------------------------------

  /// The shards' counters (hits, misses, entries, ...), read from the
  /// tables on this thread: no actor round trip.
  node_stats stats() const;

  /// Single-flight counters of this node's lock manager (loader runs, waits,
  /// loads forwarded to other nodes, superseded loads, ...; lock_messages.hpp).
  /// Blocks this thread for one request to the lock manager, at most
  /// cachebus.request-timeout: errc::timeout if it does not answer in time,
  /// errc::stopped after stop().
  /// REQUIRES: not called from an actor's message handler (it blocks).
  caf::expected<cachebus::lock_stats> lock_stats() const;

  /// Counters of the invalidation listener: events from other nodes applied
  /// and rejected, partitions, the lag per origin (listener_stats.hpp). Waits
  /// and fails like lock_stats().
  /// REQUIRES: not called from an actor's message handler (it blocks).
  caf::expected<cachebus::listener_stats> listener_stats() const;

  // Write-back counters belong to the write paths, which the node does not
  // know: record_cache::stats() (runtime::records()->stats()).

  /// The node's parts, for in-tree tests and tools: the type is private
  /// (actors/node/node_state.hpp, not installed).
  node_state& internals() noexcept { return *s_; }

  // -- actor handles
  // ------------------------------------------------------------

  const std::vector<shard_actor>& shards() const noexcept;

  /// The shard that owns `key`.
  size_t shard_index(std::string_view key) const noexcept;

  const shard_actor& shard_for(std::string_view key) const noexcept;

  const bus_actor& bus() const noexcept;

  /// How many invalidation events this node has published (its sequence
  /// counter): every other member has applied them all once its listener
  /// counts that many from this origin (cluster quiescence).
  uint64_t events_published() const noexcept;

  /// The port this node's bridge listens on (cluster mode), else 0.
  uint16_t cluster_port() const noexcept;

  /// The transport the bridge listens and dials on (cluster mode), else
  /// nullptr: publish other ports of this node through it too, so that they
  /// get the same frame checks, handshake bounds and TLS credentials.
  const std::shared_ptr<cachebus::transport>& transport() const noexcept;

  /// The bridge (cluster mode), else an invalid handle.
  const bridge_actor& bridge() const noexcept;

  const invalidation_listener_actor& listener() const noexcept;

  /// Single flight for actors: send it (fetch, key, loader_actor, options).
  const lock_manager_actor& lock_manager() const noexcept;

  // -- properties -------------------------------------------------------------

  const node_options& options() const noexcept;

  const cachebus::rules& rules() const noexcept;

  cachebus::time_source& time() noexcept;

  caf::actor_system& system() noexcept;

  bool stopped() const noexcept;

  /// Stops every actor of this node and waits until they are gone, the
  /// cluster bridge's transport included (transport::stop; also when it
  /// was passed in node_setup). Idempotent; safe to call from any
  /// non-actor thread.
  void stop();

 private:
  node(caf::actor_system& sys, node_options opts);

  caf::error check_running() const;

  caf::expected<uint64_t> add_removal_listener(removal_listener fn,
                                               bool created);

  /// resolve_fetch without the rule's tags, which a fetch adds only on a
  /// miss (a hit pays nothing for them).
  caf::expected<fetch_options>
  resolve_untagged(std::string_view key, const fetch_options& call_opts) const;

  /// Adds the tags of the rule that owns `key` to fo.tags; invalid_argument
  /// if there are then more than cachebus.max-tags.
  caf::error add_rule_tags(std::string_view key, fetch_options& fo) const;

  /// Applies `ev` on this node's shards and, if it was valid, publishes it
  /// for the other nodes: every local invalidation call is this.
  template <class Event>
  caf::expected<size_t> invalidate_and_publish(Event ev);

  // Shared with the node's asynchronous calls, which may complete after
  // the node is gone (with errc::stopped).
  std::shared_ptr<node_state> s_;
};

// -- typed values: implementation ---------------------------------------------

namespace detail {

inline std::string quoted_key(std::string_view key) {
  std::string out = "key \"";
  out += key;
  out += '"';
  return out;
}

template <class T>
caf::expected<loaded> typed_loaded(loaded_as<T>&& x, const std::string& key) {
  auto bytes = encode_value<T>(x.value, quoted_key(key));
  if (!bytes)
    return std::move(bytes.error());
  return loaded{std::move(*bytes), x.version};
}

template <class T>
caf::expected<loaded> typed_loaded(T&& x, const std::string& key) {
  return typed_loaded<T>(loaded_as<T>{std::move(x), 0}, key);
}

// A typed loader's result, as the byte loader's.
template <class T, class R>
caf::expected<loaded> to_loaded(R&& r, const std::string& key) {
  using result = std::remove_cvref_t<R>;
  if constexpr (std::same_as<
                  result,
                  caf::expected<
                    T>> || std::same_as<result, caf::expected<loaded_as<T>>>) {
    if (!r)
      return std::move(r.error());
    return typed_loaded<T>(std::move(*r), key);
  } else if constexpr (std::same_as<result, loaded_as<T>>) {
    return typed_loaded<T>(std::move(r), key);
  } else {
    static_assert(std::convertible_to<result, T>,
                  "a fetch_as<T> loader returns T, loaded_as<T>, "
                  "caf::expected<T> or caf::expected<loaded_as<T>>");
    return typed_loaded<T>(T(std::forward<R>(r)), key);
  }
}

} // namespace detail

template <cacheable T>
caf::expected<T> node::get_as(std::string_view key) const {
  auto bytes = get(key);
  if (!bytes)
    return std::move(bytes.error());
  return detail::decode_value<T>(*bytes, detail::quoted_key(key));
}

template <cacheable T>
caf::expected<uint64_t> node::set_as(std::string_view key, const T& value,
                                     const set_options& opts) {
  auto bytes = detail::encode_value<T>(value, detail::quoted_key(key));
  if (!bytes)
    return std::move(bytes.error());
  return set(key, std::move(*bytes), opts);
}

template <cacheable T, class Loader>
requires std::invocable<Loader&, const std::string&> caf::expected<T>
node::fetch_as(std::string_view key, Loader&& loader,
               const fetch_options& opts) {
  loader_fn bytes_loader
    = [&loader](const std::string& k) -> caf::expected<loaded> {
    return detail::to_loaded<T>(std::invoke(loader, k), k);
  };
  auto bytes = fetch(key, bytes_loader, opts);
  if (!bytes)
    return std::move(bytes.error());
  return detail::decode_value<T>(*bytes, detail::quoted_key(key));
}

template <cacheable T>
caf::expected<T> node::fetch_as(std::string_view key,
                                const fetch_options& opts) {
  auto bytes = fetch(key, opts);
  if (!bytes)
    return std::move(bytes.error());
  return detail::decode_value<T>(*bytes, detail::quoted_key(key));
}

} // namespace cachebus
