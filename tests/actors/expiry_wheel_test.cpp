// The expiry wheel on its own: which bucket an instant lands in and when a
// bucket is due.
#include <catch2/catch.hpp>

#include "cachebus/actors/cache/expiry_wheel.hpp"
#include "cachebus/actors/node/options.hpp"

using namespace cachebus;

namespace {

constexpr int64_t tick = 1000;

struct item : expiry_wheel::hook {};

} // namespace

TEST_CASE("an instant lands in the bucket whose span holds it",
          "[expiry_wheel]") {
  expiry_wheel w{tick};
  CHECK(w.tick_of(0) == 1);
  CHECK(w.tick_of(999) == 1);
  CHECK(w.tick_of(1000) == 2);
  CHECK(w.tick_of(no_expiry) == -1);
}

TEST_CASE("a bucket is due once its whole span lies in the past",
          "[expiry_wheel]") {
  expiry_wheel w{tick};
  item x;
  w.schedule(x, 1500); // bucket 2: [1000, 2000)
  CHECK(w.due(1500) == nullptr);
  CHECK(w.due(1999) == nullptr);
  CHECK(w.due(2000) == &x);
}

TEST_CASE("an entry that never expires sits in no bucket", "[expiry_wheel]") {
  expiry_wheel w{tick};
  item x;
  w.schedule(x, no_expiry);
  CHECK(x.tick == -1);
  CHECK(w.buckets() == 0);
  CHECK(w.due(no_expiry - 1) == nullptr);
  w.unschedule(x); // harmless
  CHECK(w.buckets() == 0);
}

TEST_CASE("the earliest bucket is due first, and a bucket goes with its last "
          "entry",
          "[expiry_wheel]") {
  expiry_wheel w{tick};
  item a, b, c;
  w.schedule(a, 5500);
  w.schedule(b, 1200);
  w.schedule(c, 1700);
  CHECK(w.buckets() == 2);
  auto* first = w.due(10'000);
  REQUIRE(first != nullptr);
  CHECK((first == &b || first == &c));
  w.unschedule(b);
  CHECK(w.due(10'000) == &c);
  w.unschedule(c);
  CHECK(w.buckets() == 1);
  CHECK(w.due(10'000) == &a);
  w.unschedule(a);
  CHECK(w.buckets() == 0);
  CHECK(w.due(10'000) == nullptr);
}

TEST_CASE("rescheduling within the same bucket keeps the entry's place",
          "[expiry_wheel]") {
  expiry_wheel w{tick};
  item a, b;
  w.schedule(a, 1100);
  w.schedule(b, 1200); // b heads the bucket's list now
  w.reschedule(a, 1900);
  CHECK(w.due(2000) == &b);
  w.reschedule(a, 3500);
  CHECK(a.tick == 4);
  CHECK(w.buckets() == 2);
  w.unschedule(b);
  CHECK(w.due(2000) == nullptr);
  CHECK(w.due(4000) == &a);
}

TEST_CASE("a replaced entry takes the other's place in its bucket",
          "[expiry_wheel]") {
  expiry_wheel w{tick};
  item a, b, c, moved;
  w.schedule(a, 1500);
  w.schedule(b, 1500); // the bucket's first
  w.schedule(c, 5500);
  w.replace(b, moved);
  CHECK(w.due(2000) == &moved);
  w.unschedule(moved);
  CHECK(w.due(2000) == &a);
  w.unschedule(a);
  w.replace(c, b); // the only one in its bucket
  CHECK(w.due(6000) == &b);
  w.unschedule(b);
  CHECK(w.buckets() == 0);
  item never, other;
  w.schedule(never, no_expiry);
  w.replace(never, other); // in no bucket: stays in none
  CHECK(w.buckets() == 0);
}
