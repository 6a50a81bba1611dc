// The events a node publishes: its origin name, its one sequence counter over
// all event kinds (1, 2, 3, ...: receivers drop duplicates and detect gaps by
// it), and the topics each kind travels on. Publishing enqueues the event in
// the bus's mailbox before it returns, so "the event is on the bus" holds
// when an invalidation call returns. Thread-safe.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "caf/message.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/lag_histogram.hpp"
#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/topic.hpp"

namespace cachebus {

/// Topics of the events that do not belong to one resource. `!` cannot occur
/// in a resource name, so they never collide with resource_topic().
constexpr std::string_view tag_topic = "cache:!tags";
constexpr std::string_view keys_topic = "cache:!keys";
constexpr std::string_view pattern_topic = "cache:!patterns";

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
  /// time, and publishes it.
  template <class Event>
  void publish(std::string topic, Event ev) {
    ev.origin = origin_;
    ev.sent_ns = wall_clock_ns();
    ev.sequence = next_.fetch_add(1, std::memory_order_relaxed);
    caf::anon_send(bus_, caf::publish_atom_v, std::move(topic),
                   caf::make_message(std::move(ev)));
  }

  void publish(invalidated ev) {
    auto topic = resource_topic(ev.resource);
    publish(std::move(topic), std::move(ev));
  }

  void publish(tag_invalidated ev) {
    publish(std::string{tag_topic}, std::move(ev));
  }

  void publish(keys_invalidated ev) {
    publish(std::string{keys_topic}, std::move(ev));
  }

  void publish(pattern_invalidated ev) {
    publish(std::string{pattern_topic}, std::move(ev));
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
