// The write paths against damage and misuse (issue 12): a record cache over a
// damaged journal recovers every intact write and reports the damage in its
// stats; a second record cache on one journal is refused; an SQLite file
// deleted under a running store fails writes as unavailable; a field larger
// than cachebus.max-value-size is refused.
#include "wp_fixture.hpp"

#include <filesystem>
#include <fstream>

#include "cachebus/stores/journal.hpp"

using namespace cachebus;
using cachebus::app::temp_dir;
using namespace cachebus::test;

namespace {

// Writes users 1..n into a journal at `path` as a node queued them, then
// damages one byte inside the frame of user `hit`.
void damaged_journal(const std::string& path, int n, int hit) {
  uint64_t at = 0;
  {
    stores::journal_replay replay;
    auto j = stores::journal::open(path, {}, replay);
    REQUIRE(j.ok());
    for (int i = 1; i <= n; ++i) {
      if (i == hit)
        at = (*j)->size_bytes() + 12;
      REQUIRE(
        (*j)
          ->append(
            {"users", std::to_string(i), {{"name", "n" + std::to_string(i)}}})
          .ok());
    }
    REQUIRE((*j)->sync().ok());
  }
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(static_cast<std::streamoff>(at));
  f.put('\xff');
}

} // namespace

TEST_CASE("a record cache over a journal damaged in the middle flushes "
          "every intact write and reports the damage in its stats",
          "[writepaths][journal][damage]") {
  constexpr int n = 50;
  temp_dir journal_dir;
  auto path = journal_dir.file("journal");
  damaged_journal(path, n, 5);
  env<sqlite_kind> e{[&](write_back_options& o) { o.journal = path; }};
  REQUIRE_FALSE(e.rc->flush(20s));
  auto s = e.rc->stats();
  CHECK(s.replayed == n - 1);
  CHECK(s.journal_missing_seqs == 1);
  CHECK(s.journal_skipped_bytes > 0);
  CHECK(s.journal_torn_bytes == 0);
  CHECK_THAT(s.journal_damage, Catch::Contains(path) && Catch::Contains("seq 5")
                                 && Catch::Contains(".damaged-"));
  for (int i = 1; i <= n; ++i) {
    INFO("user " << i);
    auto r = e.store->load("users", std::to_string(i));
    CHECK(r.ok() == (i != 5));
  }
}

TEST_CASE("a second record cache on a journal in use is refused with "
          "journal_error naming the file and the holder",
          "[writepaths][journal][lock]") {
  env<sqlite_kind> e;
  REQUIRE_FALSE(e.rc->queue_update("users", "1", {{"name", "first"}}));
  auto second = record_cache::start(*e.n, e.store, test_options(e.dir));
  REQUIRE_FALSE(second);
  CHECK(failed_with(second.error(), errc::journal_error));
  CHECK_THAT(describe(second.error()),
             Catch::Contains(e.dir.file("journal"))
               && Catch::Contains("process " + std::to_string(::getpid())));
  // The first one is unharmed.
  REQUIRE_FALSE(e.rc->flush(20s));
  CHECK(e.stored("users", "1").fields.at("name") == "first");
}

TEST_CASE("writes to an SQLite file deleted under a running node fail with "
          "store_unavailable naming the path, and change nothing",
          "[writepaths][sqlite][deleted]") {
  // What cannot be flushed stays in the journal: stop after a short try.
  env<sqlite_kind> e{[](write_back_options& o) { o.shutdown_timeout = 200ms; }};
  REQUIRE(e.rc->update("users", "1", {{"name", "before"}}));
  REQUIRE(std::filesystem::remove(e.kind.path));
  auto v = e.rc->update("users", "1", {{"name", "into the void"}});
  REQUIRE_FALSE(v);
  CHECK(failed_with(v.error(), errc::store_unavailable));
  CHECK_THAT(describe(v.error()), Catch::Contains(e.kind.path));
  // The cache still holds what the store had before.
  CHECK(e.rc->load("users", "1")->fields.at("name") == "before");
  // Write-back: queued, but the flush keeps failing and retrying (nothing is
  // lost into the unlinked file).
  REQUIRE_FALSE(e.rc->queue_update("users", "2", {{"name", "queued"}}));
  CHECK(failed_with(e.rc->flush(500ms), errc::timeout));
  CHECK(e.rc->stats().retries >= 1);
  CHECK_THAT(e.rc->stats().last_error, Catch::Contains(e.kind.path));
  CHECK(e.rc->stats().flushed_rows == 0);
}

TEST_CASE("an update with a field larger than cachebus.max-value-size is "
          "refused with value_too_large and changes nothing",
          "[writepaths][input]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto store = std::make_shared<stores::memory_store>();
  declare(*store);
  node_options nopts;
  nopts.shards = 1;
  nopts.max_value_size = 64;
  node_setup setup;
  setup.rules = test_rules();
  auto n = node::start(sys, nopts, setup);
  REQUIRE(n);
  temp_dir dir;
  auto rc = record_cache::start(**n, store, test_options(dir));
  REQUIRE(rc);
  auto v = (*rc)->update("users", "1", {{"name", std::string(65, 'x')}});
  REQUIRE_FALSE(v);
  CHECK(failed_with(v.error(), errc::value_too_large));
  CHECK_THAT(describe(v.error()), Catch::Contains("cachebus.max-value-size")
                                    && Catch::Contains("\"name\""));
  auto q = (*rc)->queue_update("users", "1", {{"name", std::string(65, 'x')}});
  CHECK(failed_with(q, errc::value_too_large));
  CHECK((*rc)->stats().queued_writes == 0);
  CHECK(store->load("users", "1").error().code()
        == stores::store_errc::not_found);
  // At the limit it is fine.
  CHECK((*rc)->update("users", "1", {{"name", std::string(64, 'x')}}));
  rc->reset();
  (*n)->stop();
}
