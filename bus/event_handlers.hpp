// Actors generic over the invalidation kinds (events.hpp): the typed-actor
// signatures "answers every kind of event with R" (or "takes every kind and
// replies nothing") and a behavior with one handler per kind, so that no actor
// lists the kinds by hand. Adding a kind to `invalidation_events` adds it to
// every interface and behavior built here.
#pragma once

#include <tuple>
#include <utility>

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "cachebus/bus/events.hpp"

namespace cachebus {

namespace detail {

template <class Result, class List, class... Sigs>
struct answering_events;

template <class Result, class... Events, class... Sigs>
struct answering_events<Result, event_list<Events...>, Sigs...> {
  using type = caf::typed_actor<
    typename caf::replies_to<Events>::template with<Result>..., Sigs...>;
};

template <bool Const, class F, class... Events>
auto event_handlers(event_list<Events...>, F f) {
  if constexpr (Const)
    return std::make_tuple([f](const Events& ev) { return f(ev); }...);
  else
    return std::make_tuple([f](Events& ev) { return f(ev); }...);
}

template <bool Const, class Behavior, class F, class... Handlers>
Behavior behavior_of(F on_event, Handlers... others) {
  return std::apply(
    [&](auto&&... per_kind) {
      return Behavior{per_kind..., std::move(others)...};
    },
    event_handlers<Const>(invalidation_events{}, std::move(on_event)));
}

} // namespace detail

/// A typed actor that answers every invalidation event with `Result` and
/// also speaks `Sigs...`.
template <class Result, class... Sigs>
using answers_events =
  typename detail::answering_events<Result, invalidation_events, Sigs...>::type;

/// A typed actor that takes every invalidation event without a reply
/// (`caf::reacts_to<Event>` for each kind: how an actor that only forwards
/// or records what the bus delivers, anonymously, sees them) and also speaks
/// `Sigs...`.
template <class... Sigs>
using reacts_to_events = answers_events<void, Sigs...>;

/// A behavior (`Behavior`: caf::behavior or a typed behavior type) of one
/// handler per invalidation kind, each calling `on_event(ev)` (a generic
/// lambda) with the event as a mutable lvalue, followed by `others`.
template <class Behavior, class F, class... Handlers>
Behavior with_event_handlers(F on_event, Handlers... others) {
  return detail::behavior_of<false, Behavior>(std::move(on_event),
                                              std::move(others)...);
}

/// As with_event_handlers, with the event as a const lvalue: a handler that
/// only reads never makes CAF copy a message shared by several receivers.
template <class Behavior, class F, class... Handlers>
Behavior with_const_event_handlers(F on_event, Handlers... others) {
  return detail::behavior_of<true, Behavior>(std::move(on_event),
                                             std::move(others)...);
}

} // namespace cachebus
