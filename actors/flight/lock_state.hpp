// The lock manager's state and the functions its two halves share (private
// to actors/flight/lock_manager.cpp and lock_routing.cpp; see
// lock_manager.hpp for the protocol). lock_manager.cpp is single flight on
// one node: entries, attempts, waiters, fills, release and failure.
// lock_routing.cpp is where an attempt runs: the key's owner node
// (rendezvous hashing over the peers in session), a loader actor here, and
// the owner side of a peer's request. Every function runs inside the lock
// manager actor.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/flight/lock_manager.hpp"
#include "cachebus/actors/node/options.hpp"

namespace cachebus::lock_detail {

// Every waiter remembers the attempt that was current when it joined: an
// attempt whose value the table refused may answer only the waiters that
// joined before it began (see lock_manager.hpp).
struct acquire_waiter {
  caf::typed_response_promise<acquire_reply> promise;
  caf::strong_actor_ptr who;
  uint64_t joined = 0;
};

struct fetch_waiter {
  caf::typed_response_promise<std::string> promise;
  loader_actor loader;
  /// As the caller asked: the rule's tags are added if it loads.
  fetch_options opts;
  /// Fetched with the node loader: routed to the key's owner.
  bool routed = false;
  uint64_t joined = 0;
};

struct remote_waiter {
  caf::typed_response_promise<owner_reply> promise;
  uint64_t joined = 0;
  /// The asker's options: TTL and, above all, tags, which the load checks
  /// (a tag invalidation during an untagged load would go unnoticed). The
  /// rule's tags are added if it loads.
  fetch_options opts;
};

// Who runs the current attempt of a key's load.
enum class load_phase : uint8_t {
  /// A plain thread holds the key (the acquire protocol): `owner` is it, and
  /// a lease timer bounds it.
  thread_holds,
  /// This lock manager runs `loader` (an actor) here.
  loading_here,
  /// The key's owner node loads it; `forwarded_to` names that node.
  forwarded,
};

// One key being loaded.
struct lock_entry {
  uint64_t token = 0;
  uint64_t fill = 0;
  /// Counts the attempts (loads) of this entry: 1 for the first.
  uint64_t attempt = 0;
  /// This node's clocks when the attempt began (after its fill lease): what
  /// an owner's answer must cover, and what this node's answers as owner
  /// carry (applied_events.hpp).
  event_clock needed;
  event_clock clock;
  caf::actor_addr owner;
  load_phase phase = load_phase::thread_holds;
  loader_actor loader;
  fetch_options opts;
  int64_t started_ns = 0;
  std::deque<acquire_waiter> acquirers;
  std::deque<fetch_waiter> fetchers;
  /// Loads with the node loader, on the key's owner node (cluster-wide).
  bool routed = false;
  /// Routed, but load here: this node was asked as owner, or the owner could
  /// not be reached. Sticky for the entry's life.
  bool local_only = false;
  /// The peer the current attempt waits for (phase forwarded), else empty.
  std::string forwarded_to;
  /// Peers' lock managers that asked this node as the key's owner.
  std::deque<remote_waiter> remotes;

  size_t waiters() const {
    return acquirers.size() + fetchers.size() + remotes.size();
  }
};

struct lock_state {
  std::shared_ptr<local_cache> cache;
  node_options opts;
  std::shared_ptr<time_source> clk;
  std::unordered_map<std::string, lock_entry> locks;
  std::unordered_map<caf::actor_addr, size_t> monitored;
  uint64_t next_token = 1;
  lock_stats stats;
  /// Serves fetch(key, options) and owner_fetch; may be invalid.
  loader_actor node_loader;
  /// This node's unflushed write-back writes; may be null.
  std::shared_ptr<const pending_writes> pending;
  /// This node's clock of applied events; may be null (no clock checks).
  std::shared_ptr<const applied_events> applied;
  /// The central rules: a fetched entry carries the tags of the rule that
  /// owns its key (rules::add_key_tags); may be null (no rules).
  std::shared_ptr<const cachebus::rules> rule_set;
  /// The peers whose lock managers joined, by node name.
  std::map<std::string, lock_manager_actor> peers;
  /// This node and the peers: the candidates of rendezvous hashing.
  std::vector<std::string> members;
  static inline const char* name = "cachebus.lock_manager";
};

using lm_ptr = lock_manager_actor::stateful_pointer<lock_state>;

// -- single flight (lock_manager.cpp) -----------------------------------------

void watch(lm_ptr self, const caf::actor_addr& who);
void unwatch(lm_ptr self, const caf::actor_addr& who);

/// Begins a new attempt of `key`'s entry (fresh token and fill lease).
void new_attempt(lm_ptr self, const std::string& key, lock_entry& e);

/// The current attempt of `key` failed with `err`.
void failed(lm_ptr self, const std::string& key, caf::error err);

/// The entry of `key` if `token` is still its current attempt, else null.
lock_entry* current(lm_ptr self, const std::string& key, uint64_t token);

/// A value for `key`'s attempt `token` arrived (loader or owner node).
void loaded_value(lm_ptr self, const std::string& key, uint64_t token,
                  loaded& x);

/// Refuses a new waiter of `key` beyond cachebus.max-waiters.
caf::error check_room(lm_ptr self, const std::string& key,
                      std::unordered_map<std::string, lock_entry>::iterator i);

/// Adds the tags of the rule that owns `key` to fo.tags; invalid_argument if
/// there are then too many. Only for the caller that loads (who opens the
/// entry, or the waiter that loads next): a hit or a waiter pays nothing.
caf::error add_rule_tags(const lock_state& st, const std::string& key,
                         fetch_options& fo);

/// A new entry for `key` whose load runs through `loader`.
lock_entry& open_entry(lm_ptr self, const std::string& key, loader_actor loader,
                       fetch_options fo, bool routed);

// -- where attempts run (lock_routing.cpp) ------------------------------------

/// Runs the current attempt of `key`: asks the key's owner node, or runs
/// the entry's loader actor here.
void start_actor_load(lm_ptr self, const std::string& key);

/// A peer's lock manager asks this node, the key's owner, for its value.
caf::result<owner_reply> owner_fetch(lm_ptr self, const std::string& key,
                                     fetch_options fo);

/// Membership from the bridge: peers whose lock managers can own keys.
void on_peer_event(lm_ptr self, const peer_event& ev);

} // namespace cachebus::lock_detail
