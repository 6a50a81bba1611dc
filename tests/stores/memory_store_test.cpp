// What the in-memory store adds to the contract: a simulated outage.
#include <catch2/catch.hpp>

#include "cachebus/stores/memory_store.hpp"

#include "store_kinds.hpp"

using namespace cachebus::stores;
using namespace cachebus::test;

TEST_CASE("a memory store in an outage refuses loads and writes, then recovers",
          "[stores][memory]") {
  memory_store store;
  declare_test_resources(store);
  auto v1 = require_ok(store.apply({{"users", "1", {{"name", "a"}}}}));
  store.set_available(false);
  CHECK_FALSE(store.available());
  CHECK(store.load("users", "1").error().code() == store_errc::unavailable);
  CHECK(store.apply({{"users", "1", {{"name", "b"}}}}).error().code()
        == store_errc::unavailable);
  // Validation still comes first; declarations need no backend.
  CHECK(store.apply({{"nope", "1", {}}}).error().code()
        == store_errc::unknown_resource);
  CHECK(store.declare("tags", {"label"}).ok());
  store.set_available(true);
  auto rec = require_ok(store.load("users", "1"));
  CHECK(rec.fields.at("name") == "a");
  CHECK(rec.version == v1[0]);
  CHECK(require_ok(store.apply({{"tags", "t", {{"label", "x"}}}}))[0] > v1[0]);
}

TEST_CASE("a memory record deleted and written again gets a newer version",
          "[stores][memory]") {
  memory_store store;
  declare_test_resources(store);
  auto v1 = require_ok(store.apply({{"users", "1", {{"name", "a"}}}}));
  CHECK(store.size() == 1);
  CHECK(store.erase("users", "1"));
  CHECK_FALSE(store.erase("users", "1"));
  CHECK(store.load("users", "1").error().code() == store_errc::not_found);
  auto v2 = require_ok(store.apply({{"users", "1", {{"age", "3"}}}}));
  CHECK(v2[0] > v1[0]);
  // The old fields died with the record.
  CHECK(require_ok(store.load("users", "1")).fields == field_map{{"age", "3"}});
}
