#include "cachebus/bus/event_route.hpp"

#include "caf/message.hpp"

#include "cachebus/bus/topic.hpp"

namespace cachebus {

std::string event_topic(const invalidated& ev) {
  return resource_topic(ev.resource);
}

std::string event_topic(const tag_invalidated&) {
  return std::string{event_topics::tags};
}

std::string event_topic(const keys_invalidated&) {
  return std::string{event_topics::keys};
}

std::string event_topic(const pattern_invalidated&) {
  return std::string{event_topics::patterns};
}

namespace {

template <class Event>
std::optional<event_route> route_as(const caf::message& msg) {
  if (!msg.match_elements<Event>())
    return std::nullopt;
  auto& ev = msg.get_as<Event>(0);
  return event_route{event_topic(ev), ev.origin, ev.sequence};
}

} // namespace

std::optional<event_route> route_of(const caf::message& msg) {
  if (auto r = route_as<invalidated>(msg))
    return r;
  if (auto r = route_as<tag_invalidated>(msg))
    return r;
  if (auto r = route_as<keys_invalidated>(msg))
    return r;
  return route_as<pattern_invalidated>(msg);
}

} // namespace cachebus
