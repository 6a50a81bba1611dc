// The PostgreSQL change feed: its payload, and changes made by anyone (the
// store, psql) reaching a change_listener. Waits are bounded polls.
#include <catch2/catch.hpp>

#include <chrono>

#include "cachebus/stores/change.hpp"
#include "cachebus/stores/change_listener.hpp"
#include "cachebus/stores/postgres_store.hpp"

#include "store_kinds.hpp"

using namespace cachebus::stores;
using namespace cachebus::test;
using namespace std::chrono_literals;

namespace {

constexpr auto bound = 5s;

// Polls until `n` changes arrived or the bound passed.
std::vector<change> collect(change_listener& listener, size_t n) {
  std::vector<change> out;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto batch = require_ok(listener.poll(100ms));
    out.insert(out.end(), batch.begin(), batch.end());
  }
  return out;
}

struct feed_fixture {
  postgres_kind kind;
  std::unique_ptr<postgres_store> store;
  std::unique_ptr<change_listener> listener;

  feed_fixture() {
    store = require_ok(postgres_store::open(kind.conninfo));
    declare_test_resources(*store);
    require_ok(store->install_change_feed());
    listener = require_ok(change_listener::open(kind.conninfo));
  }
};

} // namespace

TEST_CASE("a change payload decodes into resource, id, version and kind",
          "[stores][change]") {
  auto ch = parse_change(
    R"({"op" : "write", "resource" : "users", "id" : "a\"b\\c\u00e9\ud83d\ude00", "version" : 18446744073709551615})");
  REQUIRE(ch.ok());
  CHECK(ch->kind == change_kind::write);
  CHECK(ch->resource == "users");
  CHECK(ch->id == "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(ch->version == 18446744073709551615u);
  auto del = parse_change(
    R"({"version":3,"id":"7","extra":[],"resource":"orders","op":"delete"})");
  CHECK_FALSE(del.ok()); // arrays are not part of the format
  del = parse_change(R"({"version":3,"id":"7","extra":null,"n":-1.5e3,)"
                     R"("resource":"orders","op":"delete"})");
  REQUIRE(del.ok());
  CHECK(*del == change{change_kind::erase, "orders", "7", 3});
  CHECK(del->at_us == 0); // no "at": unknown
  auto at = parse_change(
    R"({"op":"write","resource":"u","id":"1","version":2,"at":1700000000123456})");
  REQUIRE(at.ok());
  CHECK(at->at_us == 1700000000123456);
}

TEST_CASE("malformed change payloads are refused", "[stores][change]") {
  for (
    auto payload : {
      "",
      "hello",
      "{}",
      R"({"op":"write","resource":"users","id":"1"})",
      R"({"op":"update","resource":"users","id":"1","version":1})",
      R"({"op":"write","resource":"users","id":1,"version":1})",
      R"({"op":"write","resource":"users","id":"1","version":-1})",
      R"({"op":"write","resource":"users","id":"1","version":1,"at":-5})",
      R"({"op":"write","resource":"users","id":"1","version":1,"at":"now"})",
      R"({"op":"write","resource":"users","id":"1","version":18446744073709551616})",
      R"({"op":"write","resource":"users","id":"1","version":01})",
      R"({"op":"write","resource":"users","id":"1","version":1} x)",
      R"({"op":"write","resource":"users","id":"\ud800","version":1})",
      R"({"op":"write","resource":"users","id":"\x","version":1})",
      R"({"op":"write","resource":"users","id":"1","version":1)",
    }) {
    INFO(payload);
    auto ch = parse_change(payload);
    REQUIRE_FALSE(ch.ok());
    CHECK(ch.error().code() == store_errc::invalid_argument);
  }
}

TEST_CASE_METHOD(feed_fixture,
                 "an update made with psql behind the store's back reaches the "
                 "change listener",
                 "[stores][postgres][change]") {
  auto v1 = require_ok(store->apply({{"users", "42", {{"name", "Ada"}}}}));
  auto own = collect(*listener, 1);
  REQUIRE(own.size() == 1);
  CHECK(own[0] == change{change_kind::write, "users", "42", v1[0]});
  // The trigger says when it ran (the change feed's lag is measured by it).
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  CHECK(own[0].at_us > now_us - 60'000'000);
  CHECK(own[0].at_us <= now_us + 1'000'000);
  // A separate raw libpq connection, as psql would be.
  run_sql(kind.conninfo, "UPDATE cachebus_fields SET value = 'Grace'::bytea "
                         "WHERE resource = 'users' AND id = '42'");
  auto changes = collect(*listener, 1);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == change_kind::write);
  CHECK(changes[0].resource == "users");
  CHECK(changes[0].id == "42");
  CHECK(changes[0].version > v1[0]);
  // The announced version is the one a load returns.
  auto rec = require_ok(store->load("users", "42"));
  CHECK(rec.version == changes[0].version);
  CHECK(rec.fields.at("name") == "Grace");
}

TEST_CASE_METHOD(feed_fixture,
                 "writes through the store and deletes with psql reach the "
                 "change listener in commit order",
                 "[stores][postgres][change]") {
  // Installing the feed twice adds no second trigger.
  require_ok(store->install_change_feed());
  auto batch = require_ok(store->apply(
    {{"users", "1", {{"name", "a"}}}, {"orders", "o'1", {{"total", "3"}}}}));
  auto changes = collect(*listener, 2);
  CHECK(
    changes
    == std::vector<change>{{change_kind::write, "users", "1", batch[0]},
                           {change_kind::write, "orders", "o'1", batch[1]}});
  run_sql(kind.conninfo,
          "INSERT INTO cachebus_records (resource, id) VALUES ('users', '2');"
          "DELETE FROM cachebus_records WHERE resource = 'orders'");
  changes = collect(*listener, 2);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].kind == change_kind::write);
  CHECK(changes[0].id == "2");
  CHECK(changes[0].version > batch[1]);
  CHECK(changes[1].kind == change_kind::erase);
  CHECK(changes[1].resource == "orders");
  CHECK(changes[1].id == "o'1");
  CHECK(changes[1].version > changes[0].version);
  // Nothing else (no duplicates) came in between.
  auto v = require_ok(store->apply({{"users", "1", {{"age", "1"}}}}));
  changes = collect(*listener, 1);
  CHECK(changes
        == std::vector<change>{{change_kind::write, "users", "1", v[0]}});
}

TEST_CASE_METHOD(feed_fixture,
                 "notifications on the channel that are not changes are "
                 "dropped and counted",
                 "[stores][postgres][change]") {
  run_sql(kind.conninfo, "NOTIFY cachebus, 'hello'");
  auto v = require_ok(store->apply({{"users", "1", {{"name", "a"}}}}));
  auto changes = collect(*listener, 1);
  CHECK(changes
        == std::vector<change>{{change_kind::write, "users", "1", v[0]}});
  CHECK(listener->malformed() == 1);
}

TEST_CASE_METHOD(feed_fixture,
                 "a change listener reports a lost connection and resumes "
                 "after the server is back",
                 "[stores][postgres][change]") {
  auto& cluster = pg_cluster::shared();
  {
    struct restart_guard {
      pg_cluster& cluster;
      ~restart_guard() {
        if (!cluster.running())
          cluster.start();
      }
    } guard{cluster};
    cluster.stop();
    auto deadline = std::chrono::steady_clock::now() + bound;
    status err;
    while (err.ok() && std::chrono::steady_clock::now() < deadline) {
      auto res = listener->poll(100ms);
      if (!res.ok())
        err = res.error();
      else
        CHECK(res->empty());
    }
    CHECK(err.code() == store_errc::unavailable);
    // Still down: the reconnect attempt fails at once.
    CHECK(listener->poll(0ms).error().code() == store_errc::unavailable);
    cluster.start();
  }
  REQUIRE(listener->poll(0ms).ok()); // reconnects and listens again
  auto v = require_ok(store->apply({{"users", "1", {{"name", "back"}}}}));
  auto changes = collect(*listener, 1);
  CHECK(changes
        == std::vector<change>{{change_kind::write, "users", "1", v[0]}});
}
