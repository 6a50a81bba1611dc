#include "cachebus/bus/replay_cursor.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/message.hpp"

#include "cachebus/bus/events.hpp"

using namespace cachebus;

namespace {

caf::message event(uint64_t seq, std::string origin = "p") {
  return caf::make_message(
    invalidated{"users", std::to_string(seq), 0, std::move(origin), seq});
}

replay_batch batch(uint64_t incarnation, uint64_t from, uint64_t to) {
  replay_batch b;
  b.incarnation = incarnation;
  b.from = from;
  for (auto seq = from; seq <= to; ++seq)
    b.events.push_back(event(seq));
  return b;
}

/// A cursor in session with incarnation 5 that delivered 1..3 live.
replay_cursor delivered_three() {
  replay_cursor c;
  REQUIRE(c.begin_session(5, 0) == drop_cause::none);
  for (uint64_t seq = 1; seq <= 3; ++seq)
    REQUIRE(c.live(seq));
  return c;
}

} // namespace

TEST_CASE("events that arrive in order are published at once") {
  auto c = delivered_three();
  CHECK_FALSE(c.pending());
  CHECK_FALSE(c.start());
  CHECK_FALSE(c.next_request());
  CHECK(c.delivered() == 3);
}

TEST_CASE("a gap is replayed from the log, in order, and needs no drop") {
  auto c = delivered_three();
  // 6 arrives: 4 and 5 are missing; 6 is fetched with them.
  CHECK_FALSE(c.live(6));
  REQUIRE(c.pending());
  REQUIRE(c.start());
  auto req = c.next_request();
  REQUIRE(req);
  CHECK(*req == replay_request{5, 4, 6});
  // One request at a time; 7 arriving meanwhile is fetched next.
  CHECK_FALSE(c.next_request());
  CHECK_FALSE(c.live(7));
  std::vector<event_route> routes;
  CHECK(c.accept(batch(5, 4, 6), "p", routes) == drop_cause::none);
  REQUIRE(routes.size() == 3);
  CHECK(routes[0].sequence == 4);
  CHECK(routes[2].sequence == 6);
  CHECK(routes[0].topic == "cache:users");
  CHECK_FALSE(c.finish()); // 7 is still missing
  req = c.next_request();
  REQUIRE(req);
  CHECK(*req == replay_request{5, 7, 7});
  routes.clear();
  CHECK(c.accept(batch(5, 7, 7), "p", routes) == drop_cause::none);
  CHECK(c.finish());
  CHECK_FALSE(c.active());
  // Back to live delivery.
  CHECK(c.live(8));
}

TEST_CASE("a partial answer is used and the rest asked for") {
  auto c = delivered_three();
  c.sent_up_to(10); // a heartbeat: the peer sent up to 10
  REQUIRE(c.start());
  auto req = c.next_request();
  REQUIRE(req);
  CHECK(*req == replay_request{5, 4, 10});
  std::vector<event_route> routes;
  CHECK(c.accept(batch(5, 4, 5), "p", routes) == drop_cause::none);
  CHECK(c.delivered() == 5);
  req = c.next_request();
  REQUIRE(req);
  CHECK(*req == replay_request{5, 6, 10});
}

TEST_CASE("a range trimmed from the log drops, counted as trimmed") {
  auto c = delivered_three();
  c.sent_up_to(9);
  c.start();
  c.next_request();
  replay_batch b;
  b.status = replay_status::trimmed;
  b.incarnation = 5;
  b.from = 4;
  std::vector<event_route> routes;
  CHECK(c.accept(b, "p", routes) == drop_cause::trimmed);
  CHECK(routes.empty());
  CHECK_FALSE(c.pending());
  CHECK_FALSE(c.active());
  CHECK(c.delivered() == 9);
  // Live delivery resumes after what was given up.
  CHECK(c.live(10));
}

TEST_CASE("a peer that restarted with a new incarnation drops") {
  auto c = delivered_three();
  CHECK(c.begin_session(6, 0) == drop_cause::new_incarnation);
  CHECK_FALSE(c.pending());
  CHECK(c.incarnation() == 6);
  CHECK(c.live(1));
  // Answered by the new life while asking the old one: the same.
  auto d = delivered_three();
  d.sent_up_to(5);
  d.start();
  d.next_request();
  replay_batch b;
  b.status = replay_status::other_incarnation;
  b.incarnation = 6;
  std::vector<event_route> routes;
  CHECK(d.accept(b, "p", routes) == drop_cause::new_incarnation);
}

TEST_CASE("a rejoin with the same incarnation replays what the peer sent "
          "while it was away") {
  auto c = delivered_three();
  CHECK(c.end_session() == drop_cause::none);
  CHECK(c.begin_session(5, 8) == drop_cause::none);
  REQUIRE(c.pending());
  REQUIRE(c.start());
  CHECK(*c.next_request() == replay_request{5, 4, 8});
  // Nothing missing: no replay at all.
  auto d = delivered_three();
  d.end_session();
  CHECK(d.begin_session(5, 3) == drop_cause::none);
  CHECK_FALSE(d.pending());
  CHECK(d.live(4));
}

TEST_CASE("a first session with a peer that published before drops as "
          "history, one that did not needs nothing") {
  replay_cursor c;
  CHECK(c.begin_session(5, 4) == drop_cause::history);
  CHECK_FALSE(c.pending());
  CHECK(c.live(5));
  replay_cursor d;
  CHECK(d.begin_session(5, 0) == drop_cause::none);
}

TEST_CASE("a session lost while replaying drops; one lost in order does not") {
  auto c = delivered_three();
  c.live(5);
  c.start();
  c.next_request();
  CHECK(c.end_session() == drop_cause::lost);
  CHECK_FALSE(c.active());
  CHECK_FALSE(c.in_flight());
  auto d = delivered_three();
  CHECK(d.end_session() == drop_cause::none);
}

TEST_CASE("an answer of the previous session is recognized as stale") {
  auto c = delivered_three();
  c.live(5);
  c.start();
  c.next_request();
  auto asked_in = c.attempt();
  c.end_session();
  c.begin_session(5, 6);
  CHECK(c.attempt() != asked_in);
}

TEST_CASE("a same incarnation announcing less than arrived is malformed") {
  auto c = delivered_three();
  CHECK(c.begin_session(5, 2) == drop_cause::malformed);
}

TEST_CASE("malformed answers are refused and drop") {
  auto check = [](replay_batch b, std::string origin = "p") {
    auto c = delivered_three();
    c.live(6); // wants 4..6
    c.start();
    c.next_request();
    std::vector<event_route> routes;
    CHECK(c.accept(b, origin, routes) == drop_cause::malformed);
    CHECK(routes.empty());
    CHECK(c.delivered() == 6); // given up
  };
  SECTION("empty") {
    check(batch(5, 4, 3));
  }
  SECTION("more than asked for") {
    check(batch(5, 4, 7));
  }
  SECTION("starting elsewhere") {
    check(batch(5, 5, 6));
  }
  SECTION("another incarnation stamped on an ok") {
    check(batch(9, 4, 6));
  }
  SECTION("events of another origin") {
    auto b = batch(5, 4, 6);
    b.events[1] = event(5, "mallory");
    check(b);
  }
  SECTION("a sequence out of order") {
    auto b = batch(5, 4, 6);
    std::swap(b.events[0], b.events[1]);
    check(b);
  }
  SECTION("not an event") {
    auto b = batch(5, 4, 6);
    b.events[2] = caf::make_message(std::string{"junk"});
    check(b);
  }
  SECTION("a refusal") {
    replay_batch b;
    b.status = replay_status::refused;
    check(b);
  }
  SECTION("an answer nobody asked for") {
    auto c = delivered_three();
    std::vector<event_route> routes;
    CHECK(c.accept(batch(5, 4, 4), "p", routes) == drop_cause::malformed);
  }
}
