// A rule's tags tag what is fetched under its keys, on every fetch path
// (loader_fn, the node loader, an actor's fetch through the lock manager),
// so that invalidate_tag reaches it; a tag invalidation during such a load
// keeps what it read out of the cache (fill_leases.hpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "caf/scoped_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

#include "support/eventually.hpp"
#include "support/gate.hpp"

using namespace cachebus;
using cachebus::test::gate;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view tagged_rules = "[users]\n"
                                          "keys = user:{id}, user:{id}:posts\n"
                                          "tags = user:{id}\n";

// Answers "<prefix><key>". (An argument, because CAF 0.17 spawns a
// function actor without arguments by dereferencing a null tuple.)
loader_actor::behavior_type echo_loader(loader_actor::pointer,
                                        std::string prefix) {
  return {
    [prefix](load_atom, const std::string& key) -> caf::result<loaded> {
      return loaded{prefix + key};
    },
  };
}

struct tagged_node {
  config cfg;
  caf::actor_system sys{cfg};
  loader_actor loader = sys.spawn(echo_loader, std::string{"loaded "});
  std::unique_ptr<node> n;

  explicit tagged_node(std::function<void(node_options&)> tweak = {}) {
    node_setup setup;
    auto rs = rules::parse(tagged_rules);
    REQUIRE(rs);
    setup.rules = std::move(*rs);
    setup.loader = loader;
    node_options opts;
    opts.shards = 2;
    if (tweak)
      tweak(opts);
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
  }

  ~tagged_node() {
    n->stop();
    caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
  }

  bool cached(const std::string& key) { return static_cast<bool>(n->get(key)); }

  bool waiters_reach(uint64_t count) {
    return test::eventually([&] {
      auto s = n->lock_stats();
      return s && s->waiting == count;
    });
  }
};

// Fails every load, once `go` opens (it announces each load on `started`).
// Detached: it blocks its own thread.
loader_actor::behavior_type failing_loader(loader_actor::pointer, gate* started,
                                           gate* go) {
  return {
    [=](load_atom, const std::string&) -> caf::result<loaded> {
      started->open();
      go->wait();
      return make_error(errc::load_failed, "store down");
    },
  };
}

} // namespace

TEST_CASE("a fetch resolves the rule's tags with the key's id, next to the "
          "call's",
          "[fetch][rule-tags]") {
  tagged_node t;
  auto fo = t.n->resolve_fetch("user:8:posts", {});
  REQUIRE(fo);
  CHECK(fo->tags == std::vector<std::string>{"user:8"});
  fetch_options mine;
  mine.tags = {"mine"};
  fo = t.n->resolve_fetch("user:8", mine);
  REQUIRE(fo);
  CHECK(fo->tags == std::vector<std::string>{"mine", "user:8"});
  fo = t.n->resolve_fetch("other:8", mine);
  REQUIRE(fo);
  CHECK(fo->tags == std::vector<std::string>{"mine"});
}

TEST_CASE("entries fetched with a loader carry their rule's tags, so "
          "invalidate_tag removes them",
          "[fetch][rule-tags]") {
  tagged_node t;
  loader_fn loader = [](const std::string& key) -> caf::expected<loaded> {
    return loaded{"v of " + key};
  };
  REQUIRE(t.n->fetch("user:8", loader));
  REQUIRE(t.n->fetch("user:8:posts", loader));
  REQUIRE(t.n->fetch("user:9:posts", loader));
  auto removed = t.n->invalidate_tag("user:8");
  REQUIRE(removed);
  CHECK(*removed == 2);
  CHECK_FALSE(t.cached("user:8"));
  CHECK_FALSE(t.cached("user:8:posts"));
  CHECK(t.cached("user:9:posts"));
}

TEST_CASE("entries fetched with the node loader or by an actor through the "
          "lock manager carry their rule's tags",
          "[fetch][rule-tags]") {
  tagged_node t;
  REQUIRE(t.n->fetch("user:8:posts"));
  {
    caf::scoped_actor self{t.sys};
    std::string got;
    self
      ->request(t.n->lock_manager(), 10s, fetch_atom_v, std::string{"user:8"},
                t.loader, fetch_options{})
      .receive([&](std::string& v) { got = std::move(v); },
               [&](caf::error& err) { FAIL(describe(err)); });
    CHECK(got == "loaded user:8");
  }
  REQUIRE(t.n->fetch("user:9"));
  REQUIRE(t.cached("user:8"));
  REQUIRE(t.cached("user:8:posts"));
  auto removed = t.n->invalidate_tag("user:8");
  REQUIRE(removed);
  CHECK(*removed == 2);
  CHECK_FALSE(t.cached("user:8"));
  CHECK_FALSE(t.cached("user:8:posts"));
  CHECK(t.cached("user:9"));
}

TEST_CASE("a tag invalidation during a load under a tagged rule keeps what "
          "the load read out of the cache",
          "[fetch][rule-tags][write-wins]") {
  tagged_node t;
  gate started, proceed;
  std::atomic<int> calls{0};
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    if (++calls == 1) {
      started.open();
      proceed.wait();
      return loaded{"read before the invalidation"};
    }
    return loaded{"read after it"};
  };
  std::thread fetcher{[&] { (void)t.n->fetch("user:8:posts", loader); }};
  REQUIRE(started.wait());
  // Any tag may be the load's: every tagged load in flight is refused.
  REQUIRE(t.n->invalidate_tag("user:8"));
  proceed.open();
  fetcher.join();
  auto v = t.n->get("user:8:posts");
  CHECK((!v || *v == "read after it"));
  CHECK(calls >= 1);
}

TEST_CASE("an actor that waited and loads after the first load failed tags "
          "its entry with the rule's tags",
          "[fetch][rule-tags][failure]") {
  tagged_node t{[](node_options& o) { o.loader_error_retry = true; }};
  gate started, go;
  auto failing = t.sys.spawn<caf::detached>(failing_loader, &started, &go);
  caf::scoped_actor first{t.sys}, second{t.sys};
  auto lm = t.n->lock_manager();
  std::string key{"user:8"};
  auto first_fetch
    = first->request(lm, 10s, fetch_atom_v, key, failing, fetch_options{});
  REQUIRE(started.wait());
  // Joins the load in flight: it loads only when that one fails.
  auto second_fetch
    = second->request(lm, 10s, fetch_atom_v, key, t.loader, fetch_options{});
  REQUIRE(t.waiters_reach(2)); // the first fetcher waits for its load too
  go.open();
  first_fetch.receive(
    [](std::string& v) { FAIL("got " << v); },
    [](caf::error& err) { CHECK(is(err, errc::load_failed)); });
  second_fetch.receive([](std::string& v) { CHECK(v == "loaded user:8"); },
                       [](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(t.cached("user:8"));
  auto removed = t.n->invalidate_tag("user:8");
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK_FALSE(t.cached("user:8"));
  caf::anon_send_exit(failing, caf::exit_reason::user_shutdown);
}

TEST_CASE("a waiter whose tags and the rule's are too many together is "
          "refused when it would load, and the next waiter loads",
          "[fetch][rule-tags][failure]") {
  tagged_node t{[](node_options& o) {
    o.loader_error_retry = true;
    o.max_tags = 2;
  }};
  gate started, go;
  auto failing = t.sys.spawn<caf::detached>(failing_loader, &started, &go);
  caf::scoped_actor first{t.sys}, crowded{t.sys}, plain{t.sys};
  auto lm = t.n->lock_manager();
  std::string key{"user:8"};
  auto first_fetch
    = first->request(lm, 10s, fetch_atom_v, key, failing, fetch_options{});
  REQUIRE(started.wait());
  fetch_options two_tags;
  two_tags.tags = {"a", "b"}; // allowed alone; with "user:8" one too many
  auto crowded_fetch
    = crowded->request(lm, 10s, fetch_atom_v, key, t.loader, two_tags);
  REQUIRE(t.waiters_reach(2)); // the first fetcher waits for its load too
  auto plain_fetch
    = plain->request(lm, 10s, fetch_atom_v, key, t.loader, fetch_options{});
  REQUIRE(t.waiters_reach(3));
  go.open();
  first_fetch.receive(
    [](std::string& v) { FAIL("got " << v); },
    [](caf::error& err) { CHECK(is(err, errc::load_failed)); });
  crowded_fetch.receive(
    [](std::string& v) { FAIL("got " << v); },
    [](caf::error& err) { CHECK(is(err, errc::invalid_argument)); });
  plain_fetch.receive([](std::string& v) { CHECK(v == "loaded user:8"); },
                      [](caf::error& err) { FAIL(describe(err)); });
  auto removed = t.n->invalidate_tag("user:8");
  REQUIRE(removed);
  CHECK(*removed == 1);
  caf::anon_send_exit(failing, caf::exit_reason::user_shutdown);
}
