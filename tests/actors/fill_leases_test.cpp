// Fill leases on their own: what ends a lease and what a finished lease
// allows.
#include <catch2/catch.hpp>

#include "cachebus/actors/cache/fill_leases.hpp"

using namespace cachebus;

TEST_CASE("a lease nobody cancelled may install its value", "[fill_leases]") {
  fill_leases f;
  auto id = f.begin("k");
  CHECK(f.size() == 1);
  CHECK(f.finish("k", id, true));
  CHECK(f.size() == 0);
  CHECK_FALSE(f.finish("k", id, true)); // it ended
}

TEST_CASE("a later lease on the key replaces the earlier one",
          "[fill_leases]") {
  fill_leases f;
  auto first = f.begin("k");
  auto second = f.begin("k");
  CHECK(second > first);
  CHECK(f.size() == 1);
  CHECK_FALSE(f.finish("k", first, false));
  CHECK(f.finish("k", second, false)); // refusing `first` left it alone
}

TEST_CASE("cancelling a key ends its lease and no other", "[fill_leases]") {
  fill_leases f;
  auto k = f.begin("k");
  auto other = f.begin("other");
  f.cancel_key("k");
  CHECK_FALSE(f.finish("k", k, false));
  CHECK(f.finish("other", other, false));
}

TEST_CASE("a tag invalidation fails the tagged leases taken before it, and "
          "only those",
          "[fill_leases]") {
  fill_leases f;
  auto tagged = f.begin("a");
  auto untagged = f.begin("b");
  f.cancel_tagged();
  auto later = f.begin("c");
  CHECK_FALSE(f.finish("a", tagged, true));
  CHECK(f.finish("b", untagged, false));
  CHECK(f.finish("c", later, true));
}

TEST_CASE("a glob cancels the leases of the keys it matches", "[fill_leases]") {
  fill_leases f;
  auto a = f.begin("user:1:name");
  auto b = f.begin("user:2:name");
  auto c = f.begin("post:1");
  f.cancel_matching("user:*");
  CHECK(f.size() == 1);
  CHECK_FALSE(f.finish("user:1:name", a, false));
  CHECK_FALSE(f.finish("user:2:name", b, false));
  CHECK(f.finish("post:1", c, false));
}

TEST_CASE("cancelling a stale lease id leaves the current lease alone",
          "[fill_leases]") {
  fill_leases f;
  auto old_id = f.begin("k");
  auto new_id = f.begin("k");
  f.cancel("k", old_id);
  CHECK(f.size() == 1);
  f.cancel("k", new_id);
  CHECK(f.size() == 0);
}

TEST_CASE("cancelling all leases fails every one", "[fill_leases]") {
  fill_leases f;
  auto a = f.begin("a");
  auto b = f.begin("b");
  f.cancel_all();
  CHECK(f.size() == 0);
  CHECK_FALSE(f.finish("a", a, false));
  CHECK_FALSE(f.finish("b", b, false));
}

TEST_CASE("a load that begins during a write does not replace the write's "
          "lease",
          "[fill_leases][write-wins]") {
  fill_leases f;
  auto write = f.begin_write("k");
  auto load = f.begin("k");
  CHECK(f.size() == 1);
  CHECK(f.finish("k", write, false)); // the write installs
  // The load may have read the source before the write reached it.
  CHECK_FALSE(f.finish("k", load, false));
  CHECK(f.size() == 0);
}

TEST_CASE("a load that began during a write may install before the write "
          "does, and the write still installs after it",
          "[fill_leases][write-wins]") {
  fill_leases f;
  auto write = f.begin_write("k");
  auto load = f.begin("k");
  CHECK(f.finish("k", load, false));
  CHECK(f.size() == 1); // the write is still in flight
  CHECK(f.finish("k", write, false));
  CHECK(f.size() == 0);
}

TEST_CASE("a write supersedes the loads and writes of its key in flight",
          "[fill_leases][write-wins]") {
  fill_leases f;
  auto load = f.begin("k");
  auto first = f.begin_write("k");
  auto second = f.begin_write("k");
  CHECK_FALSE(f.finish("k", load, false));
  CHECK_FALSE(f.finish("k", first, false));
  CHECK(f.finish("k", second, false));
}

TEST_CASE("a write that gives up its install ends the load that began "
          "during it",
          "[fill_leases][write-wins]") {
  fill_leases f;
  auto write = f.begin_write("k");
  auto load = f.begin("k");
  f.cancel("k", write);
  CHECK(f.size() == 0);
  CHECK_FALSE(f.finish("k", load, false));
}

TEST_CASE("invalidations end write leases as they end loads, but a tag "
          "invalidation does not refuse a write",
          "[fill_leases][write-wins]") {
  fill_leases f;
  auto tagged_write = f.begin_write("a");
  auto tagged_load = f.begin("b");
  f.cancel_tagged();
  CHECK(f.finish("a", tagged_write, true)); // a new value, like a put
  CHECK_FALSE(f.finish("b", tagged_load, true));
  auto w = f.begin_write("k");
  f.cancel_key("k");
  CHECK_FALSE(f.finish("k", w, false));
  auto m = f.begin_write("user:1");
  f.cancel_matching("user:*");
  CHECK_FALSE(f.finish("user:1", m, false));
}
