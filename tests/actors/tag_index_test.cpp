// The tag index on its own: live and retired states, and reclamation.
#include <catch2/catch.hpp>

#include "cachebus/actors/cache/tag_index.hpp"

using namespace cachebus;

namespace {

struct item : tag_index::member {};

} // namespace

TEST_CASE("linking creates one live state per tag and unlinking drops it",
          "[tag_index]") {
  tag_index idx;
  item a, b;
  idx.link(a, {"x", "y"});
  idx.link(b, {"x"});
  CHECK(idx.live_tags() == 2);
  CHECK(idx.links() == 3);
  CHECK(a.tag_bytes > 0);
  idx.unlink(a);
  CHECK(idx.live_tags() == 1); // "y" lost its last member
  CHECK(idx.links() == 1);
  CHECK(a.tag_bytes == 0);
  idx.unlink(b);
  CHECK(idx.live_tags() == 0);
}

TEST_CASE("an invalidated tag marks its members dead below its version",
          "[tag_index]") {
  tag_index idx;
  item a, other;
  idx.link(a, {"x", "y"});
  idx.link(other, {"z"});
  CHECK(tag_index::dead_below(a) == 0);
  auto* st = idx.invalidate("x", 7);
  REQUIRE(st != nullptr);
  CHECK(st->members == 1);
  CHECK(tag_index::dead_below(a) == 7);
  CHECK(tag_index::dead_below(other) == 0);
  idx.invalidate("y", 3);
  CHECK(tag_index::dead_below(a) == 7); // the highest
  CHECK(idx.live_tags() == 1);
  CHECK(idx.dead_tags() == 2);
  CHECK(idx.has_dead());
  idx.unlink(a);
  idx.unlink(other);
}

TEST_CASE("a tag without a live state here has nothing to invalidate",
          "[tag_index]") {
  tag_index idx;
  CHECK(idx.invalidate("nope", UINT64_MAX) == nullptr);
  CHECK_FALSE(idx.has_dead());
}

TEST_CASE("later members of an invalidated tag join a fresh live state",
          "[tag_index]") {
  tag_index idx;
  item old_one, new_one;
  idx.link(old_one, {"x"});
  idx.invalidate("x", UINT64_MAX);
  idx.link(new_one, {"x"});
  CHECK(tag_index::dead_below(old_one) == UINT64_MAX);
  CHECK(tag_index::dead_below(new_one) == 0);
  CHECK(idx.live_tags() == 1);
  idx.unlink(old_one);
  idx.unlink(new_one);
}

TEST_CASE("reclamation hands out the members of retired states, oldest "
          "first, and drops emptied states",
          "[tag_index]") {
  tag_index idx;
  item a, b;
  idx.link(a, {"x"});
  idx.link(b, {"y"});
  idx.invalidate("x", 5);
  idx.invalidate("y", UINT64_MAX);
  uint64_t below = 0;
  CHECK(idx.next_dead(below) == &a);
  CHECK(below == 5);
  idx.relink(a); // a survived: back to a live "x"
  CHECK(tag_index::dead_below(a) == 0);
  CHECK(idx.next_dead(below) == &b);
  CHECK(below == UINT64_MAX);
  idx.unlink(b);
  CHECK(idx.next_dead(below) == nullptr);
  CHECK_FALSE(idx.has_dead());
  CHECK(idx.live_tags() == 1);
  idx.unlink(a);
}
