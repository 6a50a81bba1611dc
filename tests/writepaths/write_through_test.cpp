// Write-through and the read path, on SQLite and on a real PostgreSQL: store
// first, then the canonical entry at the new version and a versioned
// invalidation; bad input and store failures change nothing.
#include "wp_fixture.hpp"

#include <condition_variable>
#include <mutex>

#include "cachebus/actors/writepaths/record_codec.hpp"

using namespace cachebus;
using namespace cachebus::test;

TEMPLATE_TEST_CASE("a write-through update stores the record, caches it at "
                   "its new version and drops derived keys",
                   "[writepaths][write-through]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  // Some history, so that the write's version is above the derived entry's.
  REQUIRE(e.store->apply({{"orders", "1", {{"total", "1"}}}}).ok());
  // Derived data cached before the write, at an old version.
  set_options old;
  old.version = 1;
  REQUIRE(e.n->set("user:7:profile", "stale profile", old));
  auto v = e.rc->update("users", "7", {{"name", "ada"}, {"email", "a@x"}});
  REQUIRE(v);
  CHECK(*v > 1);
  auto rec = e.stored("users", "7");
  CHECK(rec.version == *v);
  CHECK(rec.fields == stores::field_map{{"name", "ada"}, {"email", "a@x"}});
  // The canonical entry holds the record at the new version ...
  auto raw = e.n->get("user:7");
  REQUIRE(raw);
  auto c = decode_record(*raw);
  REQUIRE(c);
  CHECK(c->version == *v);
  CHECK(c->fields == rec.fields);
  // ... and the derived key is gone.
  CHECK(failed_with(e.n->get("user:7:profile").error(), errc::miss));
  // A second update merges over the cached record.
  auto v2 = e.rc->update("users", "7", {{"name", "grace"}});
  REQUIRE(v2);
  CHECK(*v2 > *v);
  auto loaded = e.rc->load("users", "7");
  REQUIRE(loaded);
  CHECK(loaded->version == *v2);
  CHECK(loaded->fields
        == stores::field_map{{"name", "grace"}, {"email", "a@x"}});
  CHECK(e.stored("users", "7").fields == loaded->fields);
}

TEMPLATE_TEST_CASE("a write-through update the store refuses leaves the cache "
                   "untouched and returns the store's error",
                   "[writepaths][write-through]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  REQUIRE(e.rc->update("users", "1", {{"name", "before"}}));
  REQUIRE(e.rc->load("users", "1"));
  set_options old;
  old.version = 1;
  REQUIRE(e.n->set("user:1:profile", "derived", old));
  auto canonical = e.n->get("user:1");
  REQUIRE(canonical);
  e.kind.refuse_boom();
  auto res = e.rc->update("users", "1", {{"name", "boom"}});
  REQUIRE_FALSE(res);
  CHECK(failed_with(res.error(), errc::store_error));
  CHECK_THAT(describe(res.error()), Catch::Contains("boom refused"));
  CHECK(*e.n->get("user:1") == *canonical);
  CHECK(*e.n->get("user:1:profile") == "derived");
  CHECK(e.stored("users", "1").fields.at("name") == "before");
}

TEST_CASE("a write-through update during a PostgreSQL outage returns "
          "store_unavailable and leaves the cache untouched",
          "[writepaths][write-through][postgres]") {
  env<postgres_kind> e;
  REQUIRE(e.rc->update("users", "1", {{"name", "before"}}));
  REQUIRE(e.rc->load("users", "1"));
  auto canonical = e.n->get("user:1");
  REQUIRE(canonical);
  auto& cluster = pg_cluster::shared();
  {
    restart_guard guard{cluster};
    cluster.stop();
    auto res = e.rc->update("users", "1", {{"name", "during"}});
    REQUIRE_FALSE(res);
    CHECK(failed_with(res.error(), errc::store_unavailable));
    CHECK(*e.n->get("user:1") == *canonical);
    cluster.start();
  }
  REQUIRE(e.rc->update("users", "1", {{"name", "after"}}));
  CHECK(e.stored("users", "1").fields.at("name") == "after");
}

TEMPLATE_TEST_CASE("a write-through update during a fetch of the record wins "
                   "over the row that fetch read",
                   "[writepaths][write-through][write-wins]", sqlite_kind,
                   postgres_kind) {
  env<TestType> e;
  REQUIRE(e.rc->update("users", "1", {{"name", "old"}}));
  REQUIRE(e.n->erase("user:1"));
  // A fetch on another thread reads the row, then stalls until the update
  // has returned; later attempts read the store again.
  std::mutex mtx;
  std::condition_variable cv;
  bool read = false;
  bool go = false;
  int runs = 0;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    auto rec = e.store->load("users", "1");
    if (!rec.ok()) // Catch2 asserts on the main thread only
      return make_error(errc::store_error, rec.error().to_string());
    std::unique_lock<std::mutex> g{mtx};
    if (runs++ == 0) {
      read = true;
      cv.notify_all();
      cv.wait_for(g, 30s, [&] { return go; });
    }
    return loaded{encode_record(rec.value().fields, rec.value().version),
                  rec.value().version};
  };
  caf::expected<std::string> got{std::string{}};
  std::thread fetching{[&] { got = e.n->fetch("user:1", loader); }};
  {
    std::unique_lock<std::mutex> g{mtx};
    REQUIRE(cv.wait_for(g, 30s, [&] { return read; }));
  }
  auto v = e.rc->update("users", "1", {{"name", "new"}});
  {
    std::lock_guard<std::mutex> g{mtx};
    go = true;
    cv.notify_all();
  }
  fetching.join();
  REQUIRE(v);
  REQUIRE(got); // asked before the update: either row is right for it
  // Whatever the cache holds now is the update's row, never the one read
  // before it.
  if (auto cached = e.n->get("user:1")) {
    auto c = decode_record(*cached);
    REQUIRE(c);
    CHECK(c->version == *v);
    CHECK(c->fields.at("name") == "new");
  }
  CHECK(e.rc->load("users", "1")->fields.at("name") == "new");
  CHECK(e.n->stats().total.stale_fills_refused >= 1);
}

TEMPLATE_TEST_CASE("load reads a missing record through to the store and "
                   "caches it with its version",
                   "[writepaths][read]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  auto v = e.store->apply({{"orders", "9", {{"total", "12.50"}}}});
  REQUIRE(v.ok());
  CHECK(failed_with(e.n->get("order:9").error(), errc::miss));
  auto rec = e.rc->load("orders", "9");
  REQUIRE(rec);
  CHECK(rec->version == v.value()[0]);
  CHECK(rec->fields.at("total") == "12.50");
  auto c = decode_record(*e.n->get("order:9"));
  REQUIRE(c);
  CHECK(c->version == rec->version);
  // A hit does not touch the store: change it behind the cache's back.
  REQUIRE(e.store->apply({{"orders", "9", {{"total", "99"}}}}).ok());
  CHECK(e.rc->load("orders", "9")->fields.at("total") == "12.50");
  auto missing = e.rc->load("orders", "nope");
  REQUIRE_FALSE(missing);
  CHECK(failed_with(missing.error(), errc::not_found));
}

TEMPLATE_TEST_CASE("quotes, NUL bytes and SQL in values are stored and cached "
                   "literally",
                   "[writepaths][input]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  std::string nasty = "'); DROP TABLE cachebus_records; --\"\\";
  nasty.push_back('\0');
  nasty += "\xff\xfe tail";
  REQUIRE(e.rc->update("users", "o'brien", {{"name", nasty}}));
  REQUIRE_FALSE(e.rc->queue_update("users", "x\"y", {{"bio", nasty}}));
  REQUIRE_FALSE(e.rc->flush(30s));
  CHECK(e.stored("users", "o'brien").fields.at("name") == nasty);
  CHECK(e.stored("users", "x\"y").fields.at("bio") == nasty);
  CHECK(e.rc->load("users", "o'brien")->fields.at("name") == nasty);
  CHECK(e.rc->load("users", "x\"y")->fields.at("bio") == nasty);
}

TEMPLATE_TEST_CASE("bad input gets a clear error and changes nothing",
                   "[writepaths][input]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  auto check_nothing_changed = [&] {
    CHECK(e.rc->stats().queue_depth == 0);
    CHECK(e.rc->stats().queued_writes == 0);
    CHECK(e.store->load("users", "1").error().code()
          == stores::store_errc::not_found);
    CHECK(failed_with(e.n->get("user:1").error(), errc::miss));
  };
  for (bool back : {false, true}) {
    INFO((back ? "queue_update" : "update"));
    auto write
      = [&](std::string r, std::string id, stores::field_map f) -> caf::error {
      if (back)
        return e.rc->queue_update(std::move(r), std::move(id), std::move(f));
      auto v = e.rc->update(std::move(r), std::move(id), std::move(f));
      return v ? caf::error{} : v.error();
    };
    auto err = write("planets", "1", {{"name", "x"}});
    CHECK(failed_with(err, errc::unknown_resource));
    err = write("users", "1", {{"Name; DROP", "x"}});
    CHECK(failed_with(err, errc::invalid_field));
    CHECK_THAT(describe(err), Catch::Contains("Name; DROP"));
    err = write("users", "1", {{"shoe_size", "x"}});
    CHECK(failed_with(err, errc::invalid_field));
    err = write("users", "1", {{"bio", std::string((1 << 20) + 1, 'x')}});
    CHECK(failed_with(err, errc::value_too_large));
    err = write("users", "", {{"name", "x"}});
    CHECK(failed_with(err, errc::invalid_argument));
    err = write("users", "1", {});
    CHECK(failed_with(err, errc::invalid_argument));
    check_nothing_changed();
  }
  CHECK(
    failed_with(e.rc->load("planets", "1").error(), errc::unknown_resource));
}

TEST_CASE("queue_update without a journal is a configuration error",
          "[writepaths][input]") {
  env<sqlite_kind> e{[](write_back_options& o) { o.journal.clear(); }};
  CHECK_FALSE(e.rc->write_back_enabled());
  auto err = e.rc->queue_update("users", "1", {{"name", "x"}});
  CHECK(failed_with(err, errc::invalid_config));
  REQUIRE(e.rc->update("users", "1", {{"name", "x"}}));
}

TEST_CASE("malformed write-back options are refused by name",
          "[writepaths][config]") {
  // The options are not declared in cachebus::config yet, so they are put
  // into the config's content directly, as a parsed ini file would.
  config cfg;
  caf::put(cfg.content, "cachebus.write-back.fsync", "sometimes");
  auto o = write_back_options::from(cfg);
  REQUIRE_FALSE(o);
  CHECK(failed_with(o.error(), errc::invalid_config));
  CHECK_THAT(describe(o.error()), Catch::Contains("fsync"));
  config cfg2;
  caf::put(cfg2.content, "cachebus.write-back.backpressure", "wait");
  caf::put(cfg2.content, "cachebus.write-back.max-queue", 7);
  caf::put(cfg2.content, "cachebus.write-back.flush-interval",
           caf::timespan{250ms});
  auto o2 = write_back_options::from(cfg2);
  REQUIRE(o2);
  CHECK(o2->backpressure == backpressure_mode::wait);
  CHECK(o2->max_queue == 7);
  CHECK(o2->flush_interval == caf::timespan{250ms});
  write_back_options bad;
  bad.retry_min = 1s;
  bad.retry_max = 10ms;
  CHECK(failed_with(bad.validate(), errc::invalid_config));
}

TEST_CASE("a record encoding round-trips arbitrary bytes and rejects "
          "anything else",
          "[writepaths][codec]") {
  stores::field_map f{{"a", std::string("\0\x01'\"", 4)}, {"", ""}, {"z", "9"}};
  auto enc = encode_record(f, 42);
  CHECK(enc.size() == encoded_size(f));
  auto dec = decode_record(enc);
  REQUIRE(dec);
  CHECK(dec->fields == f);
  CHECK(dec->version == 42);
  CHECK_FALSE(decode_record("plain value"));
  CHECK_FALSE(decode_record(enc.substr(0, enc.size() - 1)));
  CHECK_FALSE(decode_record(enc + "x"));
}
