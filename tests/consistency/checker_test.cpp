// The checker itself: each kind of violation in a hand-built history is
// reported, and a history that keeps the contract passes. (A checker that
// cannot fail would make the suite prove nothing.)
#include <catch2/catch.hpp>

#include "checker.hpp"

using namespace cachebus::consistency;

namespace {

op make(op::kind_t kind, std::string key, int64_t start, int64_t end,
        std::optional<uint64_t> version, int node = 0) {
  op x;
  x.kind = kind;
  x.key = std::move(key);
  x.start = start;
  x.end = end;
  x.version = version;
  x.node = node;
  x.what = "test";
  return x;
}

} // namespace

TEST_CASE("the checker passes reads that overlap a write or follow it",
          "[consistency][checker]") {
  history h{1};
  h.add(0, make(op::write, "k", 10, 20, 5));
  h.add(0, make(op::read, "k", 15, 25, 4)); // overlaps the write: either
  h.add(0, make(op::read, "k", 30, 31, 5));
  h.add(0, make(op::read, "k", 32, 33, std::nullopt)); // a miss is fine
  CHECK(check(h, {}).empty());
}

TEST_CASE("the checker reports a read older than a completed write",
          "[consistency][checker]") {
  history h{1};
  h.add(0, make(op::write, "k", 10, 20, 5));
  h.add(0, make(op::read, "k", 21, 22, 4));
  auto v = check(h, {});
  REQUIRE(v.size() == 1);
  CHECK(v.front().find("stale read") == 0);
}

TEST_CASE("the checker reports a read older than a completed invalidation",
          "[consistency][checker]") {
  history h{1};
  h.add(0, make(op::invalidate, "k", 10, 20, 7));
  h.add(0, make(op::read, "k", 25, 26, 6));
  CHECK(check(h, {}).size() == 1);
}

TEST_CASE("the checker allows another node the configured lag, and no more",
          "[consistency][checker]") {
  history h{1};
  h.add(0, make(op::write, "k", 10, 20, 5, 0));
  h.add(0, make(op::read, "k", 50, 51, 4, 1)); // within the lag
  check_options co;
  co.remote_lag_ns = 100;
  CHECK(check(h, co).empty());
  h.add(0, make(op::read, "k", 200, 201, 4, 1)); // past it
  CHECK(check(h, co).size() == 1);
}

TEST_CASE("the checker reports a value served after its TTL ran out",
          "[consistency][checker]") {
  history h{1};
  h.set_done(1, 0, 100, 50);
  auto r = make(op::read, "k", 120, 121, 3);
  r.set_serial = 1;
  h.add(0, r);
  CHECK(check(h, {}).empty());
  r.start = 151;
  h.add(0, r);
  auto v = check(h, {});
  REQUIRE(v.size() == 1);
  CHECK(v.front().find("expired value served") == 0);
}

TEST_CASE("the checker reports a stale cache after quiescence, overlapping "
          "loads and unexpected errors",
          "[consistency][checker]") {
  history h{1};
  h.add_final({"k", 9, 0, 9});
  h.add_final({"j", 9, 0, std::nullopt});
  CHECK(check(h, {}).empty());
  h.add_final({"k", 9, 1, 8});
  h.overlapping_load("k", 0);
  h.unexpected("fetch k: timeout");
  CHECK(check(h, {}).size() == 3);
}
