// The write-back journal against damage and misuse: a damaged byte at every
// offset class (header, first frame, middle, last frame = torn tail), a
// second opener in this process and in another one, and a full disk.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cachebus/stores/journal.hpp"

#include "cachebus/apps/common/temp_dir.hpp"

using namespace cachebus::stores;
using cachebus::app::temp_dir;

namespace {

record_write w(int id) {
  return {"users", std::to_string(id), {{"name", "v" + std::to_string(id)}}};
}

// Appends writes 1..n durably; returns the offset where each frame starts
// (and, last, the file size).
std::vector<uint64_t> write_journal(const std::string& path, int n) {
  journal_replay replay;
  auto j = journal::open(path, {}, replay);
  REQUIRE(j.ok());
  std::vector<uint64_t> starts;
  for (int i = 1; i <= n; ++i) {
    starts.push_back((*j)->size_bytes());
    auto t = (*j)->append(w(i));
    REQUIRE(t.ok());
    REQUIRE((*j)->wait_durable(*t).ok());
  }
  starts.push_back((*j)->size_bytes());
  return starts;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void flip(const std::string& path, uint64_t offset) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
}

std::vector<std::string> ids(const journal_replay& r) {
  std::vector<std::string> out;
  for (auto& e : r.unflushed)
    out.push_back(e.write.id);
  return out;
}

std::vector<std::string> ids_except(int n, int missing) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i)
    if (i != missing)
      out.push_back(std::to_string(i));
  return out;
}

size_t damaged_copies(const temp_dir& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator{dir.path()})
    if (e.path().filename().string().find(".damaged-") != std::string::npos)
      ++n;
  return n;
}

} // namespace

TEST_CASE("one damaged byte in the middle of a journal loses only its own "
          "write: every intact write after it is replayed and the damage is "
          "reported",
          "[writepaths][journal][damage]") {
  temp_dir dir;
  auto path = dir.file("j");
  constexpr int n = 2035; // the repro
  auto starts = write_journal(path, n);
  auto at = starts.back() / 10; // 10% into the file
  int hit = 0;                  // the write whose frame holds `at`
  while (starts[hit + 1] <= at)
    ++hit;
  ++hit; // ids count from 1
  auto before = read_file(path);
  flip(path, at);
  auto damaged = read_file(path);
  journal_replay replay;
  auto j = journal::open(path, {}, replay);
  REQUIRE(j.ok());
  CHECK(ids(replay) == ids_except(n, hit));
  REQUIRE(replay.damage.size() == 1);
  CHECK(replay.damage[0].offset == starts[hit - 1]);
  CHECK(replay.damage[0].length == starts[hit] - starts[hit - 1]);
  CHECK(replay.damage[0].first_seq == static_cast<uint64_t>(hit));
  CHECK(replay.damage[0].last_seq == static_cast<uint64_t>(hit));
  CHECK(replay.missing_seqs == 1);
  CHECK(replay.skipped_bytes == replay.damage[0].length);
  CHECK(replay.discarded_bytes == 0);
  // The file as found is kept; the journal no longer holds the damage.
  REQUIRE_FALSE(replay.damaged_copy.empty());
  CHECK(read_file(replay.damaged_copy) == damaged);
  CHECK(damaged != before);
  CHECK_THAT(replay.describe(path),
             Catch::Contains(std::to_string(starts[hit - 1]))
               && Catch::Contains("seq " + std::to_string(hit))
               && Catch::Contains(replay.damaged_copy));
  CHECK((*j)->report().missing_seqs == 1);
  CHECK((*j)->next_seq() == n + 1);
  REQUIRE((*j)->append(w(n + 1)).ok());
  j->reset();
  journal_replay again;
  REQUIRE(journal::open(path, {}, again).ok());
  CHECK(again.damage.empty());
  CHECK(again.unflushed.size() == n); // n - 1 recovered, plus the new one
}

TEST_CASE("a damaged byte at every offset of a journal costs at most the "
          "frame it hits: header and middle frames are skipped and reported, "
          "the last frame is a torn tail",
          "[writepaths][journal][damage]") {
  constexpr int n = 5;
  temp_dir proto;
  auto starts = write_journal(proto.file("j"), n);
  auto original = read_file(proto.file("j"));
  for (uint64_t at = 0; at < original.size(); ++at) {
    temp_dir dir;
    auto path = dir.file("j");
    {
      std::ofstream out{path, std::ios::binary};
      out << original;
    }
    flip(path, at);
    journal_replay replay;
    auto j = journal::open(path, {}, replay);
    INFO("damaged byte at offset " << at);
    REQUIRE(j.ok());
    if (at < 8) {
      // The header: every frame is intact and replayed.
      CHECK(ids(replay) == ids_except(n, 0));
      REQUIRE(replay.damage.size() == 1);
      CHECK(replay.damage[0].offset == 0);
      CHECK(replay.damage[0].length == 8);
      CHECK(replay.missing_seqs == 0);
      CHECK(damaged_copies(dir) == 1);
      continue;
    }
    int hit = 0;
    while (starts[hit + 1] <= at)
      ++hit;
    ++hit;
    CHECK(ids(replay) == ids_except(n, hit));
    if (hit == n) {
      // The last frame: indistinguishable from an append cut off by a
      // crash, never acknowledged; cut off, no copy, no alarm.
      CHECK(replay.damage.empty());
      CHECK(replay.discarded_bytes == starts[n] - starts[n - 1]);
      CHECK(damaged_copies(dir) == 0);
      CHECK(std::filesystem::file_size(path) == starts[n - 1]);
    } else {
      REQUIRE(replay.damage.size() == 1);
      CHECK(replay.damage[0].offset == starts[hit - 1]);
      CHECK(replay.damage[0].first_seq == static_cast<uint64_t>(hit));
      CHECK(replay.damage[0].last_seq == static_cast<uint64_t>(hit));
      CHECK(replay.discarded_bytes == 0);
      CHECK(damaged_copies(dir) == 1);
    }
  }
}

TEST_CASE("damage after a checkpoint names only the writes it may have held",
          "[writepaths][journal][damage]") {
  temp_dir dir;
  auto path = dir.file("j");
  uint64_t damaged_at = 0;
  {
    journal_replay replay;
    auto j = journal::open(path, {}, replay);
    REQUIRE(j.ok());
    for (int i = 1; i <= 3; ++i)
      REQUIRE((*j)->append(w(i)).ok());
    REQUIRE((*j)->checkpoint(3).ok()); // 1 and 2 are in the store
    damaged_at = (*j)->size_bytes();
    for (int i = 4; i <= 6; ++i)
      REQUIRE((*j)->append(w(i)).ok());
  }
  flip(path, damaged_at + 9); // inside write 4
  journal_replay replay;
  REQUIRE(journal::open(path, {}, replay).ok());
  CHECK(ids(replay) == std::vector<std::string>{"3", "5", "6"});
  REQUIRE(replay.damage.size() == 1);
  CHECK(replay.damage[0].first_seq == 4);
  CHECK(replay.damage[0].last_seq == 4);
}

TEST_CASE("a file that is not a journal is still refused and left as it is",
          "[writepaths][journal][damage]") {
  temp_dir dir;
  auto path = dir.file("j");
  std::string junk(4096, 'q');
  {
    std::ofstream out{path, std::ios::binary};
    out << junk;
  }
  journal_replay replay;
  auto j = journal::open(path, {}, replay);
  REQUIRE_FALSE(j.ok());
  CHECK_THAT(j.error().message(), Catch::Contains("not a cachebus journal"));
  CHECK(read_file(path) == junk);
  CHECK(damaged_copies(dir) == 0);
}

TEST_CASE("a second open of a journal in the same process is refused and "
          "names the holder",
          "[writepaths][journal][lock]") {
  temp_dir dir;
  auto path = dir.file("j");
  journal_replay replay;
  auto first = journal::open(path, {}, replay);
  REQUIRE(first.ok());
  REQUIRE((*first)->append(w(1)).ok());
  journal_replay second_replay;
  auto second = journal::open(path, {}, second_replay);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == store_errc::io_error);
  CHECK_THAT(second.error().message(),
             Catch::Contains(path)
               && Catch::Contains("process " + std::to_string(::getpid())));
  // The refused opener touched nothing: the first one's write is there.
  first->reset();
  auto third = journal::open(path, {}, second_replay);
  REQUIRE(third.ok());
  CHECK(ids(second_replay) == std::vector<std::string>{"1"});
}

TEST_CASE("a journal held by another process is refused with that "
          "process's pid until it exits",
          "[writepaths][journal][lock]") {
  temp_dir dir;
  auto path = dir.file("j");
  int ready[2];
  int quit[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(quit) == 0);
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: hold the journal until told to quit (or the parent dies).
    ::close(ready[0]);
    ::close(quit[1]);
    journal_replay replay;
    auto j = journal::open(path, {}, replay);
    char c = j.ok() && (*j)->append(w(7)).ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(quit[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(quit[0]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK(c == 'y');
  journal_replay replay;
  auto refused = journal::open(path, {}, replay);
  ::close(quit[1]); // the child exits once its read sees EOF
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(ready[0]);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message(),
             Catch::Contains("in use by process " + std::to_string(pid)));
  auto j = journal::open(path, {}, replay);
  REQUIRE(j.ok());
  CHECK(ids(replay) == std::vector<std::string>{"7"});
}

TEST_CASE("an append that meets a full disk is refused, changes nothing, and "
          "the journal takes writes again once there is room",
          "[writepaths][journal][enospc]") {
  temp_dir dir;
  auto path = dir.file("j");
  // In a child: RLIMIT_FSIZE makes the kernel refuse writes past the limit
  // (EFBIG, with SIGXFSZ ignored) exactly as a full disk refuses them.
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    journal_replay replay;
    auto j = journal::open(path, {}, replay);
    if (!j.ok())
      ::_exit(10);
    for (int i = 1; i <= 3; ++i) {
      auto t = (*j)->append(w(i));
      if (!t.ok() || !(*j)->wait_durable(*t).ok())
        ::_exit(11);
    }
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit tight = old;
    tight.rlim_cur = (*j)->size_bytes() + 16; // room for part of a frame
    if (::setrlimit(RLIMIT_FSIZE, &tight) != 0)
      ::_exit(12);
    record_write big{"users", "big", {{"name", std::string(4096, 'x')}}};
    auto full = (*j)->append(big);
    if (full.ok())
      ::_exit(13);
    if (full.error().message().find("free space and retry")
        == std::string::npos)
      ::_exit(14);
    if (::setrlimit(RLIMIT_FSIZE, &old) != 0)
      ::_exit(15);
    auto t = (*j)->append(w(4));
    if (!t.ok() || !(*j)->wait_durable(*t).ok())
      ::_exit(16);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  journal_replay replay;
  REQUIRE(journal::open(path, {}, replay).ok());
  CHECK(ids(replay) == std::vector<std::string>{"1", "2", "3", "4"});
  CHECK(replay.damage.empty());
  CHECK(replay.discarded_bytes == 0);
}
