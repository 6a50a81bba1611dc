// The events a node publishes: its origin name, its one sequence counter over
// all event kinds (1, 2, 3, ...: receivers drop duplicates and detect gaps by
// it), and the topic each kind travels on (bus/event_route.hpp). Publishing
// enqueues the event in the bus's mailbox before it returns, so "the event is
// on the bus" holds when an invalidation call returns. Thread-safe.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "caf/message.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/invalidation/lag_histogram.hpp"
#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/event_route.hpp"
#include "cachebus/bus/events.hpp"

namespace cachebus {

/// What the invalidation listener subscribes to.
constexpr std::string_view all_cache_topics = "cache:*";

class event_source {
 public:
  event_source(std::string origin, bus_actor bus)
      : origin_(std::move(origin)), bus_(std::move(bus)) {
    // nop
  }

  const std::string& origin() const noexcept { return origin_; }

  const bus_actor& bus() const noexcept { return bus_; }

  /// Stamps `ev` with this node's origin, next sequence and the wall-clock
  /// time, and publishes it on its topic (event_topic(), as the bridge
  /// routes it).
  template <class Event>
  void publish(Event ev) {
    ev.origin = origin_;
    ev.sent_ns = wall_clock_ns();
    ev.sequence = next_.fetch_add(1, std::memory_order_relaxed);
    auto topic = event_topic(ev);
    caf::anon_send(bus_, caf::publish_atom_v, std::move(topic),
                   caf::make_message(std::move(ev)));
  }

  /// The sequence number the next event will carry.
  uint64_t next_sequence() const noexcept {
    return next_.load(std::memory_order_relaxed);
  }

 private:
  std::string origin_;
  bus_actor bus_;
  std::atomic<uint64_t> next_{1};
};

} // namespace cachebus
