// The embedding facade: the blocking API a plain thread uses, its validation,
// its statistics and a clean stop.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

struct node_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<cachebus::time_source> clk
    = std::make_shared<cachebus::time_source>();
  std::unique_ptr<node> n;

  explicit node_fixture(node_options opts = small()) {
    clk->make_manual();
    node_setup setup;
    setup.clock = clk;
    auto started = node::start(sys, opts, setup);
    REQUIRE(started);
    n = std::move(*started);
  }

  static node_options small() {
    node_options opts;
    opts.shards = 2;
    opts.max_entries = 1000;
    opts.max_bytes = 64 << 20;
    opts.max_value_size = 1 << 20;
    opts.default_ttl = 10s;
    return opts;
  }
};

} // namespace

TEST_CASE_METHOD(node_fixture, "a value set through the facade is read back",
                 "[node]") {
  REQUIRE(n->set("user:1", "alice"));
  auto v = n->get("user:1");
  REQUIRE(v);
  CHECK(*v == "alice");
  auto s = n->stats();
  CHECK(s.total.hits == 1);
  CHECK(s.total.sets == 1);
  CHECK(s.total.entries == 1);
  CHECK(s.shards.size() == 2);
}

TEST_CASE_METHOD(node_fixture, "a missing key is reported as a miss",
                 "[node]") {
  auto v = n->get("nope");
  REQUIRE_FALSE(v);
  CHECK(is(v.error(), errc::miss));
  CHECK(n->stats().total.misses == 1);
}

TEST_CASE_METHOD(node_fixture,
                 "get_into copies a hit into the caller's buffer and leaves it "
                 "alone on a miss or bad input",
                 "[node]") {
  REQUIRE(n->set("user:1", std::string(100, 'a')));
  REQUIRE(n->set("user:2", "bob"));
  std::string out;
  CHECK_FALSE(n->get_into("user:1", out));
  CHECK(out == std::string(100, 'a'));
  auto* buffer = out.data();
  CHECK_FALSE(n->get_into("user:2", out));
  CHECK(out == "bob");
  CHECK(out.data() == buffer); // the capacity was reused
  CHECK(is(n->get_into("nope", out), errc::miss));
  CHECK(is(n->get_into("", out), errc::invalid_key));
  CHECK(out == "bob");
  CHECK(n->stats().total.hits == 2);
  CHECK(n->stats().total.misses == 1);
}

TEST_CASE_METHOD(node_fixture,
                 "a write without a TTL gets the default TTL and expires",
                 "[node]") {
  REQUIRE(n->set("k", "v"));
  clk->advance(9s);
  CHECK(n->get("k"));
  clk->advance(1s);
  CHECK(is(n->get("k").error(), errc::miss));
}

TEST_CASE_METHOD(node_fixture, "a per-entry TTL overrides the default",
                 "[node]") {
  set_options o;
  o.ttl = 100ms;
  REQUIRE(n->set("short", "v", o));
  o.ttl = never_expires;
  REQUIRE(n->set("forever", "v", o));
  clk->advance(24h * 400);
  CHECK_FALSE(n->get("short"));
  CHECK(n->get("forever"));
}

TEST_CASE_METHOD(node_fixture, "bad input is refused and changes nothing",
                 "[node]") {
  REQUIRE(n->set("k", "original"));
  auto before = n->stats().total;
  set_options neg;
  neg.ttl = -1s;
  set_options huge;
  huge.ttl = 24h * 366 * 2;
  set_options empty_tag;
  empty_tag.tags = {""};
  set_options many_tags;
  many_tags.tags = std::vector<std::string>(33, "t");
  std::string big_key(1025, 'k');
  std::string big_value((1 << 20) + 1, 'v');

  CHECK(is(n->set("", "v").error(), errc::invalid_key));
  CHECK(is(n->set(big_key, "v").error(), errc::invalid_key));
  CHECK(is(n->set("k", big_value).error(), errc::value_too_large));
  CHECK(is(n->set("k", "v", neg).error(), errc::invalid_ttl));
  CHECK(is(n->set("k", "v", huge).error(), errc::invalid_ttl));
  CHECK(is(n->set("k", "v", empty_tag).error(), errc::invalid_argument));
  CHECK(is(n->set("k", "v", many_tags).error(), errc::invalid_argument));
  CHECK(is(n->get("").error(), errc::invalid_key));
  CHECK(is(n->erase(big_key).error(), errc::invalid_key));
  CHECK(
    is(n->erase(std::vector<std::string>{"k", ""}).error(), errc::invalid_key));

  CHECK(*n->get("k") == "original");
  auto after = n->stats().total;
  CHECK(after.entries == before.entries);
  CHECK(after.sets == before.sets);
  CHECK(after.invalidations == before.invalidations);
}

TEST_CASE_METHOD(node_fixture, "error messages say what was wrong", "[node]") {
  auto r = n->set(std::string(2000, 'k'), "v");
  REQUIRE_FALSE(r);
  CHECK(describe(r.error())
        == "cachebus: invalid_key: key is 2000 bytes, the maximum is 1024 "
           "bytes");
}

TEST_CASE_METHOD(node_fixture, "erasing many keys removes them on every shard",
                 "[node]") {
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back("k" + std::to_string(i));
    REQUIRE(n->set(keys.back(), "v"));
  }
  keys.push_back("absent");
  auto removed = n->erase(keys);
  REQUIRE(removed);
  CHECK(*removed == 50);
  for (auto& k : keys)
    CHECK_FALSE(n->get(k));
  auto s = n->stats();
  CHECK(s.total.entries == 0);
  CHECK(s.total.invalidations == 50);
  CHECK(s.shards[0].entries + s.shards[1].entries == 0);
}

TEST_CASE_METHOD(node_fixture, "the node never holds more than its capacity",
                 "[node]") {
  for (int i = 0; i < 5000; ++i)
    REQUIRE(n->set("k" + std::to_string(i), "v"));
  auto s = n->stats().total;
  CHECK(s.entries <= 1000);
  CHECK(s.evictions >= 4000);
  CHECK(s.entries + s.evictions == 5000);
}

TEST_CASE_METHOD(node_fixture, "after stop every call says the node is stopped",
                 "[node]") {
  REQUIRE(n->set("k", "v"));
  n->stop();
  n->stop(); // idempotent
  CHECK(is(n->get("k").error(), errc::stopped));
  CHECK(is(n->set("k", "v").error(), errc::stopped));
  CHECK(is(n->erase("k").error(), errc::stopped));
}

TEST_CASE("concurrent readers and writers see only values that were written",
          "[node][concurrency]") {
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.shards = 4;
  auto started = node::start(sys, opts);
  REQUIRE(started);
  auto& n = **started;
  std::atomic<bool> bad{false};
  std::atomic<size_t> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        auto key = "k" + std::to_string(i % 257);
        if ((i + t) % 3 == 0) {
          (void)n.set(key, "value-of-" + key);
        } else if ((i + t) % 7 == 0) {
          (void)n.erase(key);
        } else if (auto v = n.get(key)) {
          ++hits;
          if (*v != "value-of-" + key)
            bad = true;
        }
      }
    });
  for (auto& th : threads)
    th.join();
  CHECK_FALSE(bad);
  CHECK(hits > 0);
  auto s = n.stats().total;
  CHECK(s.hits == hits);
}

// -- expiry reads, expiry moves and conditional writes ------------------------

TEST_CASE_METHOD(node_fixture,
                 "ttl reports what a live entry has left, never_expires, or a "
                 "miss, and counts no read",
                 "[node][ttl]") {
  CHECK(is(n->ttl("none").error(), errc::miss));
  REQUIRE(n->set("k", "v")); // the default TTL: 10 s
  clk->advance(4s);
  auto left = n->ttl("k");
  REQUIRE(left);
  CHECK(*left == caf::timespan{6s});
  set_options forever;
  forever.ttl = never_expires;
  REQUIRE(n->set("p", "v", forever));
  CHECK(n->ttl("p") == caf::expected<caf::timespan>{never_expires});
  CHECK(is(n->ttl("").error(), errc::invalid_key));
  auto s = n->stats().total;
  CHECK(s.hits == 0);
  CHECK(s.misses == 0);
}

TEST_CASE_METHOD(node_fixture,
                 "expire moves a live entry's expiry, refuses bad TTLs and "
                 "leaves missing keys missing",
                 "[node][ttl]") {
  set_options tagged;
  tagged.tags = {"t"};
  REQUIRE(n->set("k", "v", tagged));
  CHECK(n->expire("missing", 5s) == caf::expected<bool>{false});
  CHECK(is(n->expire("k", caf::timespan{-1}).error(), errc::invalid_ttl));
  CHECK(is(n->expire("k", 400 * 24h).error(), errc::invalid_ttl));
  CHECK(n->expire("k", 30s) == caf::expected<bool>{true});
  clk->advance(20s);
  CHECK(n->get("k") == caf::expected<std::string>{"v"});
  // The entry kept its tags: the tag still reaches it.
  CHECK(n->invalidate_tag("t") == caf::expected<size_t>{1});
  CHECK(is(n->get("k").error(), errc::miss));
  REQUIRE(n->set("q", "v"));
  CHECK(n->expire("q", never_expires) == caf::expected<bool>{true});
  clk->advance(24h);
  CHECK(n->get("q") == caf::expected<std::string>{"v"});
}

TEST_CASE_METHOD(node_fixture,
                 "set_if writes only when its condition holds and validates "
                 "like set",
                 "[node][set_if]") {
  using w = put_condition::when;
  auto r = n->set_if("k", "a", {w::if_absent, false, true});
  REQUIRE(r);
  CHECK(r->written);
  r = n->set_if("k", "b", {w::if_absent, false, true});
  REQUIRE(r);
  CHECK_FALSE(r->written);
  CHECK(r->old == std::optional<std::string>{"a"});
  CHECK(n->get("k") == caf::expected<std::string>{"a"});
  CHECK(is(n->set_if("", "x", {}).error(), errc::invalid_key));
  CHECK(is(n->set_if("big", std::string((1 << 20) + 1, 'x'), {}).error(),
           errc::value_too_large));
  set_options versioned;
  versioned.version = 3;
  CHECK(is(n->set_if("k", "x", {}, versioned).error(), errc::invalid_argument));
  CHECK(n->get("k") == caf::expected<std::string>{"a"});
}
