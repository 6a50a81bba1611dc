// Write-back through the flusher, on SQLite and on a real PostgreSQL: the
// cache and the journal have a write when queue_update returns; the store
// gets it coalesced, in one transaction per batch, on the interval, on a
// full batch, on flush() and on shutdown; replayed after a restart; retried
// through an outage; bounded by backpressure.
#include "wp_fixture.hpp"

#include <atomic>
#include <map>
#include <mutex>

#include "cachebus/actors/writepaths/record_codec.hpp"

using namespace cachebus;
using namespace cachebus::test;

TEMPLATE_TEST_CASE("queued writes are visible at once and reach the store "
                   "coalesced, one transaction per batch",
                   "[writepaths][write-back]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  // A cached record and derived data before the writes.
  REQUIRE(e.rc->update("users", "0", {{"name", "n0"}, {"email", "e0"}}));
  REQUIRE(e.rc->load("users", "0"));
  set_options old;
  old.version = 1;
  REQUIRE(e.n->set("user:0:profile", "derived", old));
  auto before = e.stored("users", "0");
  for (int round = 0; round < 10; ++round)
    for (int id = 0; id < 10; ++id)
      REQUIRE_FALSE(e.rc->queue_update(
        "users", std::to_string(id),
        {{"name", "n" + std::to_string(id) + "-" + std::to_string(round)}}));
  // Readers of this node see the writes; the store does not have them yet.
  auto r0 = e.rc->load("users", "0");
  REQUIRE(r0);
  CHECK(r0->fields.at("name") == "n0-9");
  CHECK(r0->fields.at("email") == "e0");
  CHECK(e.rc->load("users", "5")->fields.at("name") == "n5-9");
  CHECK(e.stored("users", "0") == before);
  CHECK(*e.n->get("user:0:profile") == "derived");
  auto s = e.rc->stats();
  CHECK(s.queue_depth == 10);
  CHECK(s.queued_writes == 100);
  CHECK(s.coalesced_writes == 90);
  CHECK(s.journal_bytes > 0);
  REQUIRE_FALSE(e.rc->flush(30s));
  s = e.rc->stats();
  CHECK(s.flushed_rows == 10);
  CHECK(s.batches == 1);
  CHECK(s.queue_depth == 0);
  CHECK(s.in_flight == 0);
  CHECK(s.oldest_age == caf::timespan{0});
  // Everything flushed: the journal is back to its header.
  CHECK(s.journal_bytes == 8);
  for (int id = 0; id < 10; ++id)
    CHECK(e.stored("users", std::to_string(id)).fields.at("name")
          == "n" + std::to_string(id) + "-9");
  // The flush's event removed the derived key and this node's older copy of
  // the record (it cannot know whether a write behind its back sits between
  // its version and the flushed one); the next read has the store's version.
  CHECK(failed_with(e.n->get("user:0:profile").error(), errc::miss));
  CHECK(failed_with(e.n->get("user:0").error(), errc::miss));
  auto r = e.rc->load("users", "0");
  REQUIRE(r);
  CHECK(r->version == e.stored("users", "0").version);
  CHECK(r->fields.at("name") == "n0-9");
}

TEMPLATE_TEST_CASE("the flusher flushes on its interval without being asked",
                   "[writepaths][write-back]", sqlite_kind, postgres_kind) {
  env<TestType> e{[](write_back_options& o) { o.flush_interval = 50ms; }};
  REQUIRE_FALSE(e.rc->queue_update("orders", "1", {{"state", "paid"}}));
  CHECK(eventually([&] { return e.rc->stats().flushed_rows == 1; }));
  CHECK(e.stored("orders", "1").fields.at("state") == "paid");
}

TEMPLATE_TEST_CASE("a full batch is flushed before the interval and batches "
                   "never exceed max-batch",
                   "[writepaths][write-back]", sqlite_kind, postgres_kind) {
  env<TestType> e{[](write_back_options& o) { o.max_batch = 4; }};
  // Let the flush that every start runs (for replayed writes) go first.
  REQUIRE_FALSE(e.rc->flush(30s));
  for (int id = 0; id < 4; ++id)
    REQUIRE_FALSE(e.rc->queue_update("orders", std::to_string(id),
                                     {{"total", std::to_string(id)}}));
  // The interval is an hour: only the full batch can trigger this.
  CHECK(eventually([&] { return e.rc->stats().flushed_rows == 4; }));
  for (int id = 4; id < 10; ++id)
    REQUIRE_FALSE(e.rc->queue_update("orders", std::to_string(id),
                                     {{"total", std::to_string(id)}}));
  REQUIRE_FALSE(e.rc->flush(30s));
  auto s = e.rc->stats();
  CHECK(s.flushed_rows == 10);
  CHECK(s.batches >= 3); // 4 + at most 4 + the rest
}

TEMPLATE_TEST_CASE("an orderly shutdown flushes what is queued",
                   "[writepaths][write-back]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  for (int id = 0; id < 20; ++id)
    REQUIRE_FALSE(e.rc->queue_update("orders", std::to_string(id),
                                     {{"state", "s" + std::to_string(id)}}));
  e.rc->stop();
  CHECK(failed_with(e.rc->queue_update("orders", "1", {{"state", "x"}}),
                    errc::stopped));
  for (int id = 0; id < 20; ++id)
    CHECK(e.stored("orders", std::to_string(id)).fields.at("state")
          == "s" + std::to_string(id));
}

TEST_CASE("writes queued while the store is down are replayed from the "
          "journal by the next start",
          "[writepaths][write-back][postgres]") {
  env<postgres_kind> e{
    [](write_back_options& o) { o.shutdown_timeout = 300ms; }};
  auto& cluster = pg_cluster::shared();
  {
    restart_guard guard{cluster};
    cluster.stop();
    for (int id = 0; id < 5; ++id)
      REQUIRE_FALSE(
        e.rc->queue_update("users", std::to_string(id), {{"name", "queued"}}));
    // The final flush can't reach the store: the writes stay journaled.
    e.rc->stop();
    e.rc.reset();
    cluster.start();
  }
  CHECK(e.store->load("users", "0").error().code()
        == stores::store_errc::not_found);
  e.start_cache(test_options(e.dir));
  CHECK(e.rc->stats().replayed == 5);
  // Replayed writes are visible before they are flushed, then flushed.
  CHECK(e.rc->load("users", "3")->fields.at("name") == "queued");
  REQUIRE_FALSE(e.rc->flush(30s));
  for (int id = 0; id < 5; ++id)
    CHECK(e.stored("users", std::to_string(id)).fields.at("name") == "queued");
  CHECK(e.rc->stats().journal_bytes == 8);
}

TEMPLATE_TEST_CASE("a record the store refuses for good is dropped and "
                   "counted while the rest of its batch is written",
                   "[writepaths][write-back]", sqlite_kind, postgres_kind) {
  env<TestType> e;
  REQUIRE(e.rc->update("users", "2", {{"name", "ok"}}));
  REQUIRE(e.rc->load("users", "2"));
  e.kind.refuse_boom();
  REQUIRE_FALSE(e.rc->queue_update("users", "1", {{"name", "fine"}}));
  REQUIRE_FALSE(e.rc->queue_update("users", "2", {{"name", "boom"}}));
  REQUIRE_FALSE(e.rc->queue_update("users", "3", {{"name", "also fine"}}));
  // The cache shows the queued write until the store refuses it.
  CHECK(e.rc->load("users", "2")->fields.at("name") == "boom");
  REQUIRE_FALSE(e.rc->flush(30s));
  auto s = e.rc->stats();
  CHECK(s.rejected == 1);
  CHECK(s.flushed_rows == 2);
  CHECK_THAT(s.last_error, Catch::Contains("boom refused"));
  CHECK(e.stored("users", "1").fields.at("name") == "fine");
  CHECK(e.stored("users", "3").fields.at("name") == "also fine");
  CHECK(e.stored("users", "2").fields.at("name") == "ok");
  // The refused write no longer shows.
  CHECK(e.rc->load("users", "2")->fields.at("name") == "ok");
  CHECK(s.journal_bytes == 8);
}

TEMPLATE_TEST_CASE("a full queue refuses new records with backpressure but "
                   "keeps coalescing writes to queued ones",
                   "[writepaths][backpressure]", sqlite_kind, postgres_kind) {
  env<TestType> e{[](write_back_options& o) { o.max_queue = 2; }};
  REQUIRE_FALSE(e.rc->queue_update("orders", "1", {{"total", "1"}}));
  REQUIRE_FALSE(e.rc->queue_update("orders", "2", {{"total", "2"}}));
  auto err = e.rc->queue_update("orders", "3", {{"total", "3"}});
  INFO("flushed " << e.rc->stats().flushed_rows << " in "
                  << e.rc->stats().batches << " batches");
  CHECK(failed_with(err, errc::backpressure));
  CHECK_THAT(describe(err), Catch::Contains("max-queue"));
  REQUIRE_FALSE(e.rc->queue_update("orders", "1", {{"total", "1b"}}));
  auto s = e.rc->stats();
  CHECK(s.backpressured == 1);
  CHECK(s.queue_depth == 2);
  CHECK_FALSE(e.rc->load("orders", "3"));
  REQUIRE_FALSE(e.rc->flush(30s));
  REQUIRE_FALSE(e.rc->queue_update("orders", "3", {{"total", "3"}}));
  REQUIRE_FALSE(e.rc->flush(30s));
  CHECK(e.stored("orders", "1").fields.at("total") == "1b");
  CHECK(e.stored("orders", "3").fields.at("total") == "3");
}

TEMPLATE_TEST_CASE("in wait mode a full queue makes callers wait for room, "
                   "bounded by backpressure-timeout",
                   "[writepaths][backpressure]", sqlite_kind, postgres_kind) {
  env<TestType> e{[](write_back_options& o) {
    o.max_queue = 1;
    o.backpressure = backpressure_mode::wait;
    o.backpressure_timeout = 300ms;
  }};
  REQUIRE_FALSE(e.rc->queue_update("orders", "1", {{"total", "1"}}));
  auto t0 = std::chrono::steady_clock::now();
  auto err = e.rc->queue_update("orders", "2", {{"total", "2"}});
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(failed_with(err, errc::backpressure));
  CHECK(waited >= 300ms);
  CHECK(waited < 10s);
  // A waiter gets in as soon as a flush makes room.
  e.rc.reset();
  e.start_cache([&] {
    auto o = test_options(e.dir);
    o.max_queue = 1;
    o.backpressure = backpressure_mode::wait;
    o.backpressure_timeout = 30s;
    return o;
  }());
  REQUIRE_FALSE(e.rc->queue_update("orders", "10", {{"total", "10"}}));
  std::atomic<bool> finished{false};
  caf::error waiter_err;
  std::thread waiter{[&] {
    waiter_err = e.rc->queue_update("orders", "11", {{"total", "11"}});
    finished = true;
  }};
  // The waiter is blocked (the queue is full and nothing flushes) ...
  CHECK(eventually([&] { return e.rc->stats().backpressured == 1; }));
  CHECK_FALSE(finished.load());
  // ... until a flush retires the queued record.
  REQUIRE_FALSE(e.rc->flush(30s));
  waiter.join();
  CHECK_FALSE(waiter_err);
  REQUIRE_FALSE(e.rc->flush(30s));
  CHECK(e.stored("orders", "11").fields.at("total") == "11");
}

TEST_CASE("a PostgreSQL outage under write-back load loses nothing and shows "
          "up as retries",
          "[writepaths][write-back][postgres][outage]") {
  env<postgres_kind> e{[](write_back_options& o) {
    o.flush_interval = 20ms;
    o.max_batch = 50;
    o.fsync = stores::fsync_policy::batch;
  }};
  auto& cluster = pg_cluster::shared();
  std::atomic<bool> stop{false};
  std::mutex mtx;
  std::map<std::string, std::string> latest; // acknowledged
  std::atomic<int> written{0};
  std::atomic<bool> failed{false};
  std::thread writer{[&] {
    for (int i = 0; !stop; ++i) {
      auto id = std::to_string(i % 200);
      auto val = "v" + std::to_string(i);
      auto err = e.rc->queue_update("users", id, {{"name", val}});
      if (err) {
        failed = true;
        break;
      }
      std::lock_guard<std::mutex> guard{mtx};
      latest[id] = val;
      ++written;
      if (i % 50 == 0)
        std::this_thread::sleep_for(1ms); // a load, not a flood
    }
  }};
  {
    restart_guard guard{cluster};
    REQUIRE(eventually([&] { return e.rc->stats().flushed_rows > 100; }));
    cluster.stop();
    auto during = written.load();
    // Writes keep being accepted while the store is down ...
    CHECK(eventually([&] { return written.load() > during + 500; }));
    // ... and the flusher keeps retrying.
    CHECK(eventually([&] { return e.rc->stats().retries >= 3; }));
    std::this_thread::sleep_for(2s); // the outage lasts a few seconds
    cluster.start();
  }
  CHECK(eventually([&] { return written.load() > 0; }));
  stop = true;
  writer.join();
  REQUIRE_FALSE(failed.load());
  REQUIRE_FALSE(e.rc->flush(60s));
  auto s = e.rc->stats();
  CHECK(s.retries >= 3);
  CHECK(s.rejected == 0);
  CHECK(s.queue_depth == 0);
  INFO("writes: " << written.load() << ", rows: " << s.flushed_rows
                  << ", retries: " << s.retries);
  for (auto& [id, val] : latest)
    CHECK(e.stored("users", id).fields.at("name") == val);
}
