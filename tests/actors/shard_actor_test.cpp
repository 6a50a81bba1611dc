// The shard's actor protocol, as another actor uses it, and its expiry sweep
// driven by CAF's deterministic test coordinator.
#include <catch2/catch.hpp>

#include "caf/scheduler/test_coordinator.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

struct actor_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> n;

  actor_fixture() {
    node_options opts;
    opts.shards = 3;
    auto started = node::start(sys, opts);
    REQUIRE(started);
    n = std::move(*started);
  }

  template <class... Ts>
  caf::expected<caf::message> ask(const shard_actor& s, Ts&&... xs) {
    caf::scoped_actor self{sys};
    caf::expected<caf::message> result{caf::message{}};
    self->request(s, 5s, std::forward<Ts>(xs)...)
      .receive([&](caf::message& msg) { result = std::move(msg); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

put_request put(std::string key, std::string value) {
  put_request req;
  req.key = std::move(key);
  req.value = std::move(value);
  return req;
}

} // namespace

TEST_CASE_METHOD(actor_fixture,
                 "an actor writes and reads through the owning shard",
                 "[shard]") {
  caf::scoped_actor self{sys};
  auto& s = n->shard_for("user:7");
  uint64_t version = 0;
  self->request(s, 5s, caf::put_atom_v, put("user:7", "bob"))
    .receive([&](uint64_t v) { version = v; },
             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(version > 0);
  std::string value;
  self->request(s, 5s, caf::get_atom_v, std::string{"user:7"})
    .receive([&](std::string& v) { value = v; },
             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(value == "bob");
  // The facade sees what the actor wrote: one table.
  CHECK(*n->get("user:7") == "bob");
}

TEST_CASE_METHOD(actor_fixture, "a shard answers a miss with a cachebus error",
                 "[shard]") {
  caf::scoped_actor self{sys};
  caf::error got;
  self->request(n->shard_for("nope"), 5s, caf::get_atom_v, std::string{"nope"})
    .receive([&](std::string&) { FAIL("unexpected hit"); },
             [&](caf::error& err) { got = err; });
  CHECK(is(got, errc::miss));
}

TEST_CASE_METHOD(actor_fixture,
                 "a shard refuses keys that belong to another shard",
                 "[shard]") {
  std::string key = "k";
  auto owner = n->shard_index(key);
  auto& other = n->shards()[(owner + 1) % n->shards().size()];
  caf::scoped_actor self{sys};
  caf::error got;
  self->request(other, 5s, caf::put_atom_v, put(key, "v"))
    .receive([&](uint64_t) { FAIL("misrouted write accepted"); },
             [&](caf::error& err) { got = err; });
  CHECK(is(got, errc::invalid_argument));
  CHECK_FALSE(n->get(key));
}

TEST_CASE_METHOD(actor_fixture, "a shard refuses bad writes and keeps its data",
                 "[shard]") {
  std::string key = "k";
  REQUIRE(n->set(key, "original"));
  auto& s = n->shard_for(key);
  caf::scoped_actor self{sys};
  auto bad_ttl = put(key, "v");
  bad_ttl.ttl = -5s;
  auto bad_value = put(key, std::string((8 << 20) + 1, 'v'));
  for (auto* req : {&bad_ttl, &bad_value}) {
    caf::error got;
    self->request(s, 5s, caf::put_atom_v, *req)
      .receive([&](uint64_t) { FAIL("bad write accepted"); },
               [&](caf::error& err) { got = err; });
    CHECK(got);
  }
  CHECK(*n->get(key) == "original");
}

TEST_CASE_METHOD(actor_fixture, "a shard reports its statistics", "[shard]") {
  REQUIRE(n->set("k", "v"));
  auto& s = n->shard_for("k");
  caf::scoped_actor self{sys};
  shard_stats st;
  self->request(s, 5s, stats_atom_v)
    .receive([&](shard_stats& x) { st = x; },
             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(st.entries == 1);
  CHECK(st.sets == 1);
}

TEST_CASE("the sweep timer reclaims expired entries without any real waiting",
          "[shard][deterministic]") {
  config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.inline-output", true);
  caf::actor_system sys{cfg};
  auto& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto clk = std::make_shared<cachebus::time_source>();
  clk->make_manual();
  node_options opts;
  opts.shards = 1;
  opts.sweep_interval = 1s;
  opts.sweep_batch = 10;
  node_setup setup;
  setup.clock = clk;
  auto started = node::start(sys, opts, setup);
  REQUIRE(started);
  auto& n = **started;
  sched.run();
  set_options o;
  o.ttl = 500ms;
  for (int i = 0; i < 35; ++i)
    REQUIRE(n.set("k" + std::to_string(i), "v", o));
  REQUIRE(n.stats().total.entries == 35);
  // Two sweep intervals after expiry, every entry is gone: the sweep frees
  // ten per step and continues with a message to itself.
  for (int i = 0; i < 2; ++i) {
    clk->advance(1s);
    sched.advance_time(1s);
    sched.run();
  }
  auto s = n.stats().total;
  CHECK(s.entries == 0);
  CHECK(s.expirations == 35);
  // The test coordinator runs jobs only when told: deliver the exits here,
  // then stop() finds every shard gone and returns at once.
  for (auto& shard : n.shards())
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(n.listener(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(n.bus(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(n.lock_manager(), caf::exit_reason::user_shutdown);
  sched.run();
  n.stop();
}
