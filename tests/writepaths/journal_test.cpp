// The write-back journal on its own: what replay returns after appends and
// checkpoints, torn tails, foreign files, group commit, reset and rewrite.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "cachebus/stores/journal.hpp"

#include "cachebus/apps/common/temp_dir.hpp"
#include "support/eventually.hpp"

using cachebus::test::eventually;
using namespace cachebus::stores;
using cachebus::app::temp_dir;

namespace {

std::unique_ptr<journal> open_journal(const std::string& path,
                                      journal_replay& replay,
                                      journal_options opts = {}) {
  auto j = journal::open(path, opts, replay);
  if (!j.ok())
    FAIL(j.error().to_string());
  return std::move(j).value();
}

record_write w(std::string id, std::string value) {
  return {"users", std::move(id), {{"name", std::move(value)}}};
}

} // namespace

TEST_CASE("a reopened journal returns every write after the last checkpoint",
          "[writepaths][journal]") {
  temp_dir dir;
  auto path = dir.file("j");
  journal_replay replay;
  {
    auto j = open_journal(path, replay);
    CHECK(replay.unflushed.empty());
    CHECK(j->next_seq() == 1);
    for (int i = 1; i <= 5; ++i) {
      auto t = j->append(w(std::to_string(i), "v" + std::to_string(i)));
      REQUIRE(t.ok());
      CHECK(t->seq == static_cast<uint64_t>(i));
      REQUIRE(j->wait_durable(*t).ok());
    }
    REQUIRE(j->checkpoint(4).ok()); // 1..3 are in the store
  }
  auto j = open_journal(path, replay);
  REQUIRE(replay.unflushed.size() == 2);
  CHECK(replay.unflushed[0].seq == 4);
  CHECK(replay.unflushed[0].write == w("4", "v4"));
  CHECK(replay.unflushed[1].write == w("5", "v5"));
  CHECK(replay.frames == 6);
  CHECK(replay.discarded_bytes == 0);
  CHECK(j->next_seq() == 6);
}

TEST_CASE("a torn last frame is cut off and the journal stays appendable, "
          "while a damaged earlier frame is skipped, not cut off",
          "[writepaths][journal]") {
  temp_dir dir;
  auto path = dir.file("j");
  journal_replay replay;
  {
    auto j = open_journal(path, replay);
    REQUIRE(j->append(w("1", "a")).ok());
    REQUIRE(j->append(w("2", std::string(100, 'b'))).ok());
  }
  auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 10); // a crash mid-append
  {
    auto j = open_journal(path, replay);
    REQUIRE(replay.unflushed.size() == 1);
    CHECK(replay.unflushed[0].write == w("1", "a"));
    CHECK(replay.discarded_bytes > 0);
    REQUIRE(j->append(w("3", "c")).ok());
  }
  // A flipped byte inside an earlier frame fails its checksum, but the
  // frame after it is intact: that is damage, not a torn tail. Only the
  // damaged write is lost, and it is reported.
  {
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(8 + 8 + 3);
    f.put('\x7f');
  }
  open_journal(path, replay);
  REQUIRE(replay.unflushed.size() == 1);
  CHECK(replay.unflushed[0].write == w("3", "c"));
  CHECK(replay.discarded_bytes == 0);
  REQUIRE(replay.damage.size() == 1);
  CHECK(replay.damage[0].offset == 8);
  CHECK(replay.missing_seqs == 1);
}

TEST_CASE("a file that is not a journal is refused, untouched",
          "[writepaths][journal]") {
  temp_dir dir;
  auto path = dir.file("not-a-journal");
  {
    std::ofstream f{path};
    f << "SQLite format 3 and then some";
  }
  journal_replay replay;
  auto j = journal::open(path, {}, replay);
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().code() == store_errc::io_error);
  CHECK(std::filesystem::file_size(path) == 29);
}

TEST_CASE("concurrent appends with fsync=always share fdatasync calls",
          "[writepaths][journal]") {
  temp_dir dir;
  journal_replay replay;
  auto j = open_journal(dir.file("j"), replay);
  constexpr int threads = 4;
  constexpr int per_thread = 200;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto tk = j->append(w(std::to_string(t), std::to_string(i)));
        REQUIRE(tk.ok());
        REQUIRE(j->wait_durable(*tk).ok());
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(j->syncs() >= 1);
  CHECK(j->syncs() <= static_cast<uint64_t>(threads * per_thread));
  j.reset();
  open_journal(dir.file("j"), replay);
  CHECK(replay.unflushed.size() == threads * per_thread);
}

TEST_CASE("fsync=batch syncs on its own within the interval",
          "[writepaths][journal]") {
  temp_dir dir;
  journal_replay replay;
  journal_options opts;
  opts.fsync = fsync_policy::batch;
  opts.batch_interval = std::chrono::milliseconds{5};
  auto j = open_journal(dir.file("j"), replay, opts);
  REQUIRE(j->append(w("1", "a")).ok());
  CHECK(eventually([&] { return j->syncs() >= 1; }));
}

TEST_CASE("reset empties the journal and rewrite keeps only what it is given",
          "[writepaths][journal]") {
  temp_dir dir;
  auto path = dir.file("j");
  journal_replay replay;
  {
    auto j = open_journal(path, replay);
    for (int i = 0; i < 10; ++i)
      REQUIRE(j->append(w("x", std::to_string(i))).ok());
    REQUIRE(j->reset().ok());
    CHECK(j->size_bytes() == 8);
    auto t = j->append(w("y", "after reset"));
    REQUIRE(t.ok());
    CHECK(t->seq == 11); // seqs stay monotonic while open
    REQUIRE(
      j->rewrite({{5, w("z", "kept")}, {11, w("y", "after reset")}}).ok());
    REQUIRE(j->append(w("z", "later")).ok());
  }
  auto j = open_journal(path, replay);
  REQUIRE(replay.unflushed.size() == 3);
  CHECK(replay.unflushed[0].write == w("z", "kept"));
  CHECK(replay.unflushed[1].write == w("y", "after reset"));
  CHECK(replay.unflushed[2].write == w("z", "later"));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("fsync policies parse by name", "[writepaths][journal]") {
  CHECK(parse_fsync_policy("always").value() == fsync_policy::always);
  CHECK(parse_fsync_policy("batch").value() == fsync_policy::batch);
  CHECK(parse_fsync_policy("never").value() == fsync_policy::never);
  CHECK(parse_fsync_policy("sometimes").error().code()
        == store_errc::invalid_argument);
}
