#include "cachebus/bus/event_route.hpp"

#include "caf/message.hpp"

namespace cachebus {

std::optional<event_route> route_of(const caf::message& msg) {
  std::optional<event_route> result;
  for_each_event_kind(invalidation_events{}, [&]<class Event>() {
    if (!result && msg.match_elements<Event>()) {
      auto& ev = msg.get_as<Event>(0);
      result = event_route{event_topic(ev), ev.origin, ev.sequence};
    }
  });
  return result;
}

} // namespace cachebus
