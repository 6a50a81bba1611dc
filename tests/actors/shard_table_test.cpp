// The shard table on its own: expiry, sweeping, eviction and accounting,
// driven by a manual clock so every timing is exact.
#include <catch2/catch.hpp>

#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cachebus/actors/cache/shard_table.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/node/options.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

constexpr int64_t tick = 1'000'000'000; // 1 s buckets

struct table_fixture {
  cachebus::time_source clk;
  table_fixture() { clk.make_manual(); }
  shard_table make(size_t entries, size_t bytes = size_t{1} << 30) {
    return shard_table{{entries, bytes, tick}, &clk};
  }
  int64_t in(std::chrono::nanoseconds d) { return clk.now_ns() + d.count(); }
};

std::string get(const shard_table& t, const std::string& key) {
  std::string out;
  return t.get(key, out) ? out : std::string{"<miss>"};
}

} // namespace

TEST_CASE_METHOD(table_fixture, "a stored value is returned until it expires",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", "v", in(10s), {});
  CHECK(get(t, "k") == "v");
  clk.advance(9s);
  CHECK(get(t, "k") == "v");
  clk.advance(1s);
  CHECK(get(t, "k") == "<miss>");
  auto s = t.stats();
  CHECK(s.hits == 2);
  CHECK(s.misses == 1);
}

TEST_CASE_METHOD(table_fixture,
                 "an expired entry is reclaimed within two sweep intervals",
                 "[shard_table]") {
  auto t = make(100);
  t.put("short", "v", in(1500ms), {});
  t.put("long", "v", in(1h), {});
  REQUIRE(t.stats().entries == 2);
  clk.advance(1500ms); // expired now, but its bucket is not yet fully past
  t.sweep(clk.now_ns(), 100);
  clk.advance(1s); // one interval later its bucket is due
  t.sweep(clk.now_ns(), 100);
  auto s = t.stats();
  CHECK(s.entries == 1);
  CHECK(s.expirations == 1);
  CHECK(get(t, "long") == "v");
}

TEST_CASE_METHOD(table_fixture,
                 "an entry that never expires stays through every sweep, and "
                 "expires once a write gives it an expiry",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", "forever", no_expiry, {});
  t.put("other", "forever", no_expiry, {});
  CHECK(t.indexes().buckets == 0);
  clk.advance(24h * 365);
  CHECK_FALSE(t.sweep(clk.now_ns(), 100));
  CHECK(get(t, "k") == "forever");
  t.put("k", "for a while", in(2s), {"t"});
  CHECK(t.indexes().buckets == 1);
  CHECK(get(t, "k") == "for a while");
  clk.advance(2s);
  CHECK(get(t, "k") == "<miss>");
  clk.advance(1s);
  t.sweep(clk.now_ns(), 100);
  CHECK(t.stats().entries == 1);
  CHECK(t.stats().expirations == 1);
  CHECK(t.indexes().tag_links == 0);
  t.put("other", "again", no_expiry, {});
  CHECK(get(t, "other") == "again");
  CHECK(t.stats().bytes
        == shard_table::charge_of(5, 5, true, {false, false, false}));
}

TEST_CASE_METHOD(table_fixture,
                 "an entry that loses its expiry keeps its value until "
                 "written or invalidated",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", "soon", in(1s), {});
  t.put("k", "forever", no_expiry, {});
  CHECK(t.indexes().buckets == 0);
  clk.advance(1h);
  CHECK_FALSE(t.sweep(clk.now_ns(), 100));
  CHECK(get(t, "k") == "forever");
  CHECK(t.erase("k") == 1);
  CHECK(t.stats().bytes == 0);
}

TEST_CASE_METHOD(table_fixture,
                 "a sweep frees at most its budget and reports remaining work",
                 "[shard_table]") {
  auto t = make(10'000);
  for (int i = 0; i < 2500; ++i)
    t.put("k" + std::to_string(i), "v", in(1s), {});
  clk.advance(3s);
  CHECK(t.sweep(clk.now_ns(), 1000));
  CHECK(t.stats().entries == 1500);
  CHECK(t.sweep(clk.now_ns(), 1000));
  CHECK_FALSE(t.sweep(clk.now_ns(), 1000));
  CHECK(t.stats().entries == 0);
  CHECK(t.stats().expirations == 2500);
  CHECK(t.stats().bytes == 0);
}

TEST_CASE_METHOD(table_fixture, "rewriting a key moves it to its new expiry",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", "old", in(1s), {});
  t.put("k", "new", in(1h), {});
  clk.advance(5s);
  t.sweep(clk.now_ns(), 100);
  CHECK(get(t, "k") == "new");
  CHECK(t.stats().expirations == 0);
  CHECK(t.stats().entries == 1);
}

TEST_CASE_METHOD(table_fixture, "an entry without expiry is never swept",
                 "[shard_table]") {
  auto t = make(100);
  t.put("forever", "v", no_expiry, {});
  clk.advance(24h * 365);
  CHECK_FALSE(t.sweep(clk.now_ns(), 100));
  CHECK(get(t, "forever") == "v");
}

TEST_CASE_METHOD(table_fixture,
                 "the entry count never exceeds the limit and evictions are "
                 "counted",
                 "[shard_table]") {
  auto t = make(100);
  for (int i = 0; i < 1000; ++i)
    t.put("k" + std::to_string(i), "v", in(1h), {});
  auto s = t.stats();
  CHECK(s.entries == 100);
  CHECK(s.evictions == 900);
  CHECK(s.sets == 1000);
}

TEST_CASE_METHOD(table_fixture, "the byte limit evicts until the table fits",
                 "[shard_table]") {
  // "k10".."k59": 3-byte keys, 1000 B values.
  auto per_entry = shard_table::charge_of(3, 1000, true, {true, false, false});
  auto t = make(1'000'000, per_entry * 10);
  for (int i = 10; i < 60; ++i)
    t.put("k" + std::to_string(i), std::string(1000, 'x'), in(1h), {});
  auto s = t.stats();
  CHECK(s.entries == 10);
  CHECK(s.bytes <= per_entry * 10);
  CHECK(s.evictions == 40);
}

TEST_CASE_METHOD(table_fixture,
                 "eviction keeps entries that were read and drops one-hit "
                 "wonders",
                 "[shard_table]") {
  auto t = make(10);
  for (int i = 0; i < 10; ++i)
    t.put("hot" + std::to_string(i), "v", in(1h), {});
  std::string out;
  for (int i = 0; i < 5; ++i) // half of them are read again
    REQUIRE(t.get("hot" + std::to_string(i), out));
  for (int i = 0; i < 5; ++i) // five newcomers push five entries out
    t.put("new" + std::to_string(i), "v", in(1h), {});
  for (int i = 0; i < 5; ++i)
    CHECK(t.contains("hot" + std::to_string(i)));
  for (int i = 5; i < 10; ++i)
    CHECK_FALSE(t.contains("hot" + std::to_string(i)));
}

TEST_CASE_METHOD(table_fixture,
                 "versions are assigned or taken from the source",
                 "[shard_table]") {
  auto t = make(10);
  auto v1 = t.put("a", "v", in(1h), {});
  auto v2 = t.put("b", "v", in(1h), {});
  CHECK(v2 > v1);
  CHECK(t.put("c", "v", in(1h), {}, 500) == 500);
  CHECK(t.put("d", "v", in(1h), {}) > 500);
  std::string out;
  uint64_t version = 0;
  REQUIRE(t.get("c", out, version));
  CHECK(version == 500);
}

TEST_CASE_METHOD(table_fixture,
                 "erasing counts only keys that existed and frees their bytes",
                 "[shard_table]") {
  auto t = make(10);
  t.put("a", "v", in(1h), {});
  t.put("b", "v", in(1h), {});
  CHECK(t.erase("zzz") == 0);
  CHECK(t.erase(std::vector<std::string>{"a", "b", "c"}) == 2);
  auto s = t.stats();
  CHECK(s.entries == 0);
  CHECK(s.bytes == 0);
  CHECK(s.invalidations == 2);
  CHECK_FALSE(t.sweep(clk.now_ns() + 2 * 3600 * tick, 10));
}

TEST_CASE_METHOD(table_fixture,
                 "a write cancels the fills in flight of its key, and only of "
                 "its key",
                 "[shard_table][write-wins]") {
  auto t = make(100);
  auto fk = t.begin_fill("k");
  auto fo = t.begin_fill("other");
  t.put("k", "written", in(1h), {});
  CHECK_FALSE(t.complete_fill("k", fk, "loaded", in(1h), 0, {}, 0, 0));
  CHECK(get(t, "k") == "written");
  CHECK(t.complete_fill("other", fo, "loaded", in(1h), 0, {}, 0, 0));
  CHECK(t.stats().stale_fills_refused == 1);
}

TEST_CASE_METHOD(table_fixture,
                 "a fill older than the cached sourced version is refused, "
                 "an unsourced one is not",
                 "[shard_table][write-wins]") {
  auto t = make(100);
  REQUIRE(t.put("k", "v7", in(1h), {}, 7) == 7);
  // A refresh that read a lagging copy of the source.
  auto f = t.begin_fill("k");
  CHECK_FALSE(t.complete_fill("k", f, "v5", in(1h), 0, {}, 5, 0));
  CHECK(get(t, "k") == "v7");
  CHECK(t.put("k", "v6", in(1h), {}, 6) == 0); // refused
  CHECK(get(t, "k") == "v7");
  CHECK(t.stats().older_versions_refused == 2);
  f = t.begin_fill("k");
  CHECK(t.complete_fill("k", f, "unsourced", in(1h), 0, {}, 0, 0));
  CHECK(get(t, "k") == "unsourced");
  CHECK(t.put("k", "v5", in(1h), {}, 5) == 5); // over an unsourced entry
}

TEST_CASE_METHOD(table_fixture,
                 "reclaiming one invalidated tag never revives an entry that "
                 "another invalidated tag removed",
                 "[table]") {
  auto t = make(100);
  t.put("k", "v", in(1h), {"a", "b"}, 5);
  // "a" below version 3 spares k (version 5); "b" entirely removes it.
  t.invalidate_tag("a", 3);
  CHECK(get(t, "k") == "v");
  t.invalidate_tag("b");
  CHECK(get(t, "k") == "<miss>");
  // The sweep reclaims "a" first: k must stay gone, and go for good.
  while (t.sweep(clk.now_ns(), 1)) {
    CHECK(get(t, "k") == "<miss>");
  }
  CHECK(get(t, "k") == "<miss>");
  CHECK(t.indexes().entries == 0);
  CHECK(t.indexes().dead_tags == 0);
}

TEST_CASE_METHOD(table_fixture,
                 "an entry that survives a versioned invalidation of its tag "
                 "is removed by the tag's next invalidation, before any sweep",
                 "[table]") {
  auto t = make(100);
  t.put("old", "v", in(1h), {"a"}, 2);
  t.put("new", "v", in(1h), {"a", "b"}, 5);
  CHECK(t.invalidate_tag("a", 3) == 1); // a write at version 3: new survives
  CHECK(get(t, "old") == "<miss>");
  CHECK(get(t, "new") == "v");
  CHECK(t.invalidate_tag("a") == 1);
  CHECK(get(t, "new") == "<miss>");
  // An entry dead under another tag is not revived by the relinking.
  t.put("k", "v", in(1h), {"c", "d"}, 5);
  t.invalidate_tag("d");
  t.invalidate_tag("c", 3);
  CHECK(get(t, "k") == "<miss>");
  while (t.sweep(clk.now_ns(), 1)) {
    CHECK(get(t, "k") == "<miss>");
  }
  CHECK(t.indexes().entries == 0);
  CHECK(t.indexes().dead_tags == 0);
}

TEST_CASE_METHOD(
  table_fixture,
  "an expiry near the end of time is not swept as if it were due", "[table]") {
  auto t = make(100);
  t.put("far", "v", std::numeric_limits<int64_t>::max() - 1, {});
  t.put("soon", "v", in(1s), {});
  clk.advance(3s);
  t.sweep(clk.now_ns(), 100);
  CHECK(get(t, "far") == "v");
  CHECK(get(t, "soon") == "<miss>");
}

TEST_CASE_METHOD(table_fixture,
                 "a value that outgrows its entry keeps the entry's tags, "
                 "expiry, pattern reach and dependents",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k:1", "small", in(1500ms), {"t"});
  t.put("k:2", "small", in(1h), {"t"});
  t.put("k:1", std::string(5000, 'a'), in(1500ms), {"t"}); // moves
  t.put("k:2", std::string(5000, 'b'), in(1h), {});        // moves, untagged
  CHECK(get(t, "k:1") == std::string(5000, 'a'));
  CHECK(t.invalidate_tag("t") == 1);
  CHECK(get(t, "k:1") == "<miss>");
  CHECK(get(t, "k:2") == std::string(5000, 'b'));
  t.put("k:3", "small", in(1500ms), {});
  t.put("k:3", std::string(5000, 'c'), in(1500ms), {}); // same bucket
  clk.advance(3s);
  t.sweep(clk.now_ns(), 100); // frees k:1 (dead tag) and k:3 (expired)
  CHECK(t.indexes().entries == 1);
  CHECK(t.erase_matching("k:*") == 1);
  CHECK(t.indexes().entries == 0);
  CHECK(t.indexes().ordered == 0);
}

TEST_CASE_METHOD(table_fixture,
                 "a value that shrinks to a fraction of its entry gives the "
                 "memory back",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", std::string(100'000, 'x'), in(1h), {});
  CHECK(t.stats().bytes >= 100'000);
  t.put("k", "tiny", in(1h), {});
  CHECK(get(t, "k") == "tiny");
  CHECK(t.stats().bytes
        == shard_table::charge_of(1, 4, true, {true, false, false}));
  t.put("k", "tin", in(1h), {}); // fits: stays where it is
  CHECK(t.stats().bytes
        == shard_table::charge_of(1, 4, true, {true, false, false}));
}

TEST_CASE_METHOD(table_fixture,
                 "a stale-while-revalidate window survives a value that moves "
                 "the entry",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", "v", in(1s), {});
  auto f = t.begin_fill("k");
  REQUIRE(t.complete_fill("k", f, std::string(3000, 'v'), in(1s), 0, {}, 0, 7));
  f = t.begin_fill("k");
  REQUIRE(t.complete_fill("k", f, "loaded", in(1s), 10'000'000'000, {}, 0, 7));
  clk.advance(2s);
  std::string out;
  auto r = t.lookup("k", out);
  CHECK(r.state == shard_table::lookup_result::stale);
  CHECK(out == "loaded");
  CHECK(r.load_ns == 7);
  t.put("k", "written", in(1s), {}); // a plain write has no grace window
  clk.advance(2s);
  CHECK(t.lookup("k", out).state == shard_table::lookup_result::missing);
}

TEST_CASE_METHOD(table_fixture,
                 "a pattern wider than one scan chunk removes every key it "
                 "matches and no other",
                 "[shard_table]") {
  auto t = make(100'000);
  for (int i = 0; i < 3000; ++i) {
    auto n = std::to_string(i);
    t.put("a:" + n + ":x", "v", in(1h), {});
    t.put("a:" + n + ":y", "v", in(1h), {});
  }
  std::vector<std::string> removed;
  CHECK(t.erase_matching("*:x", &removed) == 3000); // no literal prefix
  CHECK(removed.size() == 3000);
  CHECK(t.indexes().entries == 3000);
  CHECK(get(t, "a:17:x") == "<miss>");
  CHECK(get(t, "a:17:y") == "v");
  CHECK(t.erase_matching("a:1*") == 1111); // 1, 10-19, 100-199, 1000-1999
  CHECK(t.indexes().ordered == 1889);
}

TEST_CASE_METHOD(table_fixture,
                 "a pattern whose matches lie far apart in key order removes "
                 "each of them and leaves the order of the rest intact",
                 "[shard_table]") {
  auto t = make(100'000);
  char key[16];
  for (int i = 0; i < 3000; ++i) {
    std::snprintf(key, sizeof key, "p:%04d", i);
    t.put(key, "v", in(1h), {});
  }
  CHECK(t.erase_matching("p:*00") == 30); // 99 non-matching keys between
  CHECK(get(t, "p:0100") == "<miss>");
  CHECK(get(t, "p:0101") == "v");
  CHECK(t.indexes().ordered == 2970);
  CHECK(t.erase_matching("p:*") == 2970);
  CHECK(t.indexes().ordered == 0);
  CHECK(t.indexes().entries == 0);
}

// -- conditional puts and expiry moves (the RESP front end's SET and EXPIRE) --

TEST_CASE_METHOD(table_fixture,
                 "put_if writes only when the key's liveness matches, and "
                 "reports the value it replaced",
                 "[shard_table][put_if]") {
  auto t = make(100);
  using w = put_condition::when;
  auto r = t.put_if("k", "a", in(10s), {}, {w::if_present, false, true});
  CHECK_FALSE(r.written);
  CHECK_FALSE(r.old);
  CHECK(get(t, "k") == "<miss>");
  r = t.put_if("k", "a", in(10s), {}, {w::if_absent, false, true});
  CHECK(r.written);
  CHECK(r.version != 0);
  CHECK_FALSE(r.old);
  r = t.put_if("k", "b", in(10s), {}, {w::if_absent, false, true});
  CHECK_FALSE(r.written);
  CHECK(r.old == std::optional<std::string>{"a"});
  CHECK(get(t, "k") == "a");
  r = t.put_if("k", "c", in(10s), {}, {w::if_present, false, true});
  CHECK(r.written);
  CHECK(r.old == std::optional<std::string>{"a"});
  CHECK(get(t, "k") == "c");
  // An expired entry is absent.
  clk.advance(10s);
  r = t.put_if("k", "d", in(10s), {}, {w::if_absent, false, true});
  CHECK(r.written);
  CHECK_FALSE(r.old);
  CHECK(get(t, "k") == "d");
}

TEST_CASE_METHOD(table_fixture,
                 "put_if with keep_ttl keeps a live entry's expiry and uses "
                 "its own otherwise",
                 "[shard_table][put_if]") {
  auto t = make(100);
  auto r = t.put_if("k", "a", in(5s), {}, {put_condition::when::always, true});
  REQUIRE(r.written);
  int64_t exp = 0;
  REQUIRE(t.expiry_of("k", exp));
  CHECK(exp == in(5s));
  clk.advance(2s);
  t.put_if("k", "b", in(60s), {}, {put_condition::when::always, true});
  REQUIRE(t.expiry_of("k", exp));
  CHECK(exp == in(3s));
  clk.advance(3s);
  CHECK(get(t, "k") == "<miss>");
}

TEST_CASE_METHOD(table_fixture,
                 "concurrent put_if of absent keys writes each key exactly "
                 "once",
                 "[shard_table][put_if]") {
  auto t = make(100'000);
  constexpr int keys = 2000;
  constexpr int threads = 4;
  std::vector<std::vector<int>> won(threads, std::vector<int>(keys));
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&, i] {
      for (int k = 0; k < keys; ++k)
        won[i][k] = t.put_if("k" + std::to_string(k), std::to_string(i), in(1h),
                             {}, {put_condition::when::if_absent})
                      .written;
    });
  for (auto& th : ts)
    th.join();
  for (int k = 0; k < keys; ++k) {
    int winners = 0, winner = -1;
    for (int i = 0; i < threads; ++i)
      if (won[i][k]) {
        ++winners;
        winner = i;
      }
    REQUIRE(winners == 1);
    REQUIRE(get(t, "k" + std::to_string(k)) == std::to_string(winner));
  }
}

TEST_CASE_METHOD(table_fixture,
                 "set_expiry moves a live entry's expiry and keeps its value "
                 "and version",
                 "[shard_table]") {
  auto t = make(100);
  auto v = t.put("k", "v", in(10s), {}, 7);
  CHECK_FALSE(t.set_expiry("missing", in(1s)));
  REQUIRE(t.set_expiry("k", in(100s)));
  int64_t exp = 0;
  REQUIRE(t.expiry_of("k", exp));
  CHECK(exp == in(100s));
  clk.advance(50s);
  std::string out;
  uint64_t version = 0;
  REQUIRE(t.get("k", out, version));
  CHECK(out == "v");
  CHECK(version == v);
  // Shortened: gone when the new expiry passes, and swept.
  REQUIRE(t.set_expiry("k", in(1s)));
  clk.advance(1s);
  CHECK(get(t, "k") == "<miss>");
  CHECK_FALSE(t.set_expiry("k", in(10s)));
  t.sweep(clk.now_ns() + 3 * tick, 100);
  CHECK(t.stats().entries == 0);
}

TEST_CASE_METHOD(table_fixture,
                 "an entry whose expiry is moved to never outlives its old "
                 "expiry and every sweep",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", "v", in(2s), {});
  REQUIRE(t.set_expiry("k", no_expiry));
  int64_t exp = 0;
  REQUIRE(t.expiry_of("k", exp));
  CHECK(exp == no_expiry);
  clk.advance(1h);
  t.sweep(clk.now_ns(), 100);
  CHECK(get(t, "k") == "v");
}

TEST_CASE_METHOD(table_fixture,
                 "an entry made to never expire can be given an expiry, and "
                 "then expires and is reclaimed",
                 "[shard_table]") {
  auto t = make(100);
  t.put("k", std::string(100, 'v'), no_expiry, {"tag"}, 5);
  REQUIRE(t.set_expiry("k", in(2s)));
  int64_t exp = 0;
  REQUIRE(t.expiry_of("k", exp));
  CHECK(exp == in(2s));
  std::string out;
  uint64_t version = 0;
  REQUIRE(t.get("k", out, version));
  CHECK(out == std::string(100, 'v'));
  CHECK(version == 5);
  clk.advance(2s);
  CHECK(get(t, "k") == "<miss>");
  t.sweep(clk.now_ns() + 3 * tick, 100);
  CHECK(t.stats().entries == 0);
  CHECK(t.stats().bytes == 0);
  CHECK(t.indexes().tag_links == 0);
}

TEST_CASE_METHOD(table_fixture,
                 "a fenced table serves nothing and refuses fills until it is "
                 "unfenced, and keeps what it holds",
                 "[shard_table][replay]") {
  auto t = make(100);
  t.put("k", "cached", in(1h), {});
  auto before = t.begin_fill("loading");
  t.set_fenced(true);
  CHECK(t.fenced());
  std::string out;
  uint64_t version = 0;
  CHECK(get(t, "k") == "<miss>");
  CHECK_FALSE(t.peek("k", out, version));
  CHECK_FALSE(t.contains("k"));
  int64_t exp = 0;
  CHECK_FALSE(t.expiry_of("k", exp));
  CHECK(t.lookup("k", out).state == shard_table::lookup_result::missing);
  // Fills that began before the fence, and during it, install nothing.
  CHECK_FALSE(t.complete_fill("loading", before, "old", in(1h), 0, {}, 0, 0));
  auto during = t.begin_fill("other");
  CHECK_FALSE(t.complete_fill("other", during, "v", in(1h), 0, {}, 0, 0));
  CHECK(t.stats().stale_fills_refused == 2);
  // Invalidations still apply while fenced.
  t.put("gone", "v", in(1h), {});
  CHECK(t.erase("gone") == 1);
  t.set_fenced(false);
  CHECK(get(t, "k") == "cached");
  CHECK(get(t, "gone") == "<miss>");
  CHECK(get(t, "loading") == "<miss>");
  auto after = t.begin_fill("loading");
  CHECK(t.complete_fill("loading", after, "new", in(1h), 0, {}, 0, 0));
  CHECK(get(t, "loading") == "new");
}
