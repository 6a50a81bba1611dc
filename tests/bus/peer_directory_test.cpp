#include "cachebus/bus/peer_directory.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

using sender = peer_directory::sender;
using verdict = sequence_tracker::verdict;

const auto t0 = peer_directory::clock::time_point{} + 1h;

peer_directory make_directory() {
  peer_directory dir{"a", "127.0.0.1", 100ms, 1s};
  dir.set_port(4000);
  return dir;
}

bridge_handshake hello(std::string name, uint64_t incarnation = 7,
                       uint64_t next = 1, uint16_t port = 5000) {
  bridge_handshake h;
  h.name = std::move(name);
  h.incarnation = incarnation;
  h.host = "127.0.0.1";
  h.port = port;
  h.next_sequence = next;
  return h;
}

/// Accepts `h` as a new session and checks that it was acceptable.
peer_directory::session join(peer_directory& dir, const bridge_handshake& h,
                             sender from = sender::other_bridge) {
  REQUIRE(!dir.refusal(h, from));
  return dir.start_session(h, from, t0);
}

std::vector<std::string> names(const std::vector<peer_directory::dial>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(x.name);
  return result;
}

} // namespace

// -- handshakes ---------------------------------------------------------------

TEST_CASE("a handshake from an unknown node is acceptable and starts a "
          "session where it says") {
  auto dir = make_directory();
  auto s = join(dir, hello("b", 7, 40));
  CHECK(s.started);
  CHECK(!s.rejoined);
  CHECK(!s.gap);
  REQUIRE(dir.connected("b"));
  auto* b = dir.find("b");
  CHECK(b->incarnation == 7);
  CHECK(b->port == 5000);
  CHECK(b->inbound.next() == 40);
  CHECK(b->last_heard == t0);
}

TEST_CASE("a name held by a connected peer is refused with a reason") {
  auto dir = make_directory();
  join(dir, hello("b", 7, 1, 5000));
  auto why = dir.refusal(hello("b", 8, 1, 6000), sender::other_bridge);
  REQUIRE(why);
  CHECK(*why
        == "node name \"b\" is already taken by a connected node at "
           "127.0.0.1:5000; every node needs a unique name");
  // Its own bridge may shake hands again.
  CHECK(!dir.refusal(hello("b", 7, 1, 5000), sender::current_bridge));
}

TEST_CASE("a handshake with this node's name, another protocol, no address "
          "or no sender is refused") {
  auto dir = make_directory();
  auto own = dir.refusal(hello("a"), sender::other_bridge);
  REQUIRE(own);
  CHECK(*own
        == "node name \"a\" is already taken: it is the name of the node at "
           "127.0.0.1:4000; every node needs a unique name");
  auto old = hello("b");
  old.protocol = bridge_protocol_version - 1;
  REQUIRE(dir.refusal(old, sender::other_bridge));
  CHECK(dir.refusal(old, sender::other_bridge)->find("bridge protocol") == 0);
  CHECK(dir.refusal(hello("b", 0), sender::other_bridge));
  CHECK(dir.refusal(hello("b", 7, 1, 0), sender::other_bridge));
  CHECK(dir.refusal(hello(""), sender::other_bridge));
  CHECK(*dir.refusal(hello("b"), sender::nobody)
        == "handshake of \"b\" came from nobody");
  // A refusal changes nothing.
  CHECK(dir.peers().empty());
}

TEST_CASE("a repeated handshake in the same session with a higher next "
          "sequence reports a gap") {
  auto dir = make_directory();
  join(dir, hello("b", 7, 1));
  CHECK(dir.deliver("b", 1).verdict == verdict::in_order);
  CHECK(dir.deliver("b", 2).verdict == verdict::in_order);
  auto h = hello("b", 7, 6);
  CHECK(dir.same_session(h, sender::current_bridge));
  auto s = dir.start_session(h, sender::current_bridge, t0 + 1s);
  CHECK(!s.started);
  CHECK(s.gap);
  CHECK(s.previous_last == 2);
  CHECK(dir.find("b")->inbound.next() == 6);
  // At the position it already had, it is no gap.
  auto again = dir.start_session(hello("b", 7, 6), sender::current_bridge, t0);
  CHECK(!again.started);
  CHECK(!again.gap);
}

TEST_CASE("a handshake with a new incarnation or from another bridge starts "
          "a new session, a rejoin") {
  auto dir = make_directory();
  join(dir, hello("b", 7, 1));
  dir.deliver("b", 1);
  dir.deliver("b", 2);
  auto restarted = hello("b", 9, 1);
  CHECK(!dir.same_session(restarted, sender::current_bridge));
  auto s = dir.start_session(restarted, sender::current_bridge, t0);
  CHECK(s.started);
  CHECK(s.rejoined);
  CHECK(s.previous_last == 2);
  CHECK(dir.find("b")->inbound.next() == 1);
  CHECK(dir.find("b")->incarnation == 9);
  // A lost peer coming back on a new connection.
  dir.lose("b", "gone");
  auto back = dir.start_session(hello("b", 9, 3), sender::other_bridge, t0);
  CHECK(back.started);
  CHECK(back.rejoined);
  CHECK(dir.connected("b"));
  CHECK(dir.find("b")->last_error.empty());
}

// -- membership ---------------------------------------------------------------

TEST_CASE("learning a member list skips self and connected peers") {
  auto dir = make_directory();
  join(dir, hello("b", 7, 1, 5000));
  auto dials = dir.learn({{"a", "127.0.0.1", 4000},
                          {"b", "10.0.0.2", 5001},
                          {"c", "127.0.0.1", 6000},
                          {"", "127.0.0.1", 6001},
                          {"d", "", 6002},
                          {"e", "127.0.0.1", 0}});
  CHECK(names(dials) == std::vector<std::string>{"c"});
  REQUIRE(dials.size() == 1);
  CHECK(dials[0].host == "127.0.0.1");
  CHECK(dials[0].port == 6000);
  CHECK(dials[0].attempt == dir.find("c")->attempt);
  // A connected peer keeps the address of its session.
  CHECK(dir.find("b")->host == "127.0.0.1");
  CHECK(dir.find("b")->port == 5000);
  CHECK(dir.find("c")->state == peer_state::connecting);
  CHECK(dir.find("c")->dialing);
  CHECK(!dir.find("d"));
  CHECK(!dir.find("e"));
}

TEST_CASE("a member being dialed is not dialed again, but learns its new "
          "address") {
  auto dir = make_directory();
  CHECK(names(dir.learn({{"c", "127.0.0.1", 6000}, {"c", "127.0.0.1", 6000}}))
        == std::vector<std::string>{"c"});
  CHECK(dir.learn({{"c", "127.0.0.2", 6001}}).empty());
  CHECK(dir.find("c")->host == "127.0.0.2");
  CHECK(dir.find("c")->port == 6001);
  // Waiting for its redial timer, it is dialed at once.
  dir.dial_failed("c", false, "connection refused");
  CHECK(names(dir.learn({{"c", "127.0.0.1", 6000}}))
        == std::vector<std::string>{"c"});
}

TEST_CASE("the member list is this node and every peer in session") {
  auto dir = make_directory();
  join(dir, hello("c", 7, 1, 6000));
  join(dir, hello("b", 8, 1, 5000));
  dir.learn({{"d", "127.0.0.1", 7000}});
  CHECK(dir.members()
        == std::vector<bridge_member>{{"a", "127.0.0.1", 4000},
                                      {"b", "127.0.0.1", 5000},
                                      {"c", "127.0.0.1", 6000}});
  dir.lose("c", "gone");
  CHECK(dir.members()
        == std::vector<bridge_member>{{"a", "127.0.0.1", 4000},
                                      {"b", "127.0.0.1", 5000}});
}

// -- dialing ------------------------------------------------------------------

TEST_CASE("backoff doubles up to the maximum and resets on a session") {
  auto dir = make_directory();
  dir.learn({{"b", "127.0.0.1", 5000}});
  std::vector<peer_directory::duration> delays;
  for (int i = 0; i < 6; ++i) {
    auto f = dir.dial_failed("b", false, "connection refused");
    delays.push_back(f.next.delay);
    dir.start_dial("b");
  }
  CHECK(delays
        == std::vector<peer_directory::duration>{100ms, 200ms, 400ms, 800ms, 1s,
                                                 1s});
  join(dir, hello("b"));
  CHECK(dir.find("b")->backoff == 100ms);
  // A loss redials after the initial delay, then backs off again.
  CHECK(dir.lose("b", "gone").delay == 100ms);
  dir.start_dial("b");
  CHECK(dir.dial_failed("b", false, "connection refused").next.delay == 200ms);
}

TEST_CASE("an outcome or timer of an older dial attempt is stale") {
  auto dir = make_directory();
  auto first = dir.learn({{"b", "127.0.0.1", 5000}}).at(0);
  CHECK(dir.awaits("b", first.attempt));
  auto timer = dir.dial_failed("b", false, "timeout").next;
  CHECK(!dir.awaits("b", first.attempt));
  CHECK(dir.awaits("b", timer.attempt));
  auto second = dir.start_dial("b");
  CHECK(!dir.awaits("b", timer.attempt));
  CHECK(dir.awaits("b", second.attempt));
  // A session cancels every pending attempt.
  join(dir, hello("b"));
  CHECK(!dir.awaits("b", second.attempt));
  CHECK(!dir.awaits("c", 1));
}

TEST_CASE("a refusal is reported once however often it repeats, and a "
          "failed dial says what went wrong") {
  auto dir = make_directory();
  dir.learn({{"b", "127.0.0.1", 5000}});
  CHECK(dir.dial_failed("b", true, "name taken").newly_refused);
  CHECK(dir.find("b")->state == peer_state::refused);
  dir.start_dial("b");
  CHECK(!dir.dial_failed("b", true, "name taken").newly_refused);
  dir.start_dial("b");
  CHECK(!dir.dial_failed("b", false, "timeout").newly_refused);
  CHECK(dir.find("b")->state == peer_state::connecting);
  CHECK(dir.find("b")->last_error == "timeout");
  CHECK(dir.stats().at(0).last_error == "timeout");
}

// -- liveness -----------------------------------------------------------------

TEST_CASE("a peer silent past the deadline is listed, lost, and reconnecting "
          "on its next dial") {
  auto dir = make_directory();
  join(dir, hello("b"));
  join(dir, hello("c"));
  dir.heard("c", t0 + 2s);
  CHECK(dir.silent_since(t0 + 1s) == std::vector<std::string>{"b"});
  CHECK(dir.silent_since(t0).empty());
  dir.lose("b", "peer timeout");
  CHECK(dir.find("b")->state == peer_state::down);
  CHECK(dir.find("b")->last_error == "peer timeout");
  CHECK(dir.silent_since(t0 + 1s).empty());
  dir.start_dial("b");
  CHECK(dir.find("b")->state == peer_state::reconnecting);
  // Never connected, a failed dial leaves it connecting; once connected,
  // down.
  dir.dial_failed("b", false, "timeout");
  CHECK(dir.find("b")->state == peer_state::down);
}

// -- inbound sequences --------------------------------------------------------

TEST_CASE("a peer's events are classified and counted unless duplicates") {
  auto dir = make_directory();
  join(dir, hello("b", 7, 1));
  CHECK(dir.deliver("b", 1).verdict == verdict::in_order);
  CHECK(dir.deliver("b", 1).verdict == verdict::duplicate);
  auto jump = dir.deliver("b", 4);
  CHECK(jump.verdict == verdict::gap);
  CHECK(jump.last == 1);
  CHECK(dir.deliver("b", 0).verdict == verdict::in_order); // unsequenced
  CHECK(dir.find("b")->events_in == 3);
  CHECK(dir.find("b")->inbound.last() == 4);
  auto row = dir.stats().at(0);
  CHECK(row.name == "b");
  CHECK(row.state == peer_state::connected);
  CHECK(row.last_sequence == 4);
  CHECK(row.events_in == 3);
}

TEST_CASE("a heartbeat beyond the last received sequence reports a gap") {
  auto dir = make_directory();
  join(dir, hello("b", 7, 1));
  dir.deliver("b", 1);
  CHECK(!dir.sent_up_to("b", 2));
  CHECK(dir.sent_up_to("b", 5) == uint64_t{1});
  CHECK(dir.find("b")->inbound.next() == 5);
}
