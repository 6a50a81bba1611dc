#include "cachebus/bus/origin_log.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "caf/message.hpp"

#include "cachebus/bus/event_route.hpp"
#include "cachebus/bus/events.hpp"

using namespace cachebus;

namespace {

caf::message event(uint64_t seq, std::string id = {}) {
  if (id.empty())
    id = std::to_string(seq);
  return caf::make_message(invalidated{"users", std::move(id), 0, "a", seq});
}

uint64_t seq_of(const caf::message& msg) {
  return msg.get_as<invalidated>(0).sequence;
}

origin_log filled(uint64_t n, origin_log::limits lim = {}) {
  origin_log log{7, lim};
  for (uint64_t seq = 1; seq <= n; ++seq)
    log.append(seq, event(seq), 100);
  return log;
}

} // namespace

TEST_CASE("the origin log returns a requested range in sequence order") {
  auto log = filled(10);
  auto b = log.read(7, 3, 6, 100, 1 << 20);
  REQUIRE(b.status == replay_status::ok);
  CHECK(b.incarnation == 7);
  CHECK(b.from == 3);
  REQUIRE(b.events.size() == 4);
  for (uint64_t i = 0; i < 4; ++i)
    CHECK(seq_of(b.events[i]) == 3 + i);
}

TEST_CASE("the origin log answers at most one batch, by count and by bytes, "
          "and at least one event") {
  auto log = filled(10);
  CHECK(log.read(7, 1, 10, 4, 1 << 20).events.size() == 4);
  // 100 bytes each: 250 bytes hold two.
  CHECK(log.read(7, 1, 10, 100, 250).events.size() == 2);
  // An event larger than the byte bound still goes, alone.
  CHECK(log.read(7, 1, 10, 100, 10).events.size() == 1);
}

TEST_CASE("the origin log keeps only the newest events by count") {
  auto log = filled(10, {4, 1 << 20});
  CHECK(log.size() == 4);
  CHECK(log.first() == 7);
  CHECK(log.next() == 11);
  CHECK(log.trimmed() == 6);
  CHECK(log.read(7, 6, 10, 100, 1 << 20).status == replay_status::trimmed);
  auto b = log.read(7, 7, 10, 100, 1 << 20);
  REQUIRE(b.status == replay_status::ok);
  CHECK(b.events.size() == 4);
}

TEST_CASE("the origin log keeps only the newest events by bytes") {
  auto log = filled(10, {1000, 350});
  CHECK(log.size() == 3);
  CHECK(log.bytes() == 300);
  CHECK(log.first() == 8);
  CHECK(log.read(7, 7, 10, 100, 1 << 20).status == replay_status::trimmed);
}

TEST_CASE("a request of another incarnation is answered as such") {
  auto log = filled(3);
  auto b = log.read(8, 1, 3, 100, 1 << 20);
  CHECK(b.status == replay_status::other_incarnation);
  CHECK(b.incarnation == 7);
  CHECK(b.events.empty());
}

TEST_CASE("absurd ranges are refused without a copy") {
  auto log = filled(5);
  CHECK(log.read(7, 0, 3, 100, 1 << 20).status == replay_status::refused);
  CHECK(log.read(7, 4, 3, 100, 1 << 20).status == replay_status::refused);
  // Never sent: at or beyond next().
  CHECK(log.read(7, 1, 6, 100, 1 << 20).status == replay_status::refused);
  CHECK(log.read(7, 1, UINT64_MAX, 100, 1 << 20).status
        == replay_status::refused);
  CHECK(log.read(7, UINT64_MAX, UINT64_MAX, 100, 1 << 20).status
        == replay_status::refused);
}

TEST_CASE("a sequence the sender skipped is a hole that cannot be replayed") {
  origin_log log{7};
  log.append(1, event(1), 100);
  log.append(2, event(2), 100);
  log.append(4, event(4), 100); // 3 was given up on by the reorder buffer
  CHECK(log.next() == 5);
  CHECK(log.read(7, 1, 2, 100, 1 << 20).status == replay_status::ok);
  CHECK(log.read(7, 4, 4, 100, 1 << 20).status == replay_status::ok);
  auto b = log.read(7, 2, 4, 100, 1 << 20);
  CHECK(b.status == replay_status::trimmed);
  CHECK(b.events.empty());
  // A late repeat of an old sequence changes nothing.
  log.append(3, event(3), 100);
  CHECK(log.read(7, 3, 3, 100, 1 << 20).status == replay_status::trimmed);
}

TEST_CASE("an event's bytes count its strings") {
  auto small = event_bytes(event(1, "1"));
  auto large = event_bytes(event(1, std::string(1000, 'x')));
  CHECK(large >= small + 999);
  keys_invalidated keys{{"a", "b", std::string(500, 'k')}, "a", 1};
  CHECK(event_bytes(caf::make_message(keys)) > 500);
}
