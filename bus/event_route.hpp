// Where an invalidation event travels and who stamped it: the topic an event
// is published on (derived from the event, as the publisher derives it) and
// its origin and sequence (events.hpp). The bridge reads this to forward only
// its own node's events and to republish a peer's events on the right topic.
// Pure functions; a message that holds anything but exactly one of the four
// event kinds has no route.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caf/fwd.hpp"

#include "cachebus/bus/events.hpp"

namespace cachebus {

/// Topics of the events that do not belong to one resource (the same strings
/// the actors layer's event_source publishes on). `!` cannot occur in a
/// resource name, so they never collide with resource_topic().
namespace event_topics {
constexpr std::string_view tags = "cache:!tags";
constexpr std::string_view keys = "cache:!keys";
constexpr std::string_view patterns = "cache:!patterns";
} // namespace event_topics

struct event_route {
  std::string topic;
  std::string origin;
  uint64_t sequence = 0;
};

std::string event_topic(const invalidated& ev);
std::string event_topic(const tag_invalidated& ev);
std::string event_topic(const keys_invalidated& ev);
std::string event_topic(const pattern_invalidated& ev);

/// The route of `msg` if it holds exactly one event of a known kind.
std::optional<event_route> route_of(const caf::message& msg);

} // namespace cachebus
