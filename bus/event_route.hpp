// Where an invalidation event travels and who stamped it: the topic an event
// is published on (derived from the event, as the publisher derives it) and
// its origin and sequence (events.hpp). The bridge reads this to forward only
// its own node's events and to republish a peer's events on the right topic.
// Pure functions, generic over the event kinds of events.hpp; a message that
// holds anything but exactly one event of a known kind has no route.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "caf/fwd.hpp"

#include "cachebus/bus/events.hpp"
#include "cachebus/bus/topic.hpp"

namespace cachebus {

struct event_route {
  std::string topic;
  std::string origin;
  uint64_t sequence = 0;
};

/// The topic `ev` is published on: its resource's topic for `invalidated`,
/// the kind's fixed topic otherwise.
template <class Event>
std::string event_topic(const Event& ev) {
  if constexpr (std::is_same_v<Event, invalidated>)
    return resource_topic(ev.resource);
  else
    return std::string{Event::topic};
}

/// The route of `msg` if it holds exactly one event of a known kind.
std::optional<event_route> route_of(const caf::message& msg);

/// About what `msg` (one event of a known kind) takes in memory: its strings
/// plus a fixed overhead; the fixed overhead alone for anything else. What
/// the origin log (origin_log.hpp) counts against its byte bound.
size_t event_bytes(const caf::message& msg);

} // namespace cachebus
