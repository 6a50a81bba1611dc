// What the PostgreSQL store adds to the contract, against a real server:
// real rollback, outages and reconnection, edits made with psql.
#include <catch2/catch.hpp>

#include "cachebus/stores/postgres_store.hpp"

#include "store_kinds.hpp"

using namespace cachebus::stores;
using namespace cachebus::test;

namespace {

// Restarts the shared cluster when a test that stopped it ends, even if the
// test failed half-way, so later tests find a server.
struct restart_guard {
  pg_cluster& cluster;
  ~restart_guard() {
    if (!cluster.running())
      cluster.start();
  }
};

} // namespace

TEST_CASE("a PostgreSQL batch that fails inside the transaction is rolled "
          "back whole",
          "[stores][postgres]") {
  postgres_kind kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto before = require_ok(store->apply({{"users", "1", {{"name", "old"}}}}));
  // Passes validation, then the server itself refuses the third write.
  run_sql(kind.conninfo, R"sql(
    CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.value = 'boom'::bytea THEN RAISE EXCEPTION 'boom refused'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_boom BEFORE INSERT ON cachebus_fields
      FOR EACH ROW EXECUTE FUNCTION refuse_boom();
  )sql");
  auto res = store->apply({{"users", "1", {{"name", "new"}}},
                           {"users", "2", {{"name", "fresh"}}},
                           {"orders", "1", {{"state", "boom"}}}});
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code() == store_errc::io_error);
  CHECK_THAT(res.error().message(), Catch::Contains("boom refused"));
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.fields.at("name") == "old");
  CHECK(rec.version == before[0]);
  CHECK(store->load("users", "2").error().code() == store_errc::not_found);
  // The connection left the failed transaction behind.
  CHECK(require_ok(store->apply({{"users", "2", {{"name", "x"}}}}))[0]
        > before[0]);
}

TEST_CASE("a PostgreSQL outage yields unavailable and the store reconnects "
          "once the server is back",
          "[stores][postgres]") {
  postgres_kind kind;
  auto& cluster = pg_cluster::shared();
  auto store = kind.open();
  declare_test_resources(*store);
  auto v1 = require_ok(store->apply({{"users", "1", {{"name", "before"}}}}));
  {
    restart_guard guard{cluster};
    cluster.stop();
    auto load = store->load("users", "1");
    CHECK(load.error().code() == store_errc::unavailable);
    auto write = store->apply({{"users", "1", {{"name", "during"}}}});
    CHECK(write.error().code() == store_errc::unavailable);
    // Every call keeps failing fast while the server is away.
    CHECK(store->load("users", "1").error().code() == store_errc::unavailable);
    auto other = postgres_store::open(kind.conninfo);
    CHECK(other.error().code() == store_errc::unavailable);
    cluster.start();
  }
  // The very first call after the restart succeeds.
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.fields.at("name") == "before");
  auto v2 = require_ok(store->apply({{"users", "1", {{"name", "after"}}}}));
  CHECK(v2[0] > v1[0]);
  CHECK(require_ok(store->load("users", "1")).fields.at("name") == "after");
}

TEST_CASE("a PostgreSQL store whose server restarted between calls reconnects "
          "transparently",
          "[stores][postgres]") {
  postgres_kind kind;
  auto& cluster = pg_cluster::shared();
  auto store = kind.open();
  declare_test_resources(*store);
  require_ok(store->apply({{"users", "1", {{"name", "a"}}}}));
  {
    restart_guard guard{cluster};
    cluster.stop();
    cluster.start();
  }
  // The store's connection died unnoticed; the write must not fail for that.
  auto v = require_ok(store->apply({{"users", "1", {{"name", "b"}}}}));
  CHECK(require_ok(store->load("users", "1")).version == v[0]);
}

TEST_CASE("opening a PostgreSQL store fails clearly without a server or with "
          "a malformed connection string",
          "[stores][postgres]") {
  auto& cluster = pg_cluster::shared();
  // Database that does not exist: the server answers, the login fails.
  auto missing = postgres_store::open(cluster.conninfo("no_such_database"));
  CHECK(missing.error().code() == store_errc::unavailable);
  CHECK_THAT(missing.error().message(), Catch::Contains("no_such_database"));
  // Nothing listens on port 1 of the loopback interface.
  postgres_options opts;
  opts.connect_timeout = std::chrono::seconds{2};
  auto down = postgres_store::open("host=127.0.0.1 port=1 dbname=x", opts);
  CHECK(down.error().code() == store_errc::unavailable);
  auto bad = postgres_store::open("host=127.0.0.1 bogus_key=1");
  CHECK(bad.error().code() == store_errc::invalid_argument);
  auto bad_uri = postgres_store::open("postgresql://[::1");
  CHECK(bad_uri.error().code() == store_errc::invalid_argument);
}

TEST_CASE("a field changed with psql bumps its record's version",
          "[stores][postgres]") {
  postgres_kind kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto v1 = require_ok(store->apply({{"users", "1", {{"name", "Ada"}}}}));
  run_sql(kind.conninfo, "UPDATE cachebus_fields SET value = 'Grace'::bytea "
                         "WHERE resource = 'users' AND id = '1' "
                         "AND field = 'name'");
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.fields.at("name") == "Grace");
  CHECK(rec.version > v1[0]);
  // Fields inserted and deleted by hand count as changes too.
  run_sql(kind.conninfo, "INSERT INTO cachebus_fields VALUES "
                         "('users', '1', 'bio', 'x'::bytea)");
  auto rec2 = require_ok(store->load("users", "1"));
  CHECK(rec2.version > rec.version);
  run_sql(kind.conninfo, "DELETE FROM cachebus_fields WHERE field = 'bio'");
  auto rec3 = require_ok(store->load("users", "1"));
  CHECK(rec3.version > rec2.version);
  CHECK(rec3.fields == field_map{{"name", "Grace"}});
}

TEST_CASE("a PostgreSQL record deleted with psql is gone and comes back with "
          "a newer version",
          "[stores][postgres]") {
  postgres_kind kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto v1 = require_ok(store->apply({{"users", "1", {{"name", "a"}}}}));
  run_sql(kind.conninfo, "DELETE FROM cachebus_records WHERE id = '1'");
  CHECK(store->load("users", "1").error().code() == store_errc::not_found);
  auto v2 = require_ok(store->apply({{"users", "1", {{"age", "5"}}}}));
  CHECK(v2[0] > v1[0]);
  CHECK(require_ok(store->load("users", "1")).fields
        == field_map{{"age", "5"}});
}

TEST_CASE("two PostgreSQL stores on one database share records and versions",
          "[stores][postgres]") {
  postgres_kind kind;
  auto a = kind.open();
  auto b = kind.open(); // creating the tables again is harmless
  declare_test_resources(*a);
  declare_test_resources(*b);
  auto va = require_ok(a->apply({{"users", "1", {{"name", "from a"}}}}));
  CHECK(require_ok(b->load("users", "1")).fields.at("name") == "from a");
  auto vb = require_ok(b->apply({{"users", "1", {{"age", "9"}}}}));
  CHECK(vb[0] > va[0]);
  auto rec = require_ok(a->load("users", "1"));
  CHECK(rec.version == vb[0]);
  CHECK(rec.fields == field_map{{"name", "from a"}, {"age", "9"}});
}
