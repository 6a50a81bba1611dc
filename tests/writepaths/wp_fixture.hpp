// What the write-path tests share: a node with rules for `users` and
// `orders`, a record store of each kind (SQLite file, PostgreSQL database on
// the binary's throwaway cluster), a record_cache over both, helpers that
// act behind the stores' backs, and bounded waiting.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/stores/memory_store.hpp"
#include "cachebus/stores/postgres_store.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/temp_dir.hpp"
#include "pg_cluster.hpp"
#include "support/eventually.hpp"

namespace cachebus::test {

using namespace std::chrono_literals;

inline rules test_rules() {
  rules r;
  REQUIRE_FALSE(
    r.add({"users", {"user:{id}", "user:{id}:profile"}, {"user:{id}"}, {}}));
  REQUIRE_FALSE(r.add({"orders", {"order:{id}"}, {}, {}}));
  return r;
}

inline void declare(stores::record_store& store) {
  auto st = store.declare("users", {"name", "email", "bio"});
  REQUIRE(st.ok());
  st = store.declare("orders", {"total", "state"});
  REQUIRE(st.ok());
}

struct sqlite_kind {
  static constexpr const char* name = "SQLite";
  app::temp_dir dir;
  std::string path = dir.file("records.db");

  std::shared_ptr<stores::record_store> open() {
    auto s = stores::sqlite_store::open(path);
    if (!s.ok())
      FAIL(s.error().to_string());
    return std::shared_ptr<stores::record_store>{std::move(s).value()};
  }

  /// Makes the store refuse (io_error) any field value 'boom'.
  void refuse_boom() {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* msg = nullptr;
    auto rc = sqlite3_exec(
      db,
      "CREATE TRIGGER refuse_boom_i BEFORE INSERT ON cachebus_fields "
      "WHEN NEW.value = CAST('boom' AS BLOB) "
      "BEGIN SELECT RAISE(ABORT, 'boom refused'); END;"
      "CREATE TRIGGER refuse_boom_u BEFORE UPDATE ON cachebus_fields "
      "WHEN NEW.value = CAST('boom' AS BLOB) "
      "BEGIN SELECT RAISE(ABORT, 'boom refused'); END;",
      nullptr, nullptr, &msg);
    std::string err = msg ? msg : "";
    sqlite3_free(msg);
    sqlite3_close(db);
    INFO(err);
    REQUIRE(rc == SQLITE_OK);
  }
};

struct postgres_kind {
  static constexpr const char* name = "PostgreSQL";
  std::string conninfo = pg_cluster::shared().create_database();

  std::shared_ptr<stores::record_store> open() {
    stores::postgres_options opts;
    opts.connect_timeout = std::chrono::seconds{2};
    auto s = stores::postgres_store::open(conninfo, opts);
    if (!s.ok())
      FAIL(s.error().to_string());
    return std::shared_ptr<stores::record_store>{std::move(s).value()};
  }

  void refuse_boom() {
    run_sql(conninfo, R"sql(
      CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.value = 'boom'::bytea THEN RAISE EXCEPTION 'boom refused'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_boom BEFORE INSERT OR UPDATE ON cachebus_fields
        FOR EACH ROW EXECUTE FUNCTION refuse_boom();
    )sql");
  }
};

/// Restarts the shared cluster when a test that stopped it ends, even if the
/// test failed half-way, so later tests find a server.
struct restart_guard {
  pg_cluster& cluster;
  ~restart_guard() {
    if (!cluster.running())
      cluster.start();
  }
};

/// Options for tests: a journal in `dir`, flushes only when asked (or on a
/// full batch), fast retries.
inline write_back_options test_options(const app::temp_dir& dir) {
  write_back_options o;
  o.journal = dir.file("journal");
  o.flush_interval = std::chrono::hours(1);
  o.retry_min = 20ms;
  o.retry_max = 200ms;
  o.shutdown_timeout = 20s;
  return o;
}

/// A node plus a record_cache over one store. Members are destroyed in
/// reverse: the record_cache stops before the node, the node before the
/// actor system.
template <class Kind>
struct env {
  Kind kind;
  app::temp_dir dir;
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<stores::record_store> store;
  std::unique_ptr<node> n;
  std::unique_ptr<record_cache> rc;

  env() : env(std::function<void(write_back_options&)>{}) {
    // nop
  }

  explicit env(std::function<void(write_back_options&)> tweak) {
    store = kind.open();
    declare(*store);
    node_options nopts;
    nopts.shards = 2;
    nopts.default_ttl = std::chrono::minutes(10);
    node_setup setup;
    setup.rules = test_rules();
    auto started = node::start(sys, nopts, setup);
    REQUIRE(started);
    n = std::move(*started);
    auto o = test_options(dir);
    if (tweak)
      tweak(o);
    start_cache(o);
  }

  void start_cache(const write_back_options& o) {
    auto r = record_cache::start(*n, store, o);
    if (!r)
      FAIL(describe(r.error()));
    rc = std::move(*r);
  }

  ~env() {
    rc.reset();
    n->stop();
  }

  /// The record as the store has it (fails the test on error).
  stores::record stored(const std::string& resource, const std::string& id) {
    auto r = store->load(resource, id);
    if (!r.ok())
      FAIL(r.error().to_string());
    return std::move(r).value();
  }
};

/// True if `err` is the cachebus error `code` (cachebus::is must not see an
/// empty error: CAF 0.17's error::category() dereferences it).
inline bool failed_with(const caf::error& err, errc code) {
  return err && is(err, code);
}

} // namespace cachebus::test
