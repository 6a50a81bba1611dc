// Where an actor of the event path runs: on the scheduler's worker threads
// (CAF's default), or on the middleman's I/O thread, as an io broker that
// holds no connections.
//
// Why the I/O thread: a peer's event arrives there (CAF's BASP broker reads
// it), and a Redis client's PUBLISH, DEL or SUBSCRIBE message is served there
// (the resp server is a broker). A message from one actor on that thread to
// another is run in the same turn of its event loop; a message to a worker
// thread wakes that thread first (a futex, and on a small or virtual machine
// tens of µs), and the answer wakes the I/O thread again (a write to its
// pipe). With the bus, the bridge, the invalidation listener and the Redis
// event relay on the I/O thread, an event crosses a node without a thread
// switch: read from the peer's socket, applied to the shards, written to the
// subscribers' sockets, like Redis's single event loop (bench:
// cluster_push). The cost: what those actors do (applying invalidations)
// runs on the thread that also serves every connection, so a long pattern
// invalidation delays I/O as it would in Redis.
//
// An actor spawned for the I/O thread must never block. Under CAF's
// deterministic test coordinator (scheduler.policy "testing") and in an
// actor system without a middleman there is no I/O thread to run on:
// placement_for() then answers `scheduler`.
#pragma once

#include <utility>

#include "caf/actor.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/broker.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/typed_broker.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace cachebus {

enum class actor_thread { scheduler, io };

/// `io` if `want_io` and `sys` has an I/O thread that runs actors: a
/// middleman, and a scheduler that is not CAF's deterministic test
/// coordinator; `scheduler` otherwise.
actor_thread placement_for(caf::actor_system& sys, bool want_io);

/// The actor classes of a handle type, per placement: for a typed_actor
/// handle, typed_event_based_actor and typed_broker over the same
/// signatures; for caf::actor, event_based_actor and broker.
template <class Handle>
struct actor_bases;

template <class... Sigs>
struct actor_bases<caf::typed_actor<Sigs...>> {
  using scheduler = caf::typed_event_based_actor<Sigs...>;
  using io = caf::io::typed_broker<Sigs...>;
};

template <>
struct actor_bases<caf::actor> {
  using scheduler = caf::event_based_actor;
  using io = caf::io::broker;
};

/// The `self` pointer of a stateful actor with interface `Handle` and state
/// `State` on each thread. An implementation written as a template over its
/// self pointer runs on either.
template <class Handle, class State>
using scheduler_pointer
  = caf::stateful_actor<State, typename actor_bases<Handle>::scheduler>*;

template <class Handle, class State>
using io_pointer
  = caf::stateful_actor<State, typename actor_bases<Handle>::io>*;

/// Spawns `impl<scheduler_pointer>` or `impl<io_pointer>` (`Impl` is a
/// class with a static template `run`) with `xs`, hidden or not: the
/// actor system does not wait for a hidden actor when it shuts down.
/// REQUIRES: `xs` is not empty (CAF 0.17.6 dereferences a null argument
/// tuple when it spawns a function that takes nothing but `self`).
template <class Handle, class State, class Impl, class... Ts>
Handle spawn_on(caf::actor_system& sys, actor_thread where, bool hidden,
                Ts&&... xs) {
  static_assert(sizeof...(Ts) > 0, "pass a placeholder such as caf::unit");
  if (where == actor_thread::io) {
    auto& mm = sys.middleman();
    auto fun = &Impl::template run<io_pointer<Handle, State>>;
    return hidden ? mm.spawn_broker<caf::hidden>(fun, std::forward<Ts>(xs)...)
                  : mm.spawn_broker(fun, std::forward<Ts>(xs)...);
  }
  auto fun = &Impl::template run<scheduler_pointer<Handle, State>>;
  return hidden ? sys.spawn<caf::hidden>(fun, std::forward<Ts>(xs)...)
                : sys.spawn(fun, std::forward<Ts>(xs)...);
}

} // namespace cachebus
