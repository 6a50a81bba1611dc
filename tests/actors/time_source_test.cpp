// The time source on its own: before() gives the answer now_ns() gives,
// whether it settles it from the coarse clock or reads the precise one.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "cachebus/actors/cache/time_source.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

TEST_CASE("a deadline that has passed is never reported ahead, however "
          "coarse the clock",
          "[time_source]") {
  time_source clk;
  // Deadlines at and just behind now: inside the coarse clock's margin, so
  // every one of them must go to the precise clock and come back false.
  for (int i = 0; i < 200'000; ++i) {
    auto now = clk.now_ns();
    REQUIRE_FALSE(clk.before(now));
    REQUIRE_FALSE(clk.before(now - i % 1000));
  }
}

TEST_CASE("a deadline beyond the margin is ahead, and a close one becomes "
          "due exactly when the precise clock passes it",
          "[time_source]") {
  time_source clk;
  CHECK(clk.coarse_margin_ns() <= 40'000'000);
  CHECK(clk.before(clk.now_ns() + 3'600'000'000'000));
  CHECK(clk.before(INT64_MAX));
  auto deadline = clk.now_ns() + 2'000'000; // 2 ms: inside any margin
  while (clk.now_ns() < deadline)
    std::this_thread::yield();
  CHECK_FALSE(clk.before(deadline));
}

TEST_CASE("manual time answers before() from the time the test set",
          "[time_source]") {
  time_source clk;
  clk.make_manual();
  auto t0 = clk.now_ns();
  CHECK(clk.before(t0 + 1));
  CHECK_FALSE(clk.before(t0));
  clk.advance(1ms);
  CHECK_FALSE(clk.before(t0 + 1'000'000));
  CHECK(clk.before(t0 + 1'000'001));
}
