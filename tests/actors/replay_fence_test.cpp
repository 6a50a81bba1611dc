// The invalidation listener's side of replay instead of drop, driven by the
// peer events a bridge would publish (bus/peer_event.hpp), without a
// network: while a peer is replayed the node serves nothing; the replayed
// events apply as live ones; `replayed` lifts the fence; a drop empties the
// cache, counts its cause and lifts the fence too.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/peer_event.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> n;

  fixture() {
    node_options opts;
    opts.shards = 2;
    opts.name = "here";
    auto rs = rules::parse("[users]\nkeys = user:{id}\n");
    REQUIRE(rs);
    node_setup setup;
    setup.rules = std::move(*rs);
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
  }

  /// What a bridge publishes, as the listener receives it; returns once the
  /// listener handled it (a stats request queued behind it came back).
  listener_stats tell(peer_event ev) {
    caf::anon_send(n->listener(), std::move(ev));
    auto st = n->listener_stats();
    REQUIRE(st);
    return *st;
  }

  /// A peer's invalidation event, as its bridge publishes it on our bus.
  void remote(std::string id, uint64_t seq) {
    caf::scoped_actor self{sys};
    self
      ->request(n->listener(), 5s,
                invalidated{"users", std::move(id), 0, "p", seq})
      .receive([](uint64_t) {}, [](caf::error& err) { FAIL(describe(err)); });
  }

  static peer_event event(peer_event_kind kind,
                          drop_cause drop = drop_cause::none) {
    peer_event ev;
    ev.peer = "p";
    ev.kind = kind;
    ev.incarnation = 42;
    ev.drop = drop;
    return ev;
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "while a peer is replayed the node serves nothing, and once "
                 "replayed only what the missed events invalidated is gone",
                 "[replay]") {
  REQUIRE(n->set("user:1", "old"));
  REQUIRE(n->set("user:2", "kept"));
  auto st = tell(event(peer_event_kind::replaying));
  CHECK(st.replaying_now == 1);
  CHECK(st.replays == 1);
  CHECK_FALSE(n->get("user:1"));
  CHECK_FALSE(n->get("user:2"));
  // A write while fenced is accepted; reads still miss until the fence goes.
  REQUIRE(n->set("user:3", "written during the replay"));
  CHECK_FALSE(n->get("user:3"));
  remote("1", 7); // the missed event
  st = tell(event(peer_event_kind::replayed));
  CHECK(st.replaying_now == 0);
  CHECK(st.replays_completed == 1);
  CHECK(st.partitions == 0);
  CHECK_FALSE(n->get("user:1"));
  CHECK(n->get("user:2") == "kept");
  CHECK(n->get("user:3") == "written during the replay");
}

TEST_CASE_METHOD(fixture,
                 "a replay that cannot complete drops the cache, counted by "
                 "its cause, and lifts the fence",
                 "[replay]") {
  REQUIRE(n->set("user:1", "old"));
  REQUIRE(n->set("user:2", "also dropped"));
  tell(event(peer_event_kind::replaying));
  auto st = tell(event(peer_event_kind::gap, drop_cause::trimmed));
  CHECK(st.replaying_now == 0);
  CHECK(st.partitions == 1);
  CHECK(st.dropped == 2);
  CHECK(st.drops_by_cause[static_cast<size_t>(drop_cause::trimmed)] == 1);
  CHECK_FALSE(n->get("user:2"));
  REQUIRE(n->set("user:2", "fresh"));
  CHECK(n->get("user:2") == "fresh");
  st = tell(event(peer_event_kind::rejoined, drop_cause::new_incarnation));
  CHECK(st.drops_by_cause[static_cast<size_t>(drop_cause::new_incarnation)]
        == 1);
  CHECK_FALSE(n->get("user:2"));
}

TEST_CASE_METHOD(fixture,
                 "a lost peer, and a peer that rejoins with nothing missing, "
                 "drop nothing",
                 "[replay]") {
  REQUIRE(n->set("user:1", "v"));
  tell(event(peer_event_kind::lost));
  auto st = tell(event(peer_event_kind::rejoined));
  CHECK(st.partitions == 0);
  CHECK(n->get("user:1") == "v");
}

TEST_CASE_METHOD(fixture,
                 "two peers replayed at once keep the fence up until both are "
                 "done",
                 "[replay]") {
  REQUIRE(n->set("user:1", "v"));
  auto q = event(peer_event_kind::replaying);
  q.peer = "q";
  tell(event(peer_event_kind::replaying));
  tell(q);
  q.kind = peer_event_kind::replayed;
  auto st = tell(q);
  CHECK(st.replaying_now == 1);
  CHECK_FALSE(n->get("user:1"));
  st = tell(event(peer_event_kind::replayed));
  CHECK(st.replaying_now == 0);
  CHECK(n->get("user:1") == "v");
}
