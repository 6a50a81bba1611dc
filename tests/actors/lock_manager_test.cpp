// The lock manager's protocol with holders on plain threads, driven message by
// message so that each interleaving is exact: a holder installs a value (or
// fails over to its old entry) and tells the lock manager later, and what the
// waiters get must still be what the table holds when the lock manager
// answers them, never a value an invalidation removed before they asked.
#include <catch2/catch.hpp>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/cache/local_cache.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/flight/lock_manager.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/thread_requester.hpp"

#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

struct lock_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts = [] {
    node_options o;
    o.shards = 2;
    return o;
  }();
  std::shared_ptr<time_source> clk = std::make_shared<time_source>();
  std::shared_ptr<local_cache> cache
    = std::make_shared<local_cache>(opts, clk.get());
  lock_manager_actor lm = spawn_lock_manager(sys, cache, opts, clk);
  caf::scoped_actor holder{sys};
  caf::scoped_actor waiter{sys};

  ~lock_fixture() { caf::anon_send_exit(lm, caf::exit_reason::user_shutdown); }

  shard_table& table() { return cache->table_for("k"); }

  int64_t in_a_minute() {
    return clk->now_ns() + std::chrono::nanoseconds{60s}.count();
  }

  acquire_reply acquire(caf::scoped_actor& who, acquire_request req) {
    acquire_reply out;
    who->request(lm, 5s, acquire_atom_v, req)
      .receive([&](acquire_reply& r) { out = std::move(r); },
               [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  }

  lock_stats stats() {
    caf::scoped_actor self{sys};
    lock_stats out;
    self->request(lm, 5s, stats_atom_v)
      .receive([&](lock_stats& s) { out = s; },
               [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  }

  // The waiter asks for "k" without blocking; its acquire is queued at the
  // lock manager before this returns (the stats request that sees it
  // waiting is answered after it).
  void waiter_asks() {
    acquire_request req;
    req.key = "k";
    waiter->send(lm, acquire_atom_v, req);
    REQUIRE(test::eventually([&] { return stats().waiting == 1; }));
  }

  // The holder of `grant` installs `value` (it does not tell the lock
  // manager yet).
  void holder_installs(const acquire_reply& grant, const std::string& value) {
    REQUIRE(table().complete_fill("k", grant.fill, value, in_a_minute(), 0, {},
                                  0, 0));
  }

  // The holder of `grant` tells the lock manager it installed `value`.
  void holder_releases(const acquire_reply& grant, const std::string& value) {
    caf::anon_send(lm, release_atom_v, std::string{"k"}, grant.token, value);
  }

  // The error the waiter got; fails the test if it got a value.
  caf::error waiter_error() {
    caf::error got;
    waiter->receive([&](acquire_reply& r) { FAIL("got a value: " << r.val); },
                    [&](caf::error& err) { got = std::move(err); },
                    caf::after(std::chrono::seconds{10}) >>
                      [&] { FAIL("the waiter got no answer"); });
    return got;
  }

  // What the waiter got: its acquire's reply, or its error.
  acquire_reply waiter_answer() {
    acquire_reply out;
    waiter->receive([&](acquire_reply& r) { out = std::move(r); },
                    [&](caf::error& err) { FAIL(describe(err)); },
                    caf::after(std::chrono::seconds{10}) >>
                      [&] { FAIL("the waiter got no answer"); });
    return out;
  }
};

} // namespace

TEST_CASE_METHOD(lock_fixture,
                 "a waiter that asks after an invalidation never gets the "
                 "value its holder installed before it",
                 "[lock][write-wins]") {
  auto grant = acquire(holder, {"k", true, false});
  REQUIRE(grant.outcome == acquire_reply::load);
  // The holder installs its value; then an invalidation removes it before
  // the holder's release reaches the lock manager, and a waiter asks.
  holder_installs(grant, "old");
  REQUIRE(cache->invalidate_keys({"k"}) == 1);
  waiter_asks();
  holder_releases(grant, "old");
  auto r = waiter_answer();
  // The waiter began after the invalidation: it loads anew.
  CHECK(r.outcome == acquire_reply::load);
  CHECK(r.val.empty());
}

TEST_CASE_METHOD(lock_fixture,
                 "a holder's release gives its waiters what the table holds "
                 "by then, such as a newer write",
                 "[lock][write-wins]") {
  auto grant = acquire(holder, {"k", true, false});
  waiter_asks();
  holder_installs(grant, "loaded");
  table().put("k", "written", in_a_minute(), {}, 0);
  holder_releases(grant, "loaded");
  auto r = waiter_answer();
  CHECK(r.outcome == acquire_reply::value);
  CHECK(r.val == "written");
}

TEST_CASE_METHOD(lock_fixture,
                 "a holder's release serves its waiters the value it "
                 "installed while the table still holds it",
                 "[lock]") {
  auto grant = acquire(holder, {"k", true, false});
  waiter_asks();
  holder_installs(grant, "loaded");
  holder_releases(grant, "loaded");
  auto r = waiter_answer();
  CHECK(r.outcome == acquire_reply::value);
  CHECK(r.val == "loaded");
  CHECK(stats().stale_fills == 0);
}

TEST_CASE_METHOD(lock_fixture,
                 "stale-if-error serves the old entry to waiters only while "
                 "the table still holds it",
                 "[lock][sie][write-wins]") {
  clk->make_manual();
  // "old" expired a second ago and is inside its 30 s grace window.
  auto fill = table().begin_fill("k");
  REQUIRE(table().complete_fill("k", fill, "old", clk->now_ns() + 1'000'000,
                                30'000'000'000, {}, 0, 0));
  clk->advance(1s);
  std::string seen;
  auto old = table().lookup("k", seen);
  REQUIRE(old.state == shard_table::lookup_result::stale);
  // The holder refreshes it and its load fails.
  auto grant = acquire(holder, {"k", true, false});
  REQUIRE(grant.outcome == acquire_reply::load);
  table().cancel_fill("k", grant.fill);
  auto down = make_error(errc::load_failed, "store down");
  auto holder_fails = [&] {
    caf::anon_send(lm, fail_atom_v, std::string{"k"}, grant.token, down,
                   old.version);
  };
  SECTION("still cached: the waiters get the old entry") {
    waiter_asks();
    holder_fails();
    auto r = waiter_answer();
    CHECK(r.outcome == acquire_reply::value);
    CHECK(r.val == "old");
  }
  SECTION("invalidated before the waiter asked: it gets the load's error") {
    REQUIRE(cache->invalidate_keys({"k"}) == 1);
    waiter_asks();
    holder_fails();
    CHECK(is(waiter_error(), errc::load_failed));
  }
  SECTION("replaced by a write: the waiters get the write") {
    waiter_asks();
    table().put("k", "written", in_a_minute(), {}, 0);
    holder_fails();
    auto r = waiter_answer();
    CHECK(r.outcome == acquire_reply::value);
    CHECK(r.val == "written");
  }
  SECTION("replaced by a write that expired too: the load's error") {
    waiter_asks();
    table().put("k", "written", clk->now_ns() + 1'000'000, {}, 0);
    clk->advance(1s);
    holder_fails();
    CHECK(is(waiter_error(), errc::load_failed));
  }
}

TEST_CASE_METHOD(lock_fixture,
                 "a key held by a plain thread is released when its "
                 "requester ends without releasing it",
                 "[lock][owner]") {
  {
    // What node::fetch holds a key with: a thread_requester, not a
    // scoped_actor. It ends here as if the thread unwound mid-load.
    thread_requester thread{sys};
    auto grant = thread.request<acquire_reply>(
      lm, 5s, acquire_atom_v, acquire_request{"k", true, false});
    REQUIRE(grant);
    REQUIRE(grant->outcome == acquire_reply::load);
    waiter_asks();
  }
  CHECK(is(waiter_error(), errc::load_failed));
  auto s = stats();
  CHECK(s.owner_deaths == 1);
  CHECK(s.held == 0);
  // The key is free again.
  CHECK(acquire(holder, {"k", true, false}).outcome == acquire_reply::load);
}
