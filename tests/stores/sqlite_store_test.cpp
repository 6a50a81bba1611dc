// What the SQLite store adds to the contract: durability in one file, real
// rollback, WAL mode, several connections, clear errors for bad files.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

#include <sqlite3.h>

#include "cachebus/stores/sqlite_store.hpp"

#include "store_kinds.hpp"

using namespace cachebus::stores;
using cachebus::app::temp_dir;
using namespace cachebus::test;

namespace {

// A second, raw connection to the file: someone working behind the store's
// back with the sqlite3 shell.
class raw_sqlite {
 public:
  explicit raw_sqlite(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK)
      FAIL("cannot open " << path << ": " << sqlite3_errmsg(db_));
  }
  ~raw_sqlite() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "?";
      sqlite3_free(err);
      FAIL(sql << ": " << msg);
    }
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

} // namespace

TEST_CASE("records in SQLite survive closing and reopening the file",
          "[stores][sqlite]") {
  temp_dir dir;
  auto path = dir.file("records.db");
  std::vector<uint64_t> versions;
  {
    auto store = require_ok(sqlite_store::open(path));
    declare_test_resources(*store);
    versions = require_ok(store->apply({{"users", "1", {{"name", "Ada"}}}}));
  }
  auto store = require_ok(sqlite_store::open(path));
  CHECK(store->path() == path);
  // Declarations belong to the process, not the file.
  CHECK(store->load("users", "1").error().code()
        == store_errc::unknown_resource);
  declare_test_resources(*store);
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.fields.at("name") == "Ada");
  CHECK(rec.version == versions[0]);
  // The version counter lives in the file too.
  CHECK(require_ok(store->apply({{"orders", "1", {}}}))[0] > versions[0]);
}

TEST_CASE("a SQLite batch that fails inside the transaction is rolled back "
          "whole",
          "[stores][sqlite]") {
  temp_dir dir;
  auto path = dir.file("records.db");
  auto store = require_ok(sqlite_store::open(path));
  declare_test_resources(*store);
  auto before = require_ok(store->apply({{"users", "1", {{"name", "old"}}}}));
  // Passes validation, then the database itself refuses the third write.
  raw_sqlite raw{path};
  raw.exec("CREATE TRIGGER refuse_boom BEFORE INSERT ON cachebus_fields "
           "WHEN NEW.value = CAST('boom' AS BLOB) "
           "BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
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
  // The store is usable afterwards, and the failed batch used no versions.
  auto after = require_ok(store->apply({{"users", "2", {{"name", "x"}}}}));
  CHECK(after[0] == before[0] + 1);
}

TEST_CASE("a SQLite store runs in WAL mode", "[stores][sqlite]") {
  temp_dir dir;
  auto path = dir.file("records.db");
  sqlite_options opts;
  opts.synchronous = sqlite_options::sync_mode::full;
  auto store = require_ok(sqlite_store::open(path, opts));
  raw_sqlite raw{path};
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
}

TEST_CASE("two SQLite stores on one file see each other's writes",
          "[stores][sqlite]") {
  temp_dir dir;
  auto path = dir.file("records.db");
  auto a = require_ok(sqlite_store::open(path));
  auto b = require_ok(sqlite_store::open(path));
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

TEST_CASE("a SQLite writer blocked longer than the busy timeout gets "
          "unavailable",
          "[stores][sqlite]") {
  temp_dir dir;
  auto path = dir.file("records.db");
  sqlite_options opts;
  opts.busy_timeout = std::chrono::milliseconds{50};
  auto store = require_ok(sqlite_store::open(path, opts));
  declare_test_resources(*store);
  raw_sqlite raw{path};
  raw.exec("BEGIN IMMEDIATE");
  auto res = store->apply({{"users", "1", {{"name", "x"}}}});
  CHECK(res.error().code() == store_errc::unavailable);
  // Readers are not blocked by a writer in WAL mode.
  CHECK(store->load("users", "1").error().code() == store_errc::not_found);
  raw.exec("ROLLBACK");
  CHECK(store->apply({{"users", "1", {{"name", "x"}}}}).ok());
}

TEST_CASE("opening something that is not a SQLite database fails clearly",
          "[stores][sqlite]") {
  temp_dir dir;
  {
    std::ofstream garbage{dir.file("garbage.db")};
    garbage << std::string(4096, 'x');
  }
  auto res = sqlite_store::open(dir.file("garbage.db"));
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code() == store_errc::io_error);
  CHECK_THAT(res.error().message(), Catch::Contains("garbage.db"));
  auto missing = sqlite_store::open(dir.file("no/such/dir/records.db"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == store_errc::io_error);
}

TEST_CASE("an SQLite file deleted or replaced under an open store fails "
          "writes with unavailable naming the path",
          "[stores][sqlite][deleted]") {
  for (bool replace : {false, true}) {
    INFO((replace ? "replaced" : "deleted"));
    temp_dir dir;
    auto path = dir.file("records.db");
    auto s = sqlite_store::open(path);
    REQUIRE(s.ok());
    auto& store = **s;
    REQUIRE(store.declare("users", {"name"}).ok());
    REQUIRE(store.apply({{"users", "1", {{"name", "before"}}}}).ok());
    if (replace) {
      auto other = dir.file("other.db");
      {
        auto o = sqlite_store::open(other);
        REQUIRE(o.ok());
      }
      REQUIRE(std::rename(other.c_str(), path.c_str()) == 0);
    } else {
      REQUIRE(std::remove(path.c_str()) == 0);
    }
    auto res = store.apply({{"users", "2", {{"name", "lost?"}}}});
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code() == store_errc::unavailable);
    CHECK_THAT(res.error().message(), Catch::Contains(path));
    // The refusal is not a one-off: every later write is refused too.
    CHECK(store.apply({{"users", "3", {{"name", "x"}}}}).error().code()
          == store_errc::unavailable);
  }
}
