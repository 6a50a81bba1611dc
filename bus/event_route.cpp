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

namespace {

// A caf::message, its element and the event's fixed fields.
constexpr size_t event_overhead = 128;

size_t payload_of(const invalidated& ev) {
  return ev.resource.size() + ev.id.size() + ev.origin.size();
}

size_t payload_of(const tag_invalidated& ev) {
  return ev.tag.size() + ev.origin.size();
}

size_t payload_of(const keys_invalidated& ev) {
  size_t n = ev.origin.size();
  for (auto& k : ev.keys)
    n += k.size() + sizeof(std::string);
  return n;
}

size_t payload_of(const pattern_invalidated& ev) {
  return ev.glob.size() + ev.origin.size();
}

} // namespace

size_t event_bytes(const caf::message& msg) {
  size_t result = event_overhead;
  bool found = false;
  for_each_event_kind(invalidation_events{}, [&]<class Event>() {
    if (!found && msg.match_elements<Event>()) {
      found = true;
      result += payload_of(msg.get_as<Event>(0));
    }
  });
  return result;
}

} // namespace cachebus
