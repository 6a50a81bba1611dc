// Event-driven invalidation: the seed's scenarios (user keys cleared by one
// event, post tags, search-page patterns, dependency cascades, the central
// invalidator), versioning, bad input, and the guarantee that an invalidated
// entry is never read after the call returned.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/node_state.hpp"

#include "support/eventually.hpp"

using namespace cachebus;
using cachebus::test::eventually;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view seed_rules = R"(
# The seed's world: users and their derived keys, posts, search pages.
[users]
keys = user:{id}, user:{id}:profile, user:{id}:posts, user:{id}:friends
tags = user:{id}
dependents = feeds

[feeds]
keys = feed:{id}

[posts]
keys = post:{id}
tags = post:{id}
)";

node_options small_options() {
  node_options opts;
  opts.shards = 3;
  opts.max_entries = 100'000;
  return opts;
}

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> n;

  fixture() {
    node_setup setup;
    auto rs = rules::parse(seed_rules);
    REQUIRE(rs);
    setup.rules = std::move(*rs);
    auto started = node::start(sys, small_options(), std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
  }

  void put(const std::string& key, std::string value = "v",
           std::vector<std::string> tags = {}, uint64_t version = 0) {
    set_options o;
    o.tags = std::move(tags);
    o.version = version;
    REQUIRE(n->set(key, std::move(value), o));
  }

  bool cached(const std::string& key) { return static_cast<bool>(n->get(key)); }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "one user event clears the user's key, profile, posts and "
                 "friends",
                 "[invalidation][seed]") {
  for (auto k : {"user:1", "user:1:profile", "user:1:posts", "user:1:friends",
                 "feed:1", "user:2", "user:2:profile"})
    put(k);
  auto n_removed = n->publish_invalidation("users", "1");
  REQUIRE(n_removed);
  CHECK(*n_removed == 5); // four user keys and the dependent feed
  for (auto k :
       {"user:1", "user:1:profile", "user:1:posts", "user:1:friends", "feed:1"})
    CHECK_FALSE(cached(k));
  CHECK(cached("user:2"));
  CHECK(cached("user:2:profile"));
}

TEST_CASE_METHOD(fixture,
                 "the rules' tags reach entries that no key template names",
                 "[invalidation][seed]") {
  put("user:1:avatar-thumb", "png", {"user:1"});
  put("user:2:avatar-thumb", "png", {"user:2"});
  REQUIRE(n->publish_invalidation("users", "1"));
  CHECK_FALSE(cached("user:1:avatar-thumb"));
  CHECK(cached("user:2:avatar-thumb"));
}

TEST_CASE_METHOD(fixture,
                 "a post tag invalidation removes every entry tagged with the "
                 "post",
                 "[invalidation][seed][tags]") {
  put("post:7", "body", {"post:7"});
  put("post:7:comments", "[...]", {"post:7", "comments"});
  put("home:page", "<html>", {"post:7", "post:8"});
  put("post:8", "body", {"post:8"});
  auto removed = n->invalidate_tag("post:7");
  REQUIRE(removed);
  CHECK(*removed == 3);
  CHECK_FALSE(cached("post:7"));
  CHECK_FALSE(cached("post:7:comments"));
  CHECK_FALSE(cached("home:page"));
  CHECK(cached("post:8"));
  // A new entry with the same tag is live: tags outlive their invalidation.
  put("post:7", "new body", {"post:7"});
  CHECK(*n->get("post:7") == "new body");
  // The shards reclaim the invalidated entries in the background.
  CHECK(eventually(
    [&] { return n->internals().cache->indexes().tables.dead_tags == 0; }));
  CHECK(n->stats().total.entries == 2);
}

TEST_CASE_METHOD(fixture,
                 "a search pattern removes every cached page of that query "
                 "and nothing else",
                 "[invalidation][seed][patterns]") {
  for (int page = 1; page <= 20; ++page) {
    put("search:q:elixir:page:" + std::to_string(page));
    put("search:q:erlang:page:" + std::to_string(page));
  }
  put("search:q:elixir");
  auto removed = n->invalidate_pattern("search:q:elixir:page:*");
  REQUIRE(removed);
  CHECK(*removed == 20);
  CHECK(cached("search:q:elixir"));
  CHECK(cached("search:q:erlang:page:3"));
  CHECK_FALSE(cached("search:q:elixir:page:3"));
  REQUIRE(n->invalidate_pattern("search:q:erlang:page:?"));
  CHECK_FALSE(cached("search:q:erlang:page:9"));
  CHECK(cached("search:q:erlang:page:10"));
}

TEST_CASE_METHOD(fixture,
                 "a pattern without a literal prefix is refused rather than "
                 "scanning every table",
                 "[invalidation][patterns]") {
  put("a");
  for (auto glob : {"*", "*:page", "?x", ""}) {
    auto r = n->invalidate_pattern(glob);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
  }
  CHECK(cached("a"));
}

TEST_CASE_METHOD(fixture,
                 "invalidating a parent cascades to its dependents "
                 "transitively and survives cycles",
                 "[invalidation][seed][dependencies]") {
  put("user:1");
  put("user:1:stats");
  put("dashboard:1");
  put("report:1");
  put("unrelated");
  REQUIRE_FALSE(n->track_dependency("user:1", "user:1:stats"));
  REQUIRE_FALSE(n->track_dependency("user:1:stats", "dashboard:1"));
  REQUIRE_FALSE(n->track_dependency("dashboard:1", "report:1"));
  REQUIRE_FALSE(n->track_dependency("report:1", "user:1")); // a cycle
  auto removed = n->invalidate({"user:1"});
  REQUIRE(removed);
  CHECK(*removed == 4);
  for (auto k : {"user:1", "user:1:stats", "dashboard:1", "report:1"})
    CHECK_FALSE(cached(k));
  CHECK(cached("unrelated"));
  // Every edge died with its dependent's entry.
  CHECK(n->internals().cache->indexes().dependency_edges == 0);
}

TEST_CASE_METHOD(fixture,
                 "a dependency on an uncached key or on itself is refused",
                 "[invalidation][dependencies]") {
  put("parent");
  CHECK(is(n->track_dependency("parent", "ghost"), errc::miss));
  CHECK(is(n->track_dependency("parent", "parent"), errc::invalid_argument));
  CHECK(is(n->track_dependency("", "parent"), errc::invalid_key));
  CHECK(n->internals().cache->indexes().dependency_edges == 0);
}

TEST_CASE_METHOD(fixture, "a dependent's edges die with its entry",
                 "[invalidation][dependencies]") {
  put("parent");
  put("child");
  REQUIRE_FALSE(n->track_dependency("parent", "child"));
  CHECK(n->internals().cache->indexes().dependency_edges == 1);
  REQUIRE(n->erase("child"));
  CHECK(n->internals().cache->indexes().dependency_edges == 0);
  CHECK(n->internals().cache->indexes().dependency_parents == 0);
}

TEST_CASE_METHOD(fixture,
                 "a versioned event removes only entries older than its "
                 "version",
                 "[invalidation][versions]") {
  put("user:1", "written by the event's writer", {}, 8);
  put("user:1:profile", "stale", {}, 6);
  auto removed = n->publish_invalidation("users", "1", 7);
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK(*n->get("user:1") == "written by the event's writer");
  CHECK_FALSE(cached("user:1:profile"));
}

TEST_CASE_METHOD(fixture,
                 "a versioned event spares fresher entries under its tags too",
                 "[invalidation][versions][tags]") {
  put("a", "old", {"user:1"}, 3);
  put("b", "new", {"user:1"}, 9);
  auto removed = n->publish_invalidation("users", "1", 5);
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK_FALSE(cached("a"));
  CHECK(*n->get("b") == "new");
  // After reclamation the survivor is still reachable through its tag.
  CHECK(eventually(
    [&] { return n->internals().cache->indexes().tables.dead_tags == 0; }));
  CHECK(*n->invalidate_tag("user:1") == 1);
  CHECK_FALSE(cached("b"));
}

TEST_CASE_METHOD(fixture,
                 "an event for an unknown resource is refused and changes "
                 "nothing",
                 "[invalidation][errors]") {
  put("user:1");
  auto before = n->bus();
  auto r = n->publish_invalidation("accounts", "1");
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::unknown_resource));
  CHECK_THAT(describe(r.error()), Catch::Contains("accounts"));
  CHECK(
    is(n->publish_invalidation("users", "").error(), errc::invalid_argument));
  CHECK(cached("user:1"));
  CHECK(n->stats().total.invalidations == 0);
}

TEST_CASE("a rules file with a mistake is refused with its line number",
          "[invalidation][rules]") {
  auto bad_placeholder = rules::parse("[users]\nkeys = user:{uid}\n");
  REQUIRE_FALSE(bad_placeholder);
  CHECK_THAT(describe(bad_placeholder.error()),
             Catch::Contains("line 3") || Catch::Contains("{uid}"));
  auto unknown_setting = rules::parse("[users]\nkeyz = user:{id}\n");
  REQUIRE_FALSE(unknown_setting);
  CHECK_THAT(describe(unknown_setting.error()),
             Catch::Contains("line 2") && Catch::Contains("keyz"));
  auto dangling = rules::parse("[users]\nkeys = u:{id}\ndependents = nope\n");
  REQUIRE_FALSE(dangling);
  CHECK(is(dangling.error(), errc::invalid_rule));
  CHECK_THAT(describe(dangling.error()), Catch::Contains("nope"));
  auto outside = rules::parse("keys = u:{id}\n");
  REQUIRE_FALSE(outside);
  CHECK_FALSE(rules::load("/nonexistent/rules.ini"));
}

TEST_CASE("the centralized invalidator applies one node's event on every "
          "node of the bus",
          "[invalidation][seed][bus]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto make = [&](std::string name, std::optional<bus_actor> bus) {
    auto opts = small_options();
    opts.name = std::move(name);
    node_setup setup;
    setup.rules = *rules::parse(seed_rules);
    setup.bus = std::move(bus);
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    return std::move(*started);
  };
  auto a = make("a", std::nullopt);
  auto b = make("b", a->bus());
  for (auto* x : {a.get(), b.get()})
    for (auto k : {"user:1", "user:1:profile", "post:3"})
      REQUIRE(x->set(k, "v"));
  caf::scoped_actor observer{sys};
  caf::anon_send(b->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  REQUIRE(*a->publish_invalidation("users", "1") == 2);
  // a's own event reaches b's listener, which applies it.
  std::string origin;
  observer->receive(
    [&](applied_atom, const std::string& from, uint64_t) { origin = from; },
    caf::after(10s) >> [] { FAIL("b never applied a's event"); });
  CHECK(origin == "a");
  CHECK_FALSE(b->get("user:1"));
  CHECK_FALSE(b->get("user:1:profile"));
  CHECK(b->get("post:3"));
  b->stop(); // b does not own the bus; a stops it
  a->stop();
}

TEST_CASE("an actor asks the listener to invalidate and gets the count",
          "[invalidation][actors]") {
  config cfg;
  caf::actor_system sys{cfg};
  node_setup setup;
  setup.rules = *rules::parse(seed_rules);
  auto n = std::move(*node::start(sys, small_options(), std::move(setup)));
  REQUIRE(n->set("post:1", "v", {caf::timespan{0}, {"post:1"}, 0}));
  caf::scoped_actor self{sys};
  tag_invalidated ev;
  ev.tag = "post:1";
  uint64_t removed = 0;
  self->request(n->listener(), 5s, ev)
    .receive([&](uint64_t x) { removed = x; },
             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(removed == 1);
  CHECK_FALSE(n->get("post:1"));
  keys_invalidated bad;
  bad.keys = {""};
  caf::error got;
  self->request(n->listener(), 5s, bad)
    .receive([&](uint64_t) { FAIL("bad keys accepted"); },
             [&](caf::error& err) { got = err; });
  CHECK(is(got, errc::invalid_key));
}

TEST_CASE("no invalidated entry is read after the invalidation returned",
          "[invalidation][concurrency]") {
  config cfg;
  caf::actor_system sys{cfg};
  node_setup setup;
  setup.rules = *rules::parse(seed_rules);
  auto opts = small_options();
  opts.shards = 4;
  auto n = std::move(*node::start(sys, opts, std::move(setup)));
  constexpr int rounds = 400;
  std::atomic<int> done_round{-1};
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<long> reads{0};
  auto key_of = [](int r) {
    switch (r % 4) {
    case 0:
      return "user:" + std::to_string(r) + ":profile"; // resource event
    case 1:
      return "k:" + std::to_string(r); // key set
    case 2:
      return "search:" + std::to_string(r) + ":p1"; // pattern
    default:
      return "tagged:" + std::to_string(r); // tag
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop.load()) {
        int r = done_round.load(std::memory_order_acquire);
        if (r < 0)
          continue;
        // Round r's invalidation has returned: its stale value must be gone.
        if (auto v = n->get(key_of(r)); v && *v == "stale")
          ++violations;
        ++reads;
      }
    });
  std::thread writer{[&] { // unrelated write traffic on the same shards
    for (int i = 0; !stop.load(); ++i)
      (void)n->set("noise:" + std::to_string(i % 1000), "x");
  }};
  for (int r = 0; r < rounds; ++r) {
    set_options o;
    o.tags = {"tag:" + std::to_string(r)};
    REQUIRE(n->set(key_of(r), "stale", o));
    caf::expected<size_t> removed{size_t{0}};
    switch (r % 4) {
    case 0:
      removed = n->publish_invalidation("users", std::to_string(r));
      break;
    case 1:
      removed = n->invalidate({key_of(r)});
      break;
    case 2:
      removed = n->invalidate_pattern("search:" + std::to_string(r) + ":*");
      break;
    default:
      removed = n->invalidate_tag("tag:" + std::to_string(r));
    }
    REQUIRE(removed);
    CHECK(*removed == 1);
    done_round.store(r, std::memory_order_release);
    // Let the readers check this round before the next one starts.
    auto target = reads.load() + 6;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (reads.load() < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
  }
  stop = true;
  for (auto& t : readers)
    t.join();
  writer.join();
  CHECK(violations == 0);
  CHECK(reads >= 6 * rounds);
}

TEST_CASE("every index is back to zero after a million tagged, dependent "
          "entries expire or are invalidated",
          "[invalidation][bounded]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto clk = std::make_shared<cachebus::time_source>();
  clk->make_manual();
  node_options opts;
  opts.shards = 2;
  opts.max_entries = 2'000'000;
  opts.max_bytes = size_t{4} << 30;
  opts.sweep_interval = 10ms;
  opts.sweep_batch = 4096;
  node_setup setup;
  setup.clock = clk;
  auto n = std::move(*node::start(sys, opts, std::move(setup)));
  constexpr int count = 1'000'000;
  set_options o;
  o.ttl = 1h;
  for (int i = 0; i < count; ++i) {
    auto key = "e:" + std::to_string(i);
    o.tags
      = {"group:" + std::to_string(i % 1000), "all-" + std::to_string(i % 2)};
    REQUIRE(n->set(key, "v", o));
    if (i % 10 == 9)
      REQUIRE_FALSE(n->track_dependency("e:" + std::to_string(i - 1), key));
  }
  auto full = n->internals().cache->indexes();
  CHECK(full.tables.entries == count);
  CHECK(full.tables.ordered == count);
  CHECK(full.tables.tag_links == 2 * count);
  CHECK(full.dependency_edges == count / 10);
  // Half goes by tag invalidation, the rest by a pattern and by expiry.
  REQUIRE(*n->invalidate_tag("all-0") == count / 2);
  REQUIRE(n->invalidate_pattern("e:1*"));
  clk->advance(2h);
  CHECK(eventually(
    [&] { return n->internals().cache->indexes().tables.entries == 0; }, 120s));
  auto empty = n->internals().cache->indexes();
  CHECK(empty.tables.ordered == 0);
  CHECK(empty.tables.live_tags == 0);
  CHECK(empty.tables.dead_tags == 0);
  CHECK(empty.tables.tag_links == 0);
  CHECK(empty.tables.buckets == 0);
  CHECK(empty.dependency_edges == 0);
  CHECK(empty.dependency_parents == 0);
  CHECK(n->stats().total.bytes == 0);
}

TEST_CASE_METHOD(fixture,
                 "an entry without a source version is removed by any "
                 "versioned event",
                 "[invalidation][versions]") {
  // Its shard-assigned version says nothing about the record's freshness.
  for (int i = 0; i < 50; ++i)
    put("filler:" + std::to_string(i)); // push the shard counter up
  put("user:1");                        // no source version
  put("user:1:profile", "fresh", {}, 100);
  REQUIRE(*n->publish_invalidation("users", "1", 2) == 1);
  CHECK_FALSE(cached("user:1"));
  CHECK(cached("user:1:profile"));
}
