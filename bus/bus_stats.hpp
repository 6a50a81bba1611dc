// Counters of one bus actor, the reply to a bus_stats_atom request (bus.hpp).
// Monotonic counters count since the bus started; `subscribers` and `topics`
// are the current size of its subscription table.
#pragma once

#include <cstdint>

#include "caf/meta/type_name.hpp"

namespace cachebus {

struct bus_stats {
  /// Publish messages accepted (valid topic), matched or not.
  uint64_t published = 0;
  /// Payloads handed to subscribers: one per matching subscriber and publish.
  uint64_t delivered = 0;
  /// Subscribe, unsubscribe and publish messages refused (invalid topic or
  /// pattern, missing subscriber); they changed nothing.
  uint64_t rejected = 0;
  /// Distinct live subscribers (actors with at least one subscription).
  uint64_t subscribers = 0;
  /// Distinct subscribed topics and patterns.
  uint64_t topics = 0;

  friend bool operator==(const bus_stats&, const bus_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bus_stats& x) {
  return f(caf::meta::type_name("cachebus::bus_stats"), x.published,
           x.delivered, x.rejected, x.subscribers, x.topics);
}

} // namespace cachebus
