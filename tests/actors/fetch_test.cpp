// Cache-aside with single flight: one load per key however many callers miss
// at once, no stale fill after an invalidation, failing, dying and hanging
// loaders, stale-while-revalidate, stale-if-error and XFetch early refresh.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>

#include "caf/scoped_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/node_state.hpp"

#include "support/gate.hpp"
#include "support/node_fixture.hpp"

using namespace cachebus;
using cachebus::test::gate;
using namespace std::chrono_literals;

namespace {

struct fixture : cachebus::test::node_fixture {
  using node_fixture::node_fixture;

  // Options of a set or install that carries source version `v`.
  static set_options at_version(uint64_t v) {
    set_options so;
    so.version = v;
    return so;
  }

  shard_table& table_of(std::string_view key) {
    return n->internals().cache->table_for(key);
  }

  // A load of "k" that begins now (during a write, if one holds a lease)
  // finishes with `value` at source version `version` (0: unsourced);
  // REQUIREs that it was installed.
  void load_installs_k(std::string value, uint64_t version) {
    auto& table = table_of("k");
    auto fill = table.begin_fill("k");
    REQUIRE(table.complete_fill("k", fill, std::move(value), INT64_MAX, 0, {},
                                version, 0));
  }

  // Installs `value` under write `lease` of "k"; true if it was installed.
  bool install_k(uint64_t lease, std::string value, set_options so = {}) {
    auto installed = n->install("k", lease, std::move(value), so);
    REQUIRE(installed);
    return *installed;
  }
};

struct fixture_manual : fixture {
  fixture_manual() : fixture(true) {
    // nop
  }
};

} // namespace

TEST_CASE("a thousand concurrent fetches of a cold key run a 20 ms loader "
          "once",
          "[fetch][stampede]") {
  fixture f;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    ++runs;
    std::this_thread::sleep_for(20ms); // the loader's own work, not a wait
    return loaded{"the value"};
  };
  constexpr int callers = 1000;
  std::latch start{callers};
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i)
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto v = f.n->fetch("cold", loader);
      if (v && *v == "the value")
        ++right;
    });
  for (auto& t : threads)
    t.join();
  CHECK(runs == 1);
  CHECK(right == callers);
  auto s = f.locks();
  CHECK(s.grants == 1);
  CHECK(s.held == 0);
  CHECK(s.waiting == 0);
}

TEST_CASE_METHOD(fixture, "a hit never calls the loader", "[fetch]") {
  REQUIRE(n->set("k", "cached"));
  int runs = 0;
  auto v = n->fetch("k", [&](const std::string&) -> caf::expected<loaded> {
    ++runs;
    return loaded{"loaded"};
  });
  REQUIRE(v);
  CHECK(*v == "cached");
  CHECK(runs == 0);
}

TEST_CASE_METHOD(fixture,
                 "a loader that throws releases the key and its waiters get "
                 "the error",
                 "[fetch][failure]") {
  gate go;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (++runs == 1) {
      go.wait();
      throw std::runtime_error("database on fire");
    }
    return loaded{"second try"};
  };
  caf::expected<std::string> first{std::string{}}, second{std::string{}};
  std::thread owner{[&] { first = n->fetch("k", loader); }};
  REQUIRE(waiters_reach(0));
  while (locks().held == 0)
    std::this_thread::yield();
  std::thread waiter{[&] { second = n->fetch("k", loader); }};
  REQUIRE(waiters_reach(1));
  go.open();
  owner.join();
  waiter.join();
  REQUIRE_FALSE(first);
  CHECK(is(first.error(), errc::load_failed));
  CHECK_THAT(describe(first.error()), Catch::Contains("database on fire"));
  REQUIRE_FALSE(second);
  CHECK(is(second.error(), errc::load_failed));
  CHECK(runs == 1);
  // The key is free again: the next fetch loads.
  CHECK(*n->fetch("k", loader) == "second try");
}

TEST_CASE("with loader-error=retry a waiter loads after the first loader "
          "failed",
          "[fetch][failure]") {
  fixture f{false, [](node_options& o) { o.loader_error_retry = true; }};
  gate go;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (++runs == 1) {
      go.wait();
      return make_error(errc::load_failed, "first attempt fails");
    }
    return loaded{"from the waiter"};
  };
  caf::expected<std::string> first{std::string{}}, second{std::string{}};
  std::thread owner{[&] { first = f.n->fetch("k", loader); }};
  while (f.locks().held == 0)
    std::this_thread::yield();
  std::thread waiter{[&] { second = f.n->fetch("k", loader); }};
  REQUIRE(f.waiters_reach(1));
  go.open();
  owner.join();
  waiter.join();
  CHECK_FALSE(first);
  REQUIRE(second);
  CHECK(*second == "from the waiter");
  CHECK(runs == 2);
}

TEST_CASE("a loader that hangs past its lease releases the key to its "
          "waiters",
          "[fetch][lease]") {
  fixture f{false, [](node_options& o) { o.lease_timeout = 200ms; }};
  gate go;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (++runs == 1)
      go.wait(); // hangs until the test lets it go
    return loaded{"late"};
  };
  caf::expected<std::string> second{std::string{}};
  std::thread owner{[&] { (void)f.n->fetch("k", loader); }};
  while (f.locks().held == 0)
    std::this_thread::yield();
  auto t0 = std::chrono::steady_clock::now();
  std::thread waiter{[&] { second = f.n->fetch("k", loader); }};
  waiter.join();
  auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(second);
  CHECK(is(second.error(), errc::lease_expired));
  CHECK(waited < 10s); // released by the lease, not by the hung loader
  go.open();
  owner.join();
  CHECK(f.locks().expired == 1);
  CHECK(f.locks().held == 0);
}

TEST_CASE_METHOD(fixture,
                 "an invalidation during a load keeps the stale value out and "
                 "every caller gets the reloaded one",
                 "[fetch][stale-fill]") {
  gate started, go;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (++runs == 1) {
      started.open();
      go.wait();
      return loaded{"read before the invalidation"};
    }
    return loaded{"read after the invalidation"};
  };
  caf::expected<std::string> first{std::string{}}, second{std::string{}};
  std::thread owner{[&] { first = n->fetch("user:1", loader); }};
  REQUIRE(started.wait());
  std::thread waiter{[&] { second = n->fetch("user:1", loader); }};
  REQUIRE(waiters_reach(1));
  REQUIRE(n->invalidate({"user:1"})); // lands while the load is in flight
  go.open();
  owner.join();
  waiter.join();
  CHECK(runs == 2);
  CHECK(*first == "read after the invalidation");
  CHECK(*second == "read after the invalidation");
  CHECK(*n->get("user:1") == "read after the invalidation");
}

TEST_CASE_METHOD(fixture,
                 "a tag invalidation during a load keeps a tagged stale value "
                 "out",
                 "[fetch][stale-fill]") {
  gate started, go;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (++runs == 1) {
      started.open();
      go.wait();
      return loaded{"old"};
    }
    return loaded{"new"};
  };
  fetch_options fo;
  fo.tags = {"post:9"};
  caf::expected<std::string> got{std::string{}};
  std::thread owner{[&] { got = n->fetch("post:9:html", loader, fo); }};
  REQUIRE(started.wait());
  REQUIRE(n->invalidate_tag("post:9"));
  go.open();
  owner.join();
  CHECK(*got == "new");
  CHECK(*n->get("post:9:html") == "new");
}

TEST_CASE_METHOD(fixture_manual,
                 "stale-while-revalidate serves the old value while one "
                 "caller refreshes",
                 "[fetch][swr]") {
  fetch_options fo;
  fo.ttl = 10s;
  fo.stale_while_revalidate = 5s;
  std::atomic<int> runs{0};
  gate refreshing, go;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    auto r = ++runs;
    if (r == 2) {
      refreshing.open();
      go.wait();
    }
    return loaded{"v" + std::to_string(r)};
  };
  REQUIRE(*n->fetch("k", loader, fo) == "v1");
  clk->advance(11s);        // expired, inside the 5 s window
  CHECK_FALSE(n->get("k")); // plain reads never see an expired entry
  caf::expected<std::string> refreshed{std::string{}};
  std::thread refresher{[&] { refreshed = n->fetch("k", loader, fo); }};
  REQUIRE(refreshing.wait());
  // Meanwhile everyone else gets the old value without waiting.
  for (int i = 0; i < 10; ++i)
    CHECK(*n->fetch("k", loader, fo) == "v1");
  go.open();
  refresher.join();
  CHECK(*refreshed == "v2");
  CHECK(*n->get("k") == "v2");
  // Past the window a caller waits for a real load.
  clk->advance(16s);
  CHECK(*n->fetch("k", loader, fo) == "v3");
  CHECK(runs == 3);
}

TEST_CASE_METHOD(fixture_manual,
                 "stale-if-error serves the old value only within its window",
                 "[fetch][sie]") {
  fetch_options fo;
  fo.ttl = 10s;
  fo.stale_if_error = 30s;
  bool fail = false;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (fail)
      return make_error(errc::load_failed, "store down");
    return loaded{"good"};
  };
  REQUIRE(*n->fetch("k", loader, fo) == "good");
  fail = true;
  clk->advance(15s);
  auto v = n->fetch("k", loader, fo);
  REQUIRE(v);
  CHECK(*v == "good");
  clk->advance(30s); // 45 s after the load: beyond ttl + window
  auto e = n->fetch("k", loader, fo);
  REQUIRE_FALSE(e);
  CHECK(is(e.error(), errc::load_failed));
}

TEST_CASE_METHOD(fixture_manual, "XFetch refreshes a hot key before it expires",
                 "[fetch][xfetch]") {
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    clk->advance(5s); // the load takes 5 s of (manual) time
    return loaded{"v" + std::to_string(++runs)};
  };
  fetch_options fo;
  fo.ttl = 60s;
  REQUIRE(*n->fetch("k", loader, fo) == "v1");
  clk->advance(58s); // 2 s before expiry
  // Without XFetch nothing refreshes before expiry.
  for (int i = 0; i < 200; ++i)
    REQUIRE(n->fetch("k", loader, fo));
  CHECK(runs == 1);
  // With beta = 1 and a 5 s load, a refresh 2 s before expiry is all but
  // certain among 200 reads (each refreshes with probability e^-0.4).
  fo.beta = 1;
  for (int i = 0; i < 200 && runs == 1; ++i)
    REQUIRE(n->fetch("k", loader, fo));
  CHECK(runs == 2);
  CHECK(*n->get("k") == "v2");
}

TEST_CASE("callers beyond the waiter bound are refused", "[fetch][bounds]") {
  fixture f{false, [](node_options& o) { o.max_waiters = 2; }};
  gate go;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    go.wait();
    return loaded{"v"};
  };
  std::vector<std::thread> ts;
  std::vector<caf::expected<std::string>> results(3, std::string{});
  ts.emplace_back([&] { results[0] = f.n->fetch("k", loader); });
  while (f.locks().held == 0)
    std::this_thread::yield();
  ts.emplace_back([&] { results[1] = f.n->fetch("k", loader); });
  ts.emplace_back([&] { results[2] = f.n->fetch("k", loader); });
  REQUIRE(f.waiters_reach(2));
  auto extra = f.n->fetch("k", loader);
  REQUIRE_FALSE(extra);
  CHECK(is(extra.error(), errc::too_many_waiters));
  go.open();
  for (auto& t : ts)
    t.join();
  for (auto& r : results)
    CHECK(*r == "v");
}

TEST_CASE_METHOD(fixture, "bad fetch input is refused and loads nothing",
                 "[fetch][errors]") {
  int runs = 0;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    ++runs;
    return loaded{std::string((8 << 20) + 1, 'x')};
  };
  CHECK(is(n->fetch("", loader).error(), errc::invalid_key));
  fetch_options neg;
  neg.ttl = -1s;
  CHECK(is(n->fetch("k", loader, neg).error(), errc::invalid_ttl));
  CHECK(is(n->fetch("k", nullptr).error(), errc::invalid_argument));
  CHECK(runs == 0);
  // An oversized loaded value fails the load and caches nothing.
  CHECK(is(n->fetch("k", loader).error(), errc::value_too_large));
  CHECK_FALSE(n->get("k"));
  CHECK(locks().held == 0);
}

namespace {

loader_actor::behavior_type
counting_loader(loader_actor::pointer, std::shared_ptr<std::atomic<int>> runs) {
  return {
    [=](load_atom, const std::string& key) {
      ++*runs;
      return loaded{"loaded " + key, 42};
    },
  };
}

loader_actor::behavior_type dying_loader(loader_actor::pointer self,
                                         caf::unit_t) {
  return {
    [=](load_atom, const std::string&) -> caf::result<loaded> {
      self->quit(); // the owner of the load dies mid-load
      return caf::delegated<loaded>{};
    },
  };
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "actors fetch through the lock manager and one load serves "
                 "them all",
                 "[fetch][actors]") {
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto loader = sys.spawn(counting_loader, runs);
  caf::scoped_actor self{sys};
  constexpr int requests = 50;
  for (int i = 0; i < requests; ++i)
    self->send(n->lock_manager(), fetch_atom_v, std::string{"actor-key"},
               loader, fetch_options{});
  int answers = 0;
  self->receive_for(answers, requests)(
    [&](const std::string& v) { CHECK(v == "loaded actor-key"); });
  CHECK(*runs == 1);
  CHECK(*n->get("actor-key") == "loaded actor-key");
  self->send_exit(loader, caf::exit_reason::user_shutdown);
}

TEST_CASE("a loader actor that dies releases its key at once",
          "[fetch][actors][failure]") {
  fixture f{false, [](node_options& o) {
              o.lease_timeout = 30s;
              o.request_timeout = 30s;
            }};
  auto loader = f.sys.spawn(dying_loader, caf::unit);
  caf::scoped_actor self{f.sys};
  auto t0 = std::chrono::steady_clock::now();
  caf::error got;
  self
    ->request(f.n->lock_manager(), 20s, fetch_atom_v, std::string{"k"}, loader,
              fetch_options{})
    .receive([](const std::string&) { FAIL("a dead loader produced a value"); },
             [&](caf::error& err) { got = err; });
  CHECK(is(got, errc::load_failed));
  CHECK(std::chrono::steady_clock::now() - t0 < 10s); // not the 30 s lease
  CHECK(f.locks().owner_deaths == 1);
  CHECK(f.locks().held == 0);
}

TEST_CASE("a rule's TTL and stale-if-error window apply to fetches of its "
          "keys",
          "[fetch][sie][rules]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto clk = std::make_shared<time_source>();
  clk->make_manual();
  node_setup setup;
  setup.clock = clk;
  auto rs = rules::parse("[pages]\nkeys = page:{id}\nttl = 10s\n"
                         "stale_if_error = 30s\n");
  REQUIRE(rs);
  setup.rules = std::move(*rs);
  auto n = std::move(*node::start(sys, node_options{}, std::move(setup)));
  bool fail = false;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (fail)
      return make_error(errc::load_failed, "store down");
    return loaded{"page body"};
  };
  REQUIRE(*n->fetch("page:home", loader) == "page body");
  clk->advance(11s); // the rule's 10 s TTL, not the 5 min default
  CHECK_FALSE(n->get("page:home"));
  fail = true;
  auto v = n->fetch("page:home", loader); // inside the rule's window
  REQUIRE(v);
  CHECK(*v == "page body");
  // Keys of no rule get no window.
  REQUIRE(n->set("other", "x", {10s, {}, 0}));
  clk->advance(11s);
  CHECK_FALSE(n->fetch("other", loader));
  auto bad = rules::parse("[pages]\nkeys = page:{id}\nttl = soon\n");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("line 3"));
}

TEST_CASE_METHOD(fixture, "a fetch counts one miss and then one hit",
                 "[fetch][stats]") {
  loader_fn loader
    = [](const std::string&) -> caf::expected<loaded> { return loaded{"v"}; };
  REQUIRE(*n->fetch("k", loader) == "v");
  auto s = n->stats().total;
  CHECK(s.misses == 1);
  CHECK(s.hits == 0);
  REQUIRE(*n->fetch("k", loader) == "v");
  s = n->stats().total;
  CHECK(s.misses == 1);
  CHECK(s.hits == 1);
}

// -- every write wins
// -----------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a set during a load wins over the value the load read, 20 "
                 "times of 20",
                 "[fetch][write-wins]") {
  for (int i = 0; i < 20; ++i) {
    auto key = "user:" + std::to_string(i);
    gate started, go;
    loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
      started.open();
      go.wait();
      return loaded{"old"}; // read before the set
    };
    caf::expected<std::string> got{std::string{}};
    std::thread a{[&] { got = n->fetch(key, loader); }};
    REQUIRE(started.wait());
    REQUIRE(n->set(key, "new"));
    go.open();
    a.join();
    REQUIRE(got);
    // The caller asked before the set: either value is right for it.
    CHECK((*got == "old" || *got == "new"));
    CHECK(*n->get(key) == "new");
  }
  CHECK(n->stats().total.stale_fills_refused == 20);
}

TEST_CASE_METHOD(fixture,
                 "a waiter that asks after an invalidation never gets a value "
                 "read before it, even when every load is superseded",
                 "[fetch][write-wins]") {
  // Each load is invalidated while it runs, and a new waiter asks after
  // that invalidation. The first three loads serve everyone who asked before
  // they began; the third's value is also the last anyone gets from a
  // superseded load, and the waiter that joined during it loads itself.
  std::array<gate, 4> started, go;
  std::atomic<int> runs{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    auto run = runs++;
    started[static_cast<size_t>(run)].open();
    go[static_cast<size_t>(run)].wait();
    return loaded{"run " + std::to_string(run + 1)};
  };
  caf::expected<std::string> first{std::string{}};
  std::array<caf::expected<std::string>, 3> waiter{std::string{}, std::string{},
                                                   std::string{}};
  std::thread owner{[&] { first = n->fetch("k", loader); }};
  std::vector<std::thread> waiters;
  for (size_t run = 0; run < 3; ++run) {
    REQUIRE(started[run].wait());
    REQUIRE(n->invalidate({"k"}));
    waiters.emplace_back([&, run] { waiter[run] = n->fetch("k", loader); });
    REQUIRE(waiters_reach(run + 1));
    go[run].open();
  }
  // The third attempt was refused: waiters 0 and 1 (asked before it began)
  // got its value; waiter 2 (asked during it) runs the fourth load.
  REQUIRE(started[3].wait());
  go[3].open();
  owner.join();
  for (auto& t : waiters)
    t.join();
  CHECK(runs == 4);
  CHECK(*first == "run 3");
  CHECK(*waiter[0] == "run 3");
  CHECK(*waiter[1] == "run 3");
  CHECK(*waiter[2] == "run 4");
  CHECK(*n->get("k") == "run 4");
  CHECK(locks().reloads == 3);
}

TEST_CASE_METHOD(fixture,
                 "an install under a lease wins over a load that began after "
                 "the lease, and what that load read never lands after it",
                 "[fetch][write-wins]") {
  // The interleaving write-back met: queue_update takes its lease and reads
  // the cached copy; a fetch that missed before that copy was cached reaches
  // the table only now (the lock manager begins fills on its own schedule);
  // then queue_update installs the merged record at the same version.
  REQUIRE(n->set("k", "before", at_version(1)));
  auto lease = n->begin_install("k");
  auto& table = table_of("k");
  auto fill = table.begin_fill("k");
  // The load did not take the write's lease away.
  CHECK(install_k(lease, "written", at_version(1)));
  CHECK(*n->get("k") == "written");
  // The load may have read the source before the write: refused.
  CHECK_FALSE(table.complete_fill("k", fill, "before", INT64_MAX, 0, {}, 1, 0));
  CHECK(*n->get("k") == "written");
  CHECK(n->stats().total.stale_fills_refused == 1);
}

TEST_CASE_METHOD(fixture,
                 "a load that began during an install and finished before it "
                 "is replaced by the install",
                 "[fetch][write-wins]") {
  auto lease = n->begin_install("k");
  // The write has not completed: a read may still see what the load read.
  load_installs_k("loaded", 0);
  CHECK(*n->get("k") == "loaded");
  CHECK(install_k(lease, "written"));
  CHECK(*n->get("k") == "written");
}

TEST_CASE_METHOD(fixture,
                 "an install refused by an invalidation leaves no entry from "
                 "before its lease",
                 "[fetch][write-wins]") {
  REQUIRE(n->set("k", "before"));
  auto lease = n->begin_install("k");
  REQUIRE(n->invalidate({"k"}));
  CHECK_FALSE(install_k(lease, "written"));
  CHECK_FALSE(n->get("k"));
}

TEST_CASE_METHOD(fixture,
                 "an install refused by a versioned invalidation that spared "
                 "the cached entry leaves no entry from before its lease",
                 "[fetch][write-wins]") {
  // Write-back met this: a flush's event (version 5) spares a copy loaded
  // right after the flush (version 5, without the write queued since), and
  // refuses the queued write's install of that copy with its fields merged.
  REQUIRE(n->set("k", "loaded after the flush", at_version(5)));
  auto lease = n->begin_install("k");
  CHECK(table_of("k").erase_older({"k"}, 5, {removal_cause::resource, {}})
        == 0);
  CHECK(*n->get("k") == "loaded after the flush");
  CHECK_FALSE(install_k(lease, "written", at_version(5)));
  CHECK_FALSE(n->get("k"));
}

TEST_CASE_METHOD(fixture,
                 "an install refused by a newer version that a load installed "
                 "during it leaves no entry from before its lease",
                 "[fetch][write-wins]") {
  // The load began during the write: it may have read the source before
  // the write reached it, whatever version it carries.
  auto lease = n->begin_install("k");
  load_installs_k("loaded", 7);
  CHECK_FALSE(install_k(lease, "written", at_version(5)));
  CHECK_FALSE(n->get("k"));
}

TEST_CASE_METHOD(fixture,
                 "versions never go backwards: an older sourced write is "
                 "refused and changes nothing",
                 "[fetch][write-wins]") {
  set_options v7;
  v7.version = 7;
  REQUIRE(n->set("k", "seven", v7));
  set_options v5;
  v5.version = 5;
  auto r = n->set("k", "five", v5);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stale_version));
  CHECK(*n->get("k") == "seven");
  set_options same = v7;
  REQUIRE(n->set("k", "seven again", same)); // equal versions may replace
  CHECK(*n->get("k") == "seven again");
  REQUIRE(n->set("k", "unsourced")); // unsourced writes are never refused
  CHECK(*n->get("k") == "unsourced");
  REQUIRE(n->set("k", "five", v5)); // nor refuse
  CHECK(n->stats().total.older_versions_refused == 1);
}

namespace {

// A loader actor whose one load waits until the test lets it finish.
loader_actor::behavior_type gated_loader(loader_actor::pointer, gate* started,
                                         gate* go) {
  return {
    [=](load_atom, const std::string&) -> caf::result<loaded> {
      started->open();
      go->wait();
      return loaded{"old", 3};
    },
  };
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "on the actor path a set during a load reaches every waiter "
                 "and the loaded value is not installed",
                 "[fetch][write-wins]") {
  gate started, go;
  auto loader = sys.spawn<caf::detached>(gated_loader, &started, &go);
  auto fetch_from_actor = [&](std::string& out) {
    caf::scoped_actor self{sys};
    self
      ->request(n->lock_manager(), 30s, fetch_atom_v, std::string{"k"}, loader,
                fetch_options{})
      .receive([&](std::string& v) { out = std::move(v); },
               [&](caf::error& err) { out = describe(err); });
  };
  std::string a, b;
  std::thread ta{[&] { fetch_from_actor(a); }};
  REQUIRE(started.wait());
  std::thread tb{[&] { fetch_from_actor(b); }};
  REQUIRE(waiters_reach(2));
  set_options so;
  so.version = 4;
  REQUIRE(n->set("k", "new", so));
  go.open();
  ta.join();
  tb.join();
  CHECK(a == "new");
  CHECK(b == "new");
  CHECK(*n->get("k") == "new");
  CHECK(locks().stale_fills == 1);
  caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
}
