// The invalidation events that travel on the bus: plain copyable values with
// an `inspect` overload, registered in bus/type_ids.hpp so they can cross
// nodes. Every event names its origin node and that node's sequence number
// (one counter per origin over all event kinds, starting at 1; 0 means
// "unsequenced"), which lets a receiver drop duplicates and detect gaps, and
// the origin's wall-clock send time (ns since the Unix epoch; 0: unknown), by
// which receivers measure how late invalidations arrive. The bus itself never
// reads them: it forwards any payload unchanged.
//
// The kinds are declared once, in `invalidation_events` at the end of this
// file; routing (event_route.hpp), the bridge, the invalidation listener, the
// node facade and its frontends are generic over that list. Adding a kind
// touches: this file (its struct, inspect, topic and the list), type_ids.hpp
// (its type ID), actors/invalidation/invalidator.* (what it does to a cache)
// and, if users should type it, apps/cachebus-cli. Every event is published
// on one topic: `resource_topic(resource)` (topic.hpp) for `invalidated`, the
// fixed `topic` member for the others (`!` cannot occur in a resource name,
// so the two never collide).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace cachebus {

/// Record `id` of `resource` changed; published on resource_topic(resource).
/// The seed's `{:cache_invalidated, resource, id}`. `version` is the record's
/// new version, or 0 if unknown (then every cached entry of it is stale).
struct invalidated {
  std::string resource;
  std::string id;
  uint64_t version = 0;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const invalidated&, const invalidated&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invalidated& x) {
  return f(caf::meta::type_name("cachebus::invalidated"), x.resource, x.id,
           x.version, x.origin, x.sequence, x.sent_ns);
}

/// Every entry carrying `tag` is stale.
struct tag_invalidated {
  static constexpr std::string_view topic = "cache:!tags";

  std::string tag;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const tag_invalidated&, const tag_invalidated&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tag_invalidated& x) {
  return f(caf::meta::type_name("cachebus::tag_invalidated"), x.tag, x.origin,
           x.sequence, x.sent_ns);
}

/// The entries under exactly these keys are stale.
struct keys_invalidated {
  static constexpr std::string_view topic = "cache:!keys";

  std::vector<std::string> keys;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const keys_invalidated&, const keys_invalidated&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, keys_invalidated& x) {
  return f(caf::meta::type_name("cachebus::keys_invalidated"), x.keys, x.origin,
           x.sequence, x.sent_ns);
}

/// Every key matching the glob is stale (`search:q:page:*`).
struct pattern_invalidated {
  static constexpr std::string_view topic = "cache:!patterns";

  std::string glob;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const pattern_invalidated&, const pattern_invalidated&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pattern_invalidated& x) {
  return f(caf::meta::type_name("cachebus::pattern_invalidated"), x.glob,
           x.origin, x.sequence, x.sent_ns);
}

/// A list of event kinds (a type list: no values).
template <class... Events>
struct event_list {};

/// Every kind of invalidation event: the one list that routing, the bridge,
/// the listener, the node facade and its frontends are generic over.
using invalidation_events = event_list<invalidated, tag_invalidated,
                                       keys_invalidated, pattern_invalidated>;

template <class List>
struct event_variant;

template <class... Events>
struct event_variant<event_list<Events...>> {
  using type = std::variant<Events...>;
};

/// Any one invalidation event.
using invalidation_event = event_variant<invalidation_events>::type;

/// Calls `f.template operator()<Event>()` for every kind, in list order.
template <class F, class... Events>
void for_each_event_kind(event_list<Events...>, F&& f) {
  (f.template operator()<Events>(), ...);
}

} // namespace cachebus
