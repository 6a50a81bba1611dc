// The SIEVE queue on its own: which entry it evicts, and where its hand goes.
#include <catch2/catch.hpp>

#include <array>

#include "cachebus/actors/cache/sieve_queue.hpp"

using namespace cachebus;

namespace {

struct item : sieve_queue::hook {
  int id = 0;
};

int victim_id(sieve_queue& q) {
  return static_cast<item&>(q.victim()).id;
}

struct queue_fixture {
  sieve_queue q;
  std::array<item, 5> items;
  queue_fixture() {
    for (int i = 0; i < 5; ++i) {
      items[i].id = i;
      q.push(items[i]); // 0 is the oldest, 4 the newest
    }
  }
};

} // namespace

TEST_CASE("an empty queue says so, and a pushed one does not",
          "[sieve_queue]") {
  sieve_queue q;
  CHECK(q.empty());
  item x;
  q.push(x);
  CHECK_FALSE(q.empty());
  q.unlink(x);
  CHECK(q.empty());
}

TEST_CASE_METHOD(queue_fixture,
                 "without hits the queue evicts in insertion order",
                 "[sieve_queue]") {
  for (int i = 0; i < 5; ++i) {
    auto& v = q.victim();
    CHECK(static_cast<item&>(v).id == i);
    q.unlink(v);
  }
  CHECK(q.empty());
}

TEST_CASE_METHOD(queue_fixture,
                 "a visited entry is skipped once and loses its bit",
                 "[sieve_queue]") {
  sieve_queue::mark_visited(items[0]);
  sieve_queue::mark_visited(items[2]);
  auto& v = q.victim();
  CHECK(static_cast<item&>(v).id == 1);
  CHECK_FALSE(items[0].visited.load());
  CHECK(items[2].visited.load()); // the hand stopped before it
  q.unlink(v);
  // The hand goes on from where it stopped: 2 is skipped, 3 goes.
  CHECK(victim_id(q) == 3);
}

TEST_CASE_METHOD(queue_fixture,
                 "when every entry was visited the hand wraps around and "
                 "evicts the oldest",
                 "[sieve_queue]") {
  for (auto& x : items)
    sieve_queue::mark_visited(x);
  CHECK(victim_id(q) == 0);
  for (auto& x : items)
    CHECK_FALSE(x.visited.load());
}

TEST_CASE_METHOD(queue_fixture,
                 "unlinking the entry under the hand moves the hand to the "
                 "next newer one",
                 "[sieve_queue]") {
  sieve_queue::mark_visited(items[2]);
  q.unlink(q.victim()); // evicts 0; the hand rests on 1
  q.unlink(items[1]);   // the hand moves on to 2
  sieve_queue::mark_visited(items[3]);
  // 2 and 3 lose their bits, 4 goes.
  CHECK(victim_id(q) == 4);
}

TEST_CASE_METHOD(queue_fixture, "a write marks an entry as used",
                 "[sieve_queue]") {
  sieve_queue::mark_written(items[0]);
  CHECK(victim_id(q) == 1);
}

TEST_CASE_METHOD(queue_fixture,
                 "a replaced entry keeps the other's place, bit and hand",
                 "[sieve_queue]") {
  sieve_queue::mark_visited(items[0]);
  CHECK(victim_id(q) == 1); // the hand now points at 2
  item moved;
  moved.id = 20;
  q.replace(items[2], moved);
  CHECK(victim_id(q) == 20); // the hand moved with it
  sieve_queue::mark_visited(items[4]);
  item newest;
  newest.id = 40;
  q.replace(items[4], newest);
  q.unlink(moved);
  q.unlink(items[1]);
  CHECK(victim_id(q) == 3);
  q.unlink(items[3]);
  CHECK(victim_id(q) == 0); // 40 kept 4's bit; 0's was cleared above
}
