// The clocks of applied events that keep an owner node's answer from
// predating an invalidation the asking node had already applied.
#include <catch2/catch.hpp>

#include <memory>

#include "cachebus/actors/invalidation/applied_events.hpp"
#include "cachebus/actors/invalidation/event_source.hpp"

using namespace cachebus;

namespace {

event_clock clock_of(std::vector<std::string> origins,
                     std::vector<uint64_t> seqs) {
  return event_clock{std::move(origins), std::move(seqs)};
}

} // namespace

TEST_CASE("a clock covers another when it is as far along for every origin",
          "[applied-events]") {
  auto have = clock_of({"a", "b"}, {5, 7});
  CHECK(have.covers(clock_of({"a", "b"}, {5, 7})));
  CHECK(have.covers(clock_of({"a"}, {3})));
  CHECK(have.covers(clock_of({"c"}, {0})));
  CHECK_FALSE(have.covers(clock_of({"b"}, {8})));
  // Never heard of c, or c is gone: its last events may not have arrived.
  CHECK_FALSE(have.covers(clock_of({"c"}, {1})));
}

TEST_CASE("the needed clock counts an event from the moment it is applied, "
          "the applied clock only once it has been",
          "[applied-events]") {
  auto self = std::make_shared<event_source>("me", bus_actor{});
  applied_events a{self};
  a.applying("peer", 4);
  CHECK(a.needed().of("peer") == 4);
  CHECK(a.applied().of("peer") == 0);
  a.applied("peer", 4);
  CHECK(a.applied().of("peer") == 4);
  a.applied("peer", 2); // late and out of order: never goes back
  CHECK(a.applied().of("peer") == 4);
  // This node's own invalidation counts as needed while it runs, before it
  // is published (its sequence is then the next one).
  CHECK(a.needed().of("me") == 0);
  {
    local_invalidation running{a};
    CHECK(a.needed().of("me") == 1);
    CHECK(a.applied().of("me") == 0);
  }
  CHECK(a.needed().of("me") == 0);
}

TEST_CASE("after the partition rule a peer's clock restarts where the drop "
          "leaves it",
          "[applied-events]") {
  auto self = std::make_shared<event_source>("me", bus_actor{});
  applied_events a{self};
  a.applying("peer", 500);
  a.applied("peer", 500);
  // Rejoined after a restart: the new session delivers from its sequence 4
  // on; 1..3 never arrive, and the drop took them in.
  a.reset("peer", 3);
  CHECK(a.applied().of("peer") == 3);
  CHECK(a.needed().of("peer") == 3);
  a.applied("peer", 4);
  CHECK(a.applied().of("peer") == 4);
}
