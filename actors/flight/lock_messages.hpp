// The message structs of the lock manager protocol (see lock_manager.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "caf/meta/type_name.hpp"

#include "cachebus/actors/flight/fetch_options.hpp"
#include "cachebus/actors/invalidation/applied_events.hpp"

namespace cachebus {

/// Ask for the right to load `key`. `wait`: if another caller is loading,
/// wait for its value (else answer `busy`). `refresh`: grant even if the key
/// is cached (early refresh, stale-while-revalidate).
struct acquire_request {
  std::string key;
  bool wait = true;
  bool refresh = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acquire_request& x) {
  return f(caf::meta::type_name("cachebus::acquire_request"), x.key, x.wait,
           x.refresh);
}

/// The answer to acquire: exactly one of three outcomes.
struct acquire_reply {
  enum outcome_t : uint8_t {
    /// You hold the key: load, complete fill `fill`, then release or fail
    /// with `token`.
    load,
    /// Another caller loaded (or had cached) it: here is `value`.
    value,
    /// Another caller is loading and you asked not to wait.
    busy,
  };
  uint8_t outcome = busy;
  uint64_t token = 0;
  uint64_t fill = 0;
  std::string val;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acquire_reply& x) {
  return f(caf::meta::type_name("cachebus::acquire_reply"), x.outcome, x.token,
           x.fill, x.val);
}

/// An owner node's answer to owner_fetch: the value, and the owner's clock
/// of applied events when its load began (or at its hit). The asking node
/// installs it only if that clock covers its own when it asked
/// (applied_events.hpp); otherwise it loads the key itself.
struct owner_reply {
  loaded value;
  event_clock clock;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_reply& x) {
  return f(caf::meta::type_name("cachebus::owner_reply"), x.value, x.clock);
}

/// Counters of the lock manager.
struct lock_stats {
  uint64_t grants = 0;         // loads granted
  uint64_t waits = 0;          // callers that waited for another's load
  uint64_t served = 0;         // waiters answered with a loaded value
  uint64_t failures = 0;       // loads that failed, threw or timed out
  uint64_t owner_deaths = 0;   // loads released because their owner died
  uint64_t expired = 0;        // leases that ran out
  uint64_t stale_fills = 0;    // loads superseded by a write or invalidation
  uint64_t reloads = 0;        // attempts begun for waiters that joined
                               // after a superseded attempt began
  uint64_t rejected = 0;       // callers refused (too many waiters)
  uint64_t forwarded = 0;      // loads sent to the key's owner node
  uint64_t owner_requests = 0; // loads asked of this node as owner
  uint64_t rerouted = 0;       // forwarded loads moved (owner lost, cycle,
                               // owner behind)
  uint64_t owner_behind = 0;   // owner answers refused: the owner had not
                               // applied events this node had
  uint64_t held = 0;           // keys being loaded now
  uint64_t waiting = 0;        // callers waiting now
  uint64_t members = 0;        // nodes that own keys' loads (self + peers)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_stats& x) {
  return f(caf::meta::type_name("cachebus::lock_stats"), x.grants, x.waits,
           x.served, x.failures, x.owner_deaths, x.expired, x.stale_fills,
           x.reloads, x.rejected, x.forwarded, x.owner_requests, x.rerouted,
           x.owner_behind, x.held, x.waiting, x.members);
}

} // namespace cachebus
