// The shard table against a model: seeded random histories of writes of
// every size (so entries grow, shrink and move), fills with grace windows,
// tags, patterns, erasures, expiry and sweeps must read exactly as a plain
// map of the same operations says, and leave no byte charged once empty.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cachebus/actors/cache/shard_table.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/node/options.hpp"

using namespace cachebus;

namespace {

constexpr int64_t second = 1'000'000'000;

struct model_entry {
  std::string value;
  int64_t expires_ns;
  int64_t grace_ns;
  std::set<std::string> tags;
};

} // namespace

TEST_CASE("random histories of writes, fills, tags, patterns and sweeps read "
          "as the model says",
          "[shard_table]") {
  const std::vector<size_t> sizes{0, 1, 15, 16, 100, 500, 5000, 70'000};
  // -1: never expires (such an entry has no expiry part until it gets one).
  const std::vector<int64_t> ttls{second / 2, 2 * second, 3600 * second, -1};
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng{seed};
    auto pick = [&](size_t n) {
      return std::uniform_int_distribution<size_t>{0, n - 1}(rng);
    };
    time_source clk;
    clk.make_manual();
    shard_table t{{100'000, size_t{1} << 32, second}, &clk};
    std::map<std::string, model_entry> model;
    auto now = [&] { return clk.now_ns(); };
    auto expiry
      = [&](int64_t ttl) { return ttl < 0 ? no_expiry : now() + ttl; };
    auto gone_at = [](const model_entry& m) {
      return m.expires_ns == no_expiry ? no_expiry : m.expires_ns + m.grace_ns;
    };
    for (int step = 0; step < 2000; ++step) {
      auto key = std::string(pick(2) ? "k:" : "j:") + std::to_string(pick(20));
      switch (pick(10)) {
      case 0:
      case 1:
      case 2: { // a write
        std::string value(sizes[pick(sizes.size())], char('a' + pick(26)));
        std::set<std::string> tags;
        for (int i = 0; i < 3; ++i)
          if (pick(3) == 0)
            tags.insert("t" + std::to_string(pick(4)));
        auto expires = expiry(ttls[pick(ttls.size())]);
        t.put(key, value, expires, {tags.begin(), tags.end()});
        model[key] = {value, expires, 0, tags};
        break;
      }
      case 3: { // a fill, maybe with a grace window
        std::string value(sizes[pick(sizes.size())], char('A' + pick(26)));
        auto expires = expiry(ttls[pick(ttls.size())]);
        int64_t grace = pick(2) ? 3 * second : 0;
        auto id = t.begin_fill(key);
        REQUIRE(t.complete_fill(key, id, value, expires, grace, {}, 0,
                                int64_t(pick(1000))));
        model[key] = {value, expires, grace, {}};
        break;
      }
      case 4:
        t.erase(key);
        model.erase(key);
        break;
      case 5: { // a pattern
        auto prefix = key.substr(0, 3);
        t.erase_matching(prefix + "*");
        for (auto i = model.begin(); i != model.end();)
          i = i->first.rfind(prefix, 0) == 0 ? model.erase(i) : std::next(i);
        break;
      }
      case 6: { // a tag
        auto tag = "t" + std::to_string(pick(4));
        t.invalidate_tag(tag);
        for (auto i = model.begin(); i != model.end();)
          i = i->second.tags.count(tag) ? model.erase(i) : std::next(i);
        break;
      }
      default: // time passes and the sweep runs
        clk.advance(std::chrono::milliseconds(pick(1500)));
        t.sweep(now(), 1 + pick(100));
      }
      if (step % 50 != 49)
        continue;
      for (int k = 0; k < 20; ++k) {
        for (auto prefix : {"k:", "j:"}) {
          auto name = prefix + std::to_string(k);
          CAPTURE(step, name);
          std::string out;
          auto r = t.lookup(name, out);
          auto m = model.find(name);
          if (m == model.end() || gone_at(m->second) <= now()) {
            CHECK(r.state == shard_table::lookup_result::missing);
            continue;
          }
          auto fresh = m->second.expires_ns > now();
          CHECK(r.state
                == (fresh ? shard_table::lookup_result::fresh
                          : shard_table::lookup_result::stale));
          CHECK(out == m->second.value);
        }
      }
    }
    t.clear();
    CHECK(t.stats().bytes == 0);
    CHECK(t.indexes().ordered == 0);
    CHECK(t.indexes().tag_links == 0);
  }
}
