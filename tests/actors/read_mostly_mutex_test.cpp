// The shard tables' reader-writer lock on its own: mutual exclusion under a
// seeded random mix of readers and writers, writer preference, and the
// per-thread slots that keep readers off each other's cache lines.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "cachebus/actors/cache/read_mostly_mutex.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

// Polls `pred` until it holds or a generous bound passes.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::yield();
  }
  return true;
}

} // namespace

TEST_CASE("readers never see a writer's half-done update, and no write is "
          "lost, under a random mix of readers and writers",
          "[read_mostly_mutex]") {
  // More threads than slots, so that some share one.
  constexpr int threads = static_cast<int>(read_slots) + 4;
  constexpr int ops = 20'000;
  auto seed = std::random_device{}();
  INFO("seed " << seed);
  read_mostly_mutex mtx;
  // Two words a writer updates one after the other: equal outside a write.
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t writes = 0; // under the write lock only
  std::atomic<uint64_t> torn{0};
  std::atomic<uint64_t> expected_writes{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng{seed + static_cast<unsigned>(t)};
      std::uniform_int_distribution<int> pick{0, 99};
      for (int i = 0; i < ops; ++i) {
        auto p = pick(rng);
        if (p < 10) {
          std::unique_lock guard{mtx};
          ++a;
          std::atomic_signal_fence(std::memory_order_seq_cst);
          ++b;
          ++writes;
          expected_writes.fetch_add(1, std::memory_order_relaxed);
        } else if (p < 12) {
          std::unique_lock guard{mtx, std::try_to_lock};
          if (guard.owns_lock()) {
            ++a;
            ++b;
            ++writes;
            expected_writes.fetch_add(1, std::memory_order_relaxed);
          }
        } else if (p < 14) {
          std::shared_lock guard{mtx, std::try_to_lock};
          if (guard.owns_lock() && a != b)
            torn.fetch_add(1);
        } else {
          std::shared_lock guard{mtx};
          if (a != b)
            torn.fetch_add(1);
        }
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(torn == 0);
  CHECK(writes == expected_writes);
  CHECK(a == writes);
  CHECK(b == writes);
}

TEST_CASE("a writer waits for the readers inside, and readers that come "
          "after it wait for it",
          "[read_mostly_mutex]") {
  read_mostly_mutex mtx;
  mtx.lock_shared();
  std::atomic<bool> written{false};
  std::thread writer{[&] {
    std::unique_lock guard{mtx};
    written = true;
  }};
  // The writer raises its flag: new readers are turned away from then on,
  // while the one inside keeps the writer out.
  CHECK(eventually([&] {
    if (mtx.try_lock_shared()) {
      mtx.unlock_shared();
      return false;
    }
    return true;
  }));
  CHECK_FALSE(written);
  mtx.unlock_shared();
  writer.join();
  CHECK(written);
  CHECK(mtx.try_lock_shared());
  mtx.unlock_shared();
}

TEST_CASE("try_lock fails while a reader or a writer holds the lock",
          "[read_mostly_mutex]") {
  read_mostly_mutex mtx;
  mtx.lock_shared();
  std::thread{[&] { CHECK_FALSE(mtx.try_lock()); }}.join();
  mtx.unlock_shared();
  mtx.lock();
  std::thread{[&] {
    CHECK_FALSE(mtx.try_lock());
    CHECK_FALSE(mtx.try_lock_shared());
  }}.join();
  mtx.unlock();
  CHECK(mtx.try_lock());
  mtx.unlock();
}

TEST_CASE("threads that start together get distinct slots, up to the slot "
          "count",
          "[read_mostly_mutex]") {
  std::mutex m;
  std::set<size_t> seen;
  std::vector<std::thread> ts;
  for (size_t i = 0; i < read_slots; ++i)
    ts.emplace_back([&] {
      auto s = this_thread_slot();
      CHECK(s < read_slots);
      CHECK(this_thread_slot() == s); // fixed for the thread's life
      std::lock_guard guard{m};
      seen.insert(s);
    });
  for (auto& t : ts)
    t.join();
  CHECK(seen.size() == read_slots);
}
