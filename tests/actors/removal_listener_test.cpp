// Removal notifications (node::on_removal): every cause is reported once,
// on the node's delivery thread, never under a cache lock; a slow listener
// costs dropped notifications (counted), never a waiting cache; a throwing
// one is counted; nothing is reported without a listener.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "caf/send.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/node_state.hpp"
#include "cachebus/bus/peer_event.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

// What the listener was told, and on which threads.
struct collector {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<removal> seen;
  std::set<std::thread::id> threads;

  removal_listener fn() {
    return [this](const removal& r) {
      std::lock_guard<std::mutex> g{mtx};
      seen.push_back(r);
      threads.insert(std::this_thread::get_id());
      cv.notify_all();
    };
  }

  // Waits (bounded) until `n` removals were seen.
  bool wait_for(size_t n, std::chrono::seconds bound = 10s) {
    std::unique_lock<std::mutex> g{mtx};
    return cv.wait_for(g, bound, [&] { return seen.size() >= n; });
  }

  std::vector<removal> all() {
    std::lock_guard<std::mutex> g{mtx};
    return seen;
  }

  // key -> cause of everything seen; fails on a key seen twice.
  std::map<std::string, removal_cause> by_key() {
    std::map<std::string, removal_cause> out;
    for (auto& r : all()) {
      INFO("key " << r.key << " reported twice");
      CHECK(out.emplace(r.key, r.cause).second);
    }
    return out;
  }
};

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<time_source> clk = std::make_shared<time_source>();
  std::unique_ptr<node> n;
  collector c;

  explicit fixture(std::function<void(node_options&)> tweak = nullptr,
                   std::function<void(node_setup&)> setup_tweak = nullptr) {
    clk->make_manual();
    node_options opts;
    opts.shards = 2;
    opts.name = "here";
    opts.sweep_interval = 5ms;
    if (tweak)
      tweak(opts);
    node_setup setup;
    setup.clock = clk;
    if (setup_tweak)
      setup_tweak(setup);
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
  }

  void listen() { REQUIRE(n->on_removal(c.fn())); }

  void put(const std::string& key, std::vector<std::string> tags = {}) {
    set_options so;
    so.tags = std::move(tags);
    REQUIRE(n->set(key, "v", so));
  }

  bool drained() { return n->drain_removals(10s); }
};

bool failed_with(const caf::error& err, errc code) {
  return err && is(err, code);
}

} // namespace

TEST_CASE("each kind of invalidation is reported with its cause, once per "
          "entry",
          "[removal]") {
  fixture f;
  f.listen();
  for (auto k : {"one", "a", "b", "p:1", "p:2", "t1", "t2", "parent", "dep"})
    f.put(k, std::string{k}.starts_with("t") ? std::vector<std::string>{"tg"}
                                             : std::vector<std::string>{});
  REQUIRE_FALSE(f.n->track_dependency("parent", "dep"));
  REQUIRE(*f.n->erase("one") == 1);
  REQUIRE(*f.n->invalidate({"a", "b"}) == 2);
  REQUIRE(*f.n->invalidate_pattern("p:*") == 2);
  REQUIRE(*f.n->invalidate_tag("tg") == 2);
  REQUIRE(*f.n->erase("parent") == 2);
  // Nothing was removed here yet.
  CHECK(*f.n->erase("absent") == 0);
  REQUIRE(f.drained());
  auto got = f.c.by_key();
  CHECK(got
        == std::map<std::string, removal_cause>{
          {"one", removal_cause::key},
          {"a", removal_cause::keys},
          {"b", removal_cause::keys},
          {"p:1", removal_cause::pattern},
          {"p:2", removal_cause::pattern},
          {"t1", removal_cause::tag},
          {"t2", removal_cause::tag},
          {"parent", removal_cause::key},
          {"dep", removal_cause::dependency}});
  for (auto& r : f.c.all()) {
    CHECK_FALSE(r.remote());
    CHECK(is_invalidation(r.cause));
  }
  // The tagged entries' memory is reclaimed later by the sweep: not
  // reported again.
  auto& cache = *f.n->internals().cache;
  for (size_t i = 0; i < cache.shard_count(); ++i)
    cache.table(i)->sweep(f.clk->now_ns(), 1000);
  CHECK(cache.indexes().tables.entries == 0);
  REQUIRE(f.drained());
  CHECK(f.c.all().size() == 9);
}

TEST_CASE("a resource event reports its rule's keys and tagged entries as "
          "resource, with the entry's source version",
          "[removal]") {
  fixture f{
    nullptr, [](node_setup& s) {
      rules rs;
      REQUIRE_FALSE(rs.add({"users", {"user:{id}"}, {"user:{id}"}, {}}));
      s.rules = std::move(rs);
    }};
  f.listen();
  set_options so;
  so.version = 3;
  REQUIRE(f.n->set("user:1", "ada", so));
  f.put("user:1:card", {"user:1"});
  REQUIRE(*f.n->publish_invalidation("users", "1", 4) == 2);
  REQUIRE(f.drained());
  auto all = f.c.all();
  REQUIRE(all.size() == 2);
  for (auto& r : all) {
    CHECK(r.cause == removal_cause::resource);
    if (r.key == "user:1")
      CHECK(r.version == 3);
    else
      CHECK(r.version == 0); // unsourced
  }
}

TEST_CASE("replacement, eviction and expiry are reported with their causes",
          "[removal]") {
  fixture f{[](node_options& o) {
    o.shards = 1;
    o.max_entries = 3;
  }};
  f.listen();
  f.put("r");
  f.put("r"); // replaced
  REQUIRE(f.drained());
  REQUIRE(f.c.all().size() == 1);
  CHECK(f.c.all()[0].cause == removal_cause::replaced);
  // A write over an entry that already expired reports it expired.
  set_options short_ttl;
  short_ttl.ttl = 1s;
  REQUIRE(f.n->set("e", "v", short_ttl));
  f.clk->advance(2s);
  f.put("e");
  REQUIRE(f.drained());
  REQUIRE(f.c.all().size() == 2);
  CHECK(f.c.all()[1].key == "e");
  CHECK(f.c.all()[1].cause == removal_cause::expired);
  // Expiry: the shard's sweep (every 5 ms) reclaims it and reports it.
  REQUIRE(f.n->set("gone", "v", short_ttl));
  f.clk->advance(2s);
  REQUIRE(f.c.wait_for(3));
  CHECK(f.c.all()[2].key == "gone");
  CHECK(f.c.all()[2].cause == removal_cause::expired);
  // Capacity 3 ("r", "e" and these two): a fourth key evicts one.
  f.put("x");
  f.put("y");
  REQUIRE(f.drained());
  auto all = f.c.all();
  REQUIRE(all.size() == 4);
  CHECK(all[3].cause == removal_cause::evicted);
  CHECK(f.n->stats().total.evictions == 1);
}

TEST_CASE("clear and the partition rule are reported as such, the partition "
          "with the lost peer",
          "[removal]") {
  fixture f;
  f.listen();
  f.put("a");
  f.put("b");
  REQUIRE(f.n->clear() == 2);
  REQUIRE(f.drained());
  for (auto& r : f.c.all())
    CHECK(r.cause == removal_cause::cleared);
  f.put("c");
  peer_event lost;
  lost.peer = "elsewhere";
  lost.kind = peer_event_kind::lost;
  lost.last_sequence = 1;
  lost.drop = drop_cause::replay_off; // the bridge decides what drops
  caf::anon_send(f.n->listener(), lost);
  REQUIRE(f.c.wait_for(3));
  auto last = f.c.all().back();
  CHECK(last.key == "c");
  CHECK(last.cause == removal_cause::partition);
  CHECK(last.origin == "elsewhere");
  CHECK(last.remote());
}

TEST_CASE("another node's invalidation is reported with its origin",
          "[removal]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto bus = spawn_bus(sys);
  auto start = [&](std::string name) {
    node_options opts;
    opts.shards = 2;
    opts.name = std::move(name);
    node_setup setup;
    setup.bus = bus;
    auto n = node::start(sys, opts, std::move(setup));
    REQUIRE(n);
    return std::move(*n);
  };
  auto a = start("a");
  auto b = start("b");
  collector c;
  REQUIRE(b->on_removal(c.fn()));
  REQUIRE(b->set("k", "v"));
  REQUIRE(b->set("t", "v", set_options{default_ttl, {"tg"}, 0}));
  REQUIRE(a->erase("k"));
  REQUIRE(a->invalidate_tag("tg"));
  REQUIRE(c.wait_for(2));
  auto got = c.all();
  REQUIRE(got.size() == 2);
  std::map<std::string, removal> by_key;
  for (auto& r : got)
    by_key[r.key] = r;
  CHECK(by_key["k"].cause == removal_cause::key);
  CHECK(by_key["k"].origin == "a");
  CHECK(by_key["t"].cause == removal_cause::tag);
  CHECK(by_key["t"].origin == "a");
  a->stop();
  b->stop();
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

TEST_CASE("listeners run on the node's delivery thread, may call the node, "
          "and are not called after removal",
          "[removal]") {
  fixture f;
  std::atomic<int> calls{0};
  std::atomic<bool> got_value{false};
  auto id = f.n->on_removal([&](const removal&) {
    ++calls;
    // No cache lock is held here: reading the node does not deadlock.
    if (f.n->get("other"))
      got_value = true;
  });
  REQUIRE(id);
  REQUIRE(f.n->on_removal(f.c.fn()));
  f.put("other");
  f.put("k");
  REQUIRE(*f.n->erase("k") == 1);
  REQUIRE(f.drained());
  CHECK(calls == 1);
  CHECK(got_value);
  {
    std::lock_guard<std::mutex> g{f.c.mtx};
    REQUIRE(f.c.threads.size() == 1);
    CHECK(*f.c.threads.begin() != std::this_thread::get_id());
  }
  f.n->remove_removal_listener(*id);
  f.put("k");
  REQUIRE(*f.n->erase("k") == 1);
  REQUIRE(f.drained());
  CHECK(calls == 1);            // removed
  CHECK(f.c.all().size() == 2); // the other one still listens
  CHECK(failed_with(f.n->on_removal(nullptr).error(), errc::invalid_argument));
}

TEST_CASE("nothing is reported before the first listener", "[removal]") {
  fixture f;
  f.put("early");
  REQUIRE(*f.n->erase("early") == 1);
  CHECK(f.n->drain_removals(1s));
  CHECK(f.n->removal_listener_stats().delivered == 0);
  f.listen();
  f.put("late");
  REQUIRE(*f.n->erase("late") == 1);
  REQUIRE(f.drained());
  REQUIRE(f.c.all().size() == 1);
  CHECK(f.c.all()[0].key == "late");
}

TEST_CASE("a slow listener makes the bounded queue drop and count "
          "notifications, never the cache wait",
          "[removal]") {
  fixture f{[](node_options& o) { o.max_queued_removals = 4; }};
  std::mutex mtx;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::atomic<int> calls{0};
  REQUIRE(f.n->on_removal([&](const removal&) {
    ++calls;
    std::unique_lock<std::mutex> g{mtx};
    entered = true;
    cv.notify_all();
    cv.wait_for(g, 30s, [&] { return release; });
  }));
  constexpr int total = 50;
  for (int i = 0; i < total; ++i)
    f.put("k" + std::to_string(i));
  REQUIRE(*f.n->erase("k0") == 1);
  {
    std::unique_lock<std::mutex> g{mtx};
    REQUIRE(cv.wait_for(g, 10s, [&] { return entered; }));
  }
  // The listener is stuck in its first call: these return at once.
  for (int i = 1; i < total; ++i)
    REQUIRE(*f.n->erase("k" + std::to_string(i)) == 1);
  auto s = f.n->removal_listener_stats();
  CHECK(s.queued <= 4);
  CHECK(s.dropped >= total - 1 - 4);
  {
    std::lock_guard<std::mutex> g{mtx};
    release = true;
    cv.notify_all();
  }
  REQUIRE(f.drained());
  s = f.n->removal_listener_stats();
  CHECK(s.delivered + s.dropped == total);
  CHECK(s.delivered == static_cast<uint64_t>(calls.load()));
  CHECK(s.queued == 0);
}

TEST_CASE("a listener that throws is counted and delivery goes on",
          "[removal]") {
  fixture f;
  REQUIRE(f.n->on_removal([](const removal& r) {
    if (r.key == "bad")
      throw std::runtime_error("listener failure");
  }));
  f.listen();
  f.put("bad");
  f.put("good");
  REQUIRE(*f.n->erase("bad") == 1);
  REQUIRE(*f.n->erase("good") == 1);
  REQUIRE(f.drained());
  auto s = f.n->removal_listener_stats();
  CHECK(s.failed == 1);
  CHECK(s.delivered == 2);
  CHECK(f.c.all().size() == 2);
}

TEST_CASE("stopping the node delivers what is queued, and listening "
          "afterwards is refused",
          "[removal]") {
  fixture f;
  std::atomic<int> calls{0};
  REQUIRE(f.n->on_removal([&](const removal&) {
    std::this_thread::sleep_for(1ms); // a slow listener, not a wait
    ++calls;
  }));
  for (int i = 0; i < 20; ++i)
    f.put("k" + std::to_string(i));
  REQUIRE(f.n->clear() == 20);
  f.n->stop();
  CHECK(calls == 20);
  CHECK(
    failed_with(f.n->on_removal([](const removal&) {}).error(), errc::stopped));
}
