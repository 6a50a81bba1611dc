// Two nodes in one process, each in its own actor system with its own
// middleman, linked by their bridges over loopback: an invalidation on one
// reaches the other, and losing a peer drops the survivor's cache (the
// partition rule), so no stale read survives.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "support/cluster_member.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view cluster_rules = "[users]\nkeys = user:{id}, "
                                           "user:{id}:profile\n";

// A member with the users rule, in a cluster (see cluster_member.hpp).
struct member : test::cluster_member {
  member(std::string name, std::vector<std::string> seeds)
      : cluster_member(std::move(name), std::move(seeds),
                       *rules::parse(cluster_rules)) {
    // nop
  }
};

// Waits for the next applied notification from `n`'s listener.
bool await_applied(caf::scoped_actor& observer) {
  bool got = false;
  observer->receive(
    [&](applied_atom, const std::string&, uint64_t) { got = true; },
    caf::after(15s) >> [] {});
  return got;
}

} // namespace

TEST_CASE("an invalidation on one node removes the other node's copies",
          "[cluster]") {
  member a{"a", {}};
  member b{"b", {a.address()}};
  caf::scoped_actor observer{*b.sys};
  caf::anon_send(b.n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  // The session is up once b saw a's first event: publish until it arrives.
  REQUIRE(b.n->set("probe", "v"));
  bool joined = false;
  for (int i = 0; i < 150 && !joined; ++i) {
    REQUIRE(a.n->invalidate({"nothing:" + std::to_string(i)}));
    observer->receive([&](applied_atom, const std::string& from,
                          uint64_t) { joined = from == "a"; },
                      caf::after(100ms) >> [] {});
  }
  REQUIRE(joined);
  for (auto* m : {&a, &b})
    for (auto k : {"user:1", "user:1:profile", "user:2"})
      REQUIRE(m->n->set(k, "v"));
  REQUIRE(*a.n->publish_invalidation("users", "1") == 2);
  // Wait until b applied a's users/1 event (skip other notifications).
  for (int i = 0; i < 20 && b.n->get("user:1"); ++i)
    await_applied(observer);
  CHECK_FALSE(b.n->get("user:1"));
  CHECK_FALSE(b.n->get("user:1:profile"));
  CHECK(b.n->get("user:2"));
  // b measured how late a's events arrived: one histogram for origin a,
  // each applied event in it, on loopback well under a second each.
  listener_stats st;
  caf::scoped_actor self{*b.sys};
  self->request(b.n->listener(), 5s, stats_atom_v)
    .receive([&](listener_stats& x) { st = x; }, [](caf::error&) {});
  REQUIRE(st.lag.size() == 1);
  auto& lag = st.lag.front();
  CHECK(lag.source == "a");
  CHECK(lag.observations == st.applied);
  CHECK(lag.observations >= 1);
  CHECK(lag.quantile_bound_ns(0.5) <= 1'000'000'000);
}

TEST_CASE("an event from another node that lands during a local load keeps "
          "what the load read out of the cache",
          "[cluster][write-wins]") {
  member a{"a", {}};
  member b{"b", {a.address()}};
  caf::scoped_actor observer{*b.sys};
  caf::anon_send(b.n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  bool joined = false;
  for (int i = 0; i < 150 && !joined; ++i) {
    REQUIRE(a.n->invalidate({"nothing:" + std::to_string(i)}));
    observer->receive([&](applied_atom, const std::string& from,
                          uint64_t) { joined = from == "a"; },
                      caf::after(100ms) >> [] {});
  }
  REQUIRE(joined);
  // b loads user:1; its loader read the row before a's write.
  std::mutex mtx;
  std::condition_variable cv;
  bool started = false;
  bool go = false;
  int runs = 0;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    std::unique_lock<std::mutex> g{mtx};
    if (runs++ > 0) // a new attempt, begun after the event
      return loaded{"read after the write", 2};
    started = true;
    cv.notify_all();
    cv.wait_for(g, 30s, [&] { return go; });
    return loaded{"read before the write", 1};
  };
  caf::expected<std::string> got{std::string{}};
  std::thread loading{[&] { got = b.n->fetch("user:1", loader); }};
  {
    std::unique_lock<std::mutex> g{mtx};
    REQUIRE(cv.wait_for(g, 30s, [&] { return started; }));
  }
  REQUIRE(a.n->publish_invalidation("users", "1"));
  // Wait until b applied every event a published, this one included.
  auto published = a.n->events_published();
  bool applied = false;
  for (int i = 0; i < 100 && !applied; ++i)
    observer->receive(
      [&](applied_atom, const std::string& from, uint64_t seq) {
        applied = from == "a" && seq >= published;
      },
      caf::after(100ms) >> [] {});
  {
    std::lock_guard<std::mutex> g{mtx};
    go = true;
    cv.notify_all();
  }
  loading.join();
  REQUIRE(applied);
  // The caller asked before the event, so either value is right for it,
  // but the cache never holds what was read before the event: the fill was
  // refused and the key loaded again.
  REQUIRE(got);
  CHECK((*got == "read before the write" || *got == "read after the write"));
  CHECK(b.n->stats().total.stale_fills_refused == 1);
  CHECK(runs == 2);
  auto cached = b.n->get("user:1");
  REQUIRE(cached);
  CHECK(*cached == "read after the write");
}

TEST_CASE("losing a peer drops the survivor's cache", "[cluster][partition]") {
  auto a = std::make_unique<member>("a", std::vector<std::string>{});
  member b{"b", {a->address()}};
  caf::scoped_actor observer{*b.sys};
  caf::anon_send(b.n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  bool joined = false;
  for (int i = 0; i < 150 && !joined; ++i) {
    REQUIRE(a->n->invalidate({"nothing:" + std::to_string(i)}));
    observer->receive([&](applied_atom, const std::string& from,
                          uint64_t) { joined = from == "a"; },
                      caf::after(100ms) >> [] {});
  }
  REQUIRE(joined);
  REQUIRE(b.n->set("user:9", "maybe stale once a is gone"));
  a.reset(); // a's invalidations can no longer reach b
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (b.n->get("user:9") && std::chrono::steady_clock::now() < deadline)
    await_applied(observer);
  CHECK_FALSE(b.n->get("user:9"));
  caf::scoped_actor self{*b.sys};
  listener_stats st;
  self->request(b.n->listener(), 5s, stats_atom_v)
    .receive([&](listener_stats& x) { st = x; }, [](caf::error&) {});
  CHECK(st.partitions >= 1);
  // b keeps serving.
  REQUIRE(b.n->set("user:9", "fresh"));
  CHECK(*b.n->get("user:9") == "fresh");
}
