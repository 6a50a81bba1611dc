// cachebus-demo: what a new user runs first. The seed's world (accounts and
// posts in SQLite, or PostgreSQL with --postgres) and one section per
// invalidation pattern, each measured: store loads, hits, misses,
// invalidations, latencies. Ends with a summary table.
//
//   cachebus-demo [--postgres=CONNINFO] [--posts=N] [--callers=N]
//                 [--cluster N]        (N node processes; N >= 2)
//                 [--cachebus.*=...]   (CAF options: see --help)
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "caf/all.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/runtime.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"

#include "cluster_section.hpp"
#include "console.hpp"
#include "world.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

struct demo_options {
  std::string postgres;
  size_t posts = 2000;
  size_t callers = 1000;
  size_t cluster = 0;
};

double us_since(steady_clock::time_point t) {
  return std::chrono::duration<double, std::micro>(steady_clock::now() - t)
    .count();
}

std::string fmt(const char* f, double x) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

constexpr std::string_view world_rules = R"(
[accounts]
keys = account:{id}, account:{id}:profile, account:{id}:posts
tags = account:{id}
dependents = feeds
[feeds]
keys = feed:{id}
[posts]
keys = post:{id}
tags = post:{id}
)";

// -- sections
// -------------------------------------------------------------------

void cache_aside(demo::console& out, node& n, demo::world& w) {
  out.section("Cache-aside: fetch through the cache");
  auto loads0 = w.loads();
  auto loader = [&](const std::string& key) {
    return w.load("accounts", key.substr(key.find(':') + 1));
  };
  auto t0 = steady_clock::now();
  auto v = n.fetch("account:1", loader);
  auto miss_us = us_since(t0);
  out.line("fetch account:1 (miss, loads from the store): " + *v + " in "
           + fmt("%.0f us", miss_us));
  constexpr int reads = 100000;
  t0 = steady_clock::now();
  for (int i = 0; i < reads; ++i)
    (void)n.fetch("account:1", loader);
  auto hit_us = us_since(t0) / reads;
  out.line(fmt("100000 more fetches: all hits, %.3f us each", hit_us)
           + ", store loads: " + std::to_string(w.loads() - loads0));
  out.record("cache-aside", "miss: store load + install", miss_us, "us");
  out.record("cache-aside", "hit (read from the shard's table)", hit_us, "us");
  out.record("cache-aside", "store loads for 100001 fetches",
             static_cast<double>(w.loads() - loads0), "loads");
}

void write_paths(demo::console& out, caf::actor_system& sys, demo::world& w) {
  node_options o;
  o.name = "writer";
  node_setup s;
  s.rules = *rules::parse(world_rules);
  auto n = std::move(*node::start(sys, o, std::move(s)));
  write_back_options wb;
  wb.journal = w.scratch_dir() + "/write-back.journal";
  wb.fsync = stores::fsync_policy::batch;
  wb.flush_interval = 200ms;
  auto rc = record_cache::start(*n, w.shared_store(), wb);
  if (!rc) {
    out.line("cannot start the write paths: " + describe(rc.error()));
    return;
  }
  out.section("Write-through: store first, then cache and event");
  (void)n->set("account:2:profile", "derived from the old name");
  auto t0 = steady_clock::now();
  auto version = (*rc)->update("accounts", "2", {{"name", "Ada"}});
  auto us = us_since(t0);
  auto rec = (*rc)->load("accounts", "2");
  out.line(
    "update accounts/2 name=Ada: store version "
    + std::to_string(version ? *version : 0) + " in " + fmt("%.0f us", us)
    + "; the cache now holds name="
    + (rec ? rec->fields["name"] : std::string{"?"})
    + "; the derived account:2:profile is "
    + (n->get("account:2:profile") ? "still cached (bug)" : "invalidated"));
  out.record("write-through", "update (store + cache + event)", us, "us");
  out.section("Write-back: cache first, journal, coalesced batches");
  constexpr int updates = 20000;
  t0 = steady_clock::now();
  for (int i = 0; i < updates; ++i) {
    (void)(*rc)->queue_update(
      "accounts", std::to_string(1 + i % 100),
      {{"email", "v" + std::to_string(i) + "@example.org"}});
    if (i % 2000 == 1999)
      out.progress("queueing updates", i + 1, updates);
  }
  auto per = us_since(t0) / updates;
  auto seen = (*rc)->load("accounts", "100");
  out.line(std::to_string(updates) + " queued updates to 100 accounts, "
           + fmt("%.2f us each", per)
           + " (journaled before returning); "
             "readers see the latest at once: "
           + (seen ? seen->fields["email"] : std::string{"?"}));
  (void)(*rc)->flush(std::chrono::seconds(30));
  auto st = (*rc)->stats();
  out.line("after the flush: " + std::to_string(st.flushed_rows)
           + " rows written in " + std::to_string(st.batches)
           + " transactions; " + std::to_string(st.coalesced_writes)
           + " writes coalesced away");
  out.record("write-back", "queue_update (journal fsync=batch)", per, "us");
  out.record("write-back", "updates queued",
             static_cast<double>(st.queued_writes), "writes");
  out.record("write-back", "rows written to the store",
             static_cast<double>(st.flushed_rows), "rows");
  out.record("write-back", "store transactions",
             static_cast<double>(st.batches), "txns");
  (*rc)->stop();
  n->stop();
}

void expiry(demo::console& out, node& n) {
  out.section("Time-based expiry: short and long TTLs");
  set_options short_ttl;
  short_ttl.ttl = 200ms;
  for (int i = 0; i < 1000; ++i)
    (void)n.set("session:" + std::to_string(i), "token", short_ttl);
  set_options long_ttl;
  long_ttl.ttl = 1h;
  (void)n.set("config:site", "long-lived", long_ttl);
  auto before = n.stats().total;
  out.line("1000 sessions with a 200 ms TTL and one entry with a 1 h TTL");
  std::this_thread::sleep_for(250ms);
  out.line(std::string{"after 250 ms: session:0 -> "}
           + (n.get("session:0") ? "hit" : "miss (expired: never returned)")
           + ", config:site -> " + (n.get("config:site") ? "hit" : "miss"));
  auto t0 = steady_clock::now();
  auto deadline = t0 + 3s;
  while (n.stats().total.expirations < before.expirations + 1000
         && steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  auto reclaimed = n.stats().total.expirations - before.expirations;
  out.line("the incremental sweep reclaimed " + std::to_string(reclaimed)
           + " expired entries " + fmt("%.0f ms", us_since(t0) / 1000)
           + " after the check (sweep interval 100 ms)");
  out.record("expiry", "expired entries reclaimed by the sweep",
             static_cast<double>(reclaimed), "entries");
}

void pubsub(demo::console& out, caf::actor_system& sys) {
  out.section("Pub/sub invalidation with central rules (two nodes, one bus)");
  auto make = [&](std::string name, std::optional<bus_actor> bus) {
    node_options o;
    o.name = std::move(name);
    o.sweep_interval = 100ms;
    node_setup s;
    s.rules = *rules::parse(world_rules);
    s.bus = std::move(bus);
    return std::move(*node::start(sys, o, std::move(s)));
  };
  auto a = make("web-1", std::nullopt);
  auto b = make("web-2", a->bus());
  for (auto* n : {a.get(), b.get()})
    for (auto k : {"account:7", "account:7:profile", "account:7:posts",
                   "feed:7", "account:8"})
      (void)n->set(k, "cached");
  caf::scoped_actor observer{sys};
  caf::anon_send(b->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  auto t0 = steady_clock::now();
  auto removed = *a->publish_invalidation("accounts", "7");
  observer->receive([](applied_atom, const std::string&, uint64_t) {},
                    caf::after(5s) >> [] {});
  auto us = us_since(t0);
  auto gone = 0;
  for (auto k : {"account:7", "account:7:profile", "account:7:posts", "feed:7"})
    gone += b->get(k) ? 0 : 1;
  out.line("web-1 publishes accounts/7: the rules name 3 keys, a tag and the "
           "dependent feed");
  out.line("web-1 removed " + std::to_string(removed)
           + " entries; web-2 "
             "removed "
           + std::to_string(gone) + " of its 4 copies " + fmt("%.0f us", us)
           + " after the publish; account:8 untouched: "
           + (b->get("account:8") ? "yes" : "no"));
  out.record("pub/sub + rules", "entries removed on the publishing node",
             static_cast<double>(removed), "entries");
  out.record("pub/sub + rules", "publish -> applied on the other node", us,
             "us");
  b->stop();
  a->stop();
}

void dependencies(demo::console& out, node& n) {
  out.section("Dependency tracking");
  for (auto k : {"account:3", "account:3:stats", "dashboard:3", "report:3"})
    (void)n.set(k, "v");
  (void)n.track_dependency("account:3", "account:3:stats");
  (void)n.track_dependency("account:3:stats", "dashboard:3");
  (void)n.track_dependency("dashboard:3", "report:3");
  (void)n.track_dependency("report:3", "account:3"); // a cycle is fine
  auto t0 = steady_clock::now();
  auto removed = *n.invalidate({"account:3"});
  auto us = us_since(t0);
  out.line("account:3 -> account:3:stats -> dashboard:3 -> report:3 (-> "
           "account:3)");
  out.line("invalidate account:3 removed " + std::to_string(removed)
           + " entries, transitively and cycle-safe, in " + fmt("%.0f us", us));
  out.record("dependencies", "entries removed by one invalidation",
             static_cast<double>(removed), "entries");
}

void tags(demo::console& out, node& n, size_t posts) {
  out.section("Tags");
  set_options o;
  for (size_t i = 0; i < posts; ++i) {
    o.tags = {"feed:home", "post:" + std::to_string(i)};
    (void)n.set("post:" + std::to_string(i) + ":html", "<article>", o);
    if (i % 200 == 0 || i + 1 == posts)
      out.progress("caching tagged posts", i + 1, posts);
  }
  auto t0 = steady_clock::now();
  auto removed = *n.invalidate_tag("feed:home");
  auto us = us_since(t0);
  out.line(std::to_string(posts)
           + " rendered posts tagged feed:home: "
             "invalidate_tag removed "
           + std::to_string(removed) + " in " + fmt("%.0f us", us)
           + " (O(shards), not O(entries))");
  out.record("tags", "entries invalidated by one tag",
             static_cast<double>(removed), "entries");
  out.record("tags", "invalidate_tag latency", us, "us");
}

void patterns(demo::console& out, node& n) {
  out.section("Multi-key and pattern invalidation");
  for (int p = 1; p <= 50; ++p) {
    (void)n.set("search:q:cats:page:" + std::to_string(p), "results");
    (void)n.set("search:q:dogs:page:" + std::to_string(p), "results");
  }
  for (auto k : {"account:5", "account:6", "account:9"})
    (void)n.set(k, "v");
  auto t0 = steady_clock::now();
  auto removed = *n.invalidate_pattern("search:q:cats:page:*");
  auto us = us_since(t0);
  out.line("search:q:cats:page:* removed " + std::to_string(removed)
           + " of 100 cached pages in " + fmt("%.0f us", us)
           + " (ordered index, no full scan)");
  auto multi = *n.invalidate({"account:5", "account:6", "account:9"});
  out.line("invalidate {account:5, account:6, account:9} removed "
           + std::to_string(multi)
           + " entries on every shard before "
             "returning");
  out.record("patterns", "pages removed by one glob",
             static_cast<double>(removed), "entries");
  out.record("patterns", "invalidate_pattern latency", us, "us");
  out.record("multi-key", "entries removed by one call",
             static_cast<double>(multi), "entries");
}

loader_actor::behavior_type store_loader(loader_actor::pointer,
                                         demo::world* w) {
  return {
    [=](load_atom, const std::string& key) -> caf::result<loaded> {
      std::this_thread::sleep_for(20ms); // a slow query
      auto x = w->load("posts", key.substr(key.find(':') + 1));
      if (!x)
        return std::move(x.error());
      return std::move(*x);
    },
  };
}

void stampede(demo::console& out, caf::actor_system& sys, node& n,
              demo::world& w, size_t callers) {
  out.section("Stampede prevention");
  auto loads0 = w.loads();
  auto loader = sys.spawn<caf::detached>(store_loader, &w);
  caf::scoped_actor self{sys};
  auto t0 = steady_clock::now();
  for (size_t i = 0; i < callers; ++i)
    self->send(n.lock_manager(), fetch_atom_v, std::string{"post:42"}, loader,
               fetch_options{});
  size_t answered = 0;
  size_t ok = 0;
  self->receive_for(answered, callers)(
    [&](const std::string&) {
      ++ok;
      if (answered % 100 == 99 || answered + 1 == callers)
        out.progress("answering callers", answered + 1, callers);
    },
    [&](caf::error&) {});
  auto ms = us_since(t0) / 1000;
  out.line(std::to_string(callers)
           + " concurrent requests for a cold key "
             "with a 20 ms query: "
           + std::to_string(w.loads() - loads0) + " database load, "
           + std::to_string(ok) + " answers in " + fmt("%.1f ms", ms));
  out.record("stampede", "database loads for the cold key",
             static_cast<double>(w.loads() - loads0), "loads");
  out.record("stampede", "all callers answered after", ms, "ms");
  self->send_exit(loader, caf::exit_reason::user_shutdown);
}

} // namespace

int main(int argc, char** argv) {
  demo_options d;
  std::vector<std::string> caf_args{"--cachebus.sweep-interval=100ms"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      std::string prefix = std::string{name} + "=";
      if (a.rfind(prefix, 0) == 0)
        return a.substr(prefix.size());
      return std::nullopt;
    };
    try {
      if (auto v = value("--postgres"))
        d.postgres = *v;
      else if (auto v = value("--posts"))
        d.posts = std::stoul(*v);
      else if (auto v = value("--callers"))
        d.callers = std::stoul(*v);
      else if (auto v = value("--cluster"))
        d.cluster = std::stoul(*v);
      else if (a == "--cluster" && i + 1 < argc)
        d.cluster = std::stoul(argv[++i]);
      else
        caf_args.push_back(a);
    } catch (const std::exception&) {
      std::cerr << "cachebus-demo: bad value in " << a << "\n";
      return 2;
    }
  }
  if (d.posts < 1 || d.posts > 10'000'000 || d.callers < 1
      || d.callers > 100'000 || d.cluster == 1 || d.cluster > 16) {
    std::cerr << "cachebus-demo: --posts must be in [1, 1e7], --callers in "
                 "[1, 1e5], --cluster in [2, 16]\n";
    return 2;
  }
  auto rt = runtime::start(caf_args);
  if (!rt) {
    std::cerr << "cachebus-demo: " << describe(rt.error()) << "\n";
    return 1;
  }
  if ((*rt)->help_printed()) {
    std::cout << "\ndemo options: --postgres=CONNINFO --posts=N --callers=N "
                 "--cluster N\n";
    return 0;
  }
  auto w = demo::world::open(d.postgres, 100, d.posts);
  if (!w) {
    std::cerr << "cachebus-demo: " << describe(w.error()) << "\n";
    return 1;
  }
  auto& n = (*rt)->node();
  demo::console out;
  std::printf("cachebus demo: %zu shards, store: %s, %zu posts\n",
              n.options().shards, (*w)->description().c_str(), d.posts);
  auto t0 = steady_clock::now();
  write_paths(out, (*rt)->system(), **w);
  cache_aside(out, n, **w);
  expiry(out, n);
  pubsub(out, (*rt)->system());
  dependencies(out, n);
  tags(out, n, d.posts);
  patterns(out, n);
  stampede(out, (*rt)->system(), n, **w, d.callers);
  bool ok = true;
  if (d.cluster > 0
      && !demo::run_cluster_section(out, (*rt)->system(), d.cluster)) {
    std::fprintf(stderr, "cachebus-demo: the cluster section failed\n");
    ok = false;
  }
  out.section("Summary");
  auto s = n.stats().total;
  out.record("node", "hits", static_cast<double>(s.hits), "");
  out.record("node", "misses", static_cast<double>(s.misses), "");
  out.record("node", "invalidations", static_cast<double>(s.invalidations), "");
  out.record("node", "expirations", static_cast<double>(s.expirations), "");
  out.record("node", "store loads in total", static_cast<double>((*w)->loads()),
             "loads");
  out.summary();
  std::printf("finished in %.1f s\n", us_since(t0) / 1e6);
  return ok ? 0 : 1;
}
