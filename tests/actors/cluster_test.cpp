// Two nodes in one process, each in its own actor system with its own
// middleman, linked by their bridges over loopback: an invalidation on one
// reaches the other; what one misses while cut off is replayed from the
// other's log, and only what cannot be replayed drops its cache (the
// partition rule), so no stale read survives.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

#include "cachebus/apps/common/net_cut.hpp"
#include "support/cluster_member.hpp"
#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view cluster_rules = "[users]\nkeys = user:{id}, "
                                           "user:{id}:profile\n";

// A member with the users rule, in a cluster (see cluster_member.hpp).
struct member : test::cluster_member {
  member(std::string name, std::vector<std::string> seeds,
         bridge_tweak tweak = {})
      : cluster_member(std::move(name), std::move(seeds),
                       *rules::parse(cluster_rules), {}, std::move(tweak)) {
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

TEST_CASE("a peer lost for good makes the survivor drop its cache once it "
          "counts as gone",
          "[cluster][partition]") {
  auto a = std::make_unique<member>("a", std::vector<std::string>{});
  member b{
    "b", {a->address()}, [](bridge_options& o) { o.replay_gone_after = 1s; }};
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
  CHECK(st.drops_by_cause[static_cast<size_t>(drop_cause::gone)] == 1);
  // b keeps serving.
  REQUIRE(b.n->set("user:9", "fresh"));
  CHECK(*b.n->get("user:9") == "fresh");
}

// -- replay instead of drop ---------------------------------------------------

namespace {

// Publishes throw-away events on `from` until `to`'s listener applied one:
// the session from -> to is up.
void await_link(member& from, caf::scoped_actor& to_observer) {
  bool joined = false;
  for (int i = 0; i < 150 && !joined; ++i) {
    REQUIRE(from.n->invalidate({"nothing:" + std::to_string(i)}));
    to_observer->receive([&](applied_atom, const std::string& origin,
                             uint64_t) { joined = origin == from.name; },
                         caf::after(100ms) >> [] {});
  }
  REQUIRE(joined);
}

listener_stats stats_of(member& m) {
  auto st = m.n->listener_stats();
  REQUIRE(st);
  return *st;
}

uint64_t drops(const listener_stats& st, drop_cause why) {
  return st.drops_by_cause.at(static_cast<size_t>(why));
}

} // namespace

TEST_CASE("a connection cut while invalidations flow is replayed: only the "
          "entries the missed events invalidate are gone, and nothing is "
          "dropped",
          "[cluster][replay]") {
  if (!app::can_cut_connections()) {
    WARN("skipped: cutting a connection (ss -K) needs root");
    return;
  }
  member a{"a", {}};
  member b{"b", {a.address()}};
  caf::scoped_actor observer{*b.sys};
  caf::anon_send(b.n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  await_link(a, observer);
  for (int i = 0; i < 100; ++i)
    REQUIRE(b.n->set("user:" + std::to_string(i), "v"));
  auto before = stats_of(b);
  REQUIRE(app::cut_connections({a.n->cluster_port(), b.n->cluster_port()}));
  for (int i = 0; i < 50; ++i)
    REQUIRE(a.n->publish_invalidation("users", std::to_string(i)));
  // Caught up: nothing being replayed (a read misses while it is) and the
  // last missed event applied.
  CHECK(test::eventually([&] {
    auto st = stats_of(b);
    return st.replays >= 1 && st.replaying_now == 0 && !b.n->get("user:49");
  }));
  for (int i = 0; i < 50; ++i)
    CHECK_FALSE(b.n->get("user:" + std::to_string(i)));
  for (int i = 50; i < 100; ++i)
    CHECK(b.n->get("user:" + std::to_string(i)) == "v");
  auto after = stats_of(b);
  CHECK(after.partitions == before.partitions);
  CHECK(after.dropped == before.dropped);
  INFO("replays " << after.replays << ", completed "
                  << after.replays_completed);
  CHECK(after.replays_completed == after.replays);
  CHECK(after.replaying_now == 0);
}

TEST_CASE("a range trimmed from the origin's log drops the cache, counted as "
          "trimmed",
          "[cluster][replay]") {
  if (!app::can_cut_connections()) {
    WARN("skipped: cutting a connection (ss -K) needs root");
    return;
  }
  member a{"a", {}, [](bridge_options& o) { o.replay_log_events = 1; }};
  member b{"b", {a.address()}};
  caf::scoped_actor observer{*b.sys};
  caf::anon_send(b.n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  await_link(a, observer);
  REQUIRE(b.n->set("user:untouched", "v"));
  REQUIRE(app::cut_connections({a.n->cluster_port(), b.n->cluster_port()}));
  for (int i = 0; i < 20; ++i)
    REQUIRE(a.n->publish_invalidation("users", std::to_string(i)));
  CHECK(test::eventually(
    [&] { return drops(stats_of(b), drop_cause::trimmed) >= 1; }));
  // Dropped whole: even what no missed event touched.
  CHECK_FALSE(b.n->get("user:untouched"));
  CHECK(stats_of(b).replaying_now == 0);
  REQUIRE(b.n->set("user:untouched", "fresh"));
  CHECK(b.n->get("user:untouched") == "fresh");
}

TEST_CASE("a peer that restarts with a new incarnation makes the others drop",
          "[cluster][replay]") {
  auto a = std::make_unique<member>("a", std::vector<std::string>{});
  member b{"b", {a->address()}};
  caf::scoped_actor observer{*b.sys};
  caf::anon_send(b.n->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  await_link(*a, observer);
  REQUIRE(b.n->set("user:1", "cached"));
  a.reset();
  // Lost, but not gone yet: b keeps serving (no drop on a loss).
  REQUIRE(b.n->set("user:2", "cached while a is away"));
  a = std::make_unique<member>("a", std::vector<std::string>{b.address()});
  CHECK(test::eventually(
    [&] { return drops(stats_of(b), drop_cause::new_incarnation) >= 1; }));
  CHECK_FALSE(b.n->get("user:1"));
  CHECK_FALSE(b.n->get("user:2"));
  CHECK(drops(stats_of(b), drop_cause::gone) == 0);
}
