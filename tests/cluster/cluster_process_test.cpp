// Multi-process cluster tests: three cachebus-node processes on loopback,
// driven through their frontends. Every process is reaped by its pid, also
// when a check fails (app::node_child's destructor).
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_frontend.hpp"

#include "cachebus/apps/common/child_process.hpp"

#include "cachebus/apps/common/net_cut.hpp"
#include "node_calls.hpp"
#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using node_process = cachebus::app::node_child;

namespace {

struct cluster {
  std::string rules_path;
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::unique_ptr<node_process>> nodes;

  cluster() {
    char tmpl[] = "/tmp/cachebus-rules-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    rules_path = tmpl;
    std::ofstream{rules_path} << "[users]\nkeys = user:{id}, "
                                 "user:{id}:profile\n";
  }

  ~cluster() {
    nodes.clear(); // SIGKILL + waitpid each
    std::remove(rules_path.c_str());
  }

  /// More arguments for every node spawned from now on.
  std::vector<std::string> extra;

  std::unique_ptr<node_process> spawn(const std::string& name,
                                      uint16_t seed_port) {
    std::vector<std::string> args{"--metrics-port=0",
                                  "--cachebus.rules=" + rules_path};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<node_process>(
      CACHEBUS_NODE_BINARY, test::node_args(name, seed_port, args));
    INFO(p->proc.output());
    REQUIRE(p->ready());
    return p;
  }

  void start(size_t n) {
    nodes.push_back(spawn("n0", 0));
    for (size_t i = 1; i < n; ++i)
      nodes.push_back(spawn("n" + std::to_string(i), nodes[0]->cluster_port));
  }

  node_frontend_actor frontend(const node_process& p) {
    auto fe = sys.middleman().remote_actor<node_frontend_actor>("127.0.0.1",
                                                                p.client_port);
    REQUIRE(fe);
    return *fe;
  }

  // The value of `key` on `p`, or "<miss>" / "<error: ...>".
  std::string get(const node_process& p, const std::string& key) {
    return test::get_on(sys, frontend(p), key);
  }

  void set(const node_process& p, const std::string& key,
           const std::string& value) {
    test::set_on(sys, frontend(p), key, value);
  }

  uint64_t publish(const node_process& p, std::string resource,
                   std::string id) {
    invalidated ev;
    ev.resource = std::move(resource);
    ev.id = std::move(id);
    return test::invalidate_on(sys, frontend(p), std::move(ev));
  }

  // Publishes throw-away events on `from` until `to` drops a probe key
  // because of them: proves the session from -> to is up.
  bool linked(const node_process& from, const node_process& to) {
    for (int i = 0; i < 100; ++i) {
      auto id = "probe" + std::to_string(i);
      set(to, "user:" + id, "x");
      publish(from, "users", id);
      if (test::eventually([&] { return get(to, "user:" + id) == "<miss>"; },
                           200ms, 20ms))
        return true;
    }
    return false;
  }

  template <class Pred>
  bool eventually(Pred pred) {
    return test::eventually(pred, std::chrono::seconds(15), 20ms);
  }

  /// The value of an unlabelled (or fully labelled) sample in `p`'s
  /// metrics, -1 if absent.
  static long metric(const node_process& p, const std::string& sample) {
    auto text = test::scrape_metrics(p.metrics_port);
    auto at = text.find("\n" + sample + " ");
    if (at == std::string::npos)
      return -1;
    return std::stol(text.substr(at + sample.size() + 2));
  }
};

} // namespace

TEST_CASE("a write on one of three nodes removes the stale copies on the "
          "other two",
          "[cluster][processes]") {
  cluster c;
  c.start(3);
  auto& a = *c.nodes[0];
  auto& b = *c.nodes[1];
  auto& d = *c.nodes[2];
  REQUIRE(c.linked(a, b));
  REQUIRE(c.linked(a, d));
  for (auto* p : {&a, &b, &d}) {
    c.set(*p, "user:1", "old");
    c.set(*p, "user:1:profile", "old");
    c.set(*p, "user:2", "other");
  }
  auto t0 = std::chrono::steady_clock::now();
  CHECK(c.publish(a, "users", "1") == 2);
  CHECK(c.eventually([&] {
    return c.get(b, "user:1") == "<miss>" && c.get(d, "user:1") == "<miss>"
           && c.get(b, "user:1:profile") == "<miss>"
           && c.get(d, "user:1:profile") == "<miss>";
  }));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(c.get(b, "user:2") == "other");
  CHECK(c.get(d, "user:2") == "other");
}

TEST_CASE("after kill -9 of a node the others keep serving, drop what it "
          "could have made stale once it counts as gone, and it rejoins after "
          "a restart",
          "[cluster][processes]") {
  cluster c;
  c.extra = {"--cachebus.replay-gone-after=2s"};
  c.start(3);
  auto& a = *c.nodes[0];
  auto& d = *c.nodes[2];
  REQUIRE(c.linked(c.nodes[1].operator*(), a));
  c.set(a, "user:5", "cached before the crash");
  c.nodes[1]->proc.kill(); // SIGKILL, reaped
  // The partition rule: what n1 sent last may never arrive, so a drops its
  // cache once n1 is lost for replay-gone-after.
  CHECK(c.eventually([&] { return c.get(a, "user:5") == "<miss>"; }));
  CHECK(cluster::metric(a, "cachebus_partition_drops_total{cause=\"gone\"}")
        == 1);
  c.set(a, "user:6", "served");
  CHECK(c.get(a, "user:6") == "served");
  CHECK(c.get(d, "user:6") == "<miss>");
  // Restart n1 under the same name; it rejoins and events flow again.
  c.nodes[1] = c.spawn("n1", a.cluster_port);
  auto& b = *c.nodes[1];
  CHECK(c.linked(a, b));
  CHECK(c.linked(b, a));
}

namespace {

// -- replay instead of drop ---------------------------------------------------

/// Three nodes; `b` (n1) caches user:0..user:199; then `interrupt` keeps b
/// away from the others while n0 invalidates user:0..user:99 and n2
/// user:100..user:119 (b misses all of them); then b comes back. Checks that
/// b replayed them: exactly those entries are gone, the other 80 still
/// cached, no stale read, and no node dropped its cache.
template <class Away>
void replay_scenario(cluster& c, Away&& away) {
  c.start(3);
  auto& a = *c.nodes[0];
  auto& b = *c.nodes[1];
  auto& d = *c.nodes[2];
  REQUIRE(c.linked(a, b));
  REQUIRE(c.linked(d, b));
  REQUIRE(c.linked(b, a));
  for (int i = 0; i < 200; ++i)
    c.set(b, "user:" + std::to_string(i), "old");
  std::vector<long> drops;
  for (auto* p : {&a, &b, &d})
    drops.push_back(cluster::metric(*p, "cachebus_partitions_total"));
  away(b, [&] {
    for (int i = 0; i < 100; ++i)
      c.publish(a, "users", std::to_string(i));
    for (int i = 100; i < 120; ++i)
      c.publish(d, "users", std::to_string(i));
  });
  // b is back once it serves nothing stale: every missed invalidation
  // applied. Until then a read misses (fenced) or, before b noticed
  // anything, may be stale; none after the replays completed.
  CHECK(c.eventually([&] {
    return cluster::metric(b, "cachebus_replaying") == 0
           && cluster::metric(b, "cachebus_replays_completed_total") >= 1
           && c.get(b, "user:99") == "<miss>"
           && c.get(b, "user:119") == "<miss>";
  }));
  for (int i = 0; i < 120; ++i) {
    INFO("user:" << i);
    CHECK(c.get(b, "user:" + std::to_string(i)) == "<miss>");
  }
  // On a failure: why b dropped or replayed, from its metrics.
  std::string why;
  {
    auto text = test::scrape_metrics(b.metrics_port);
    std::istringstream lines{text};
    for (std::string line; std::getline(lines, line);)
      if (line[0] != '#'
          && (line.find("drops_total{") != std::string::npos
              || line.find("replay") != std::string::npos))
        why += line + "\n";
  }
  INFO(why);
  int kept = 0;
  for (int i = 120; i < 200; ++i)
    kept += c.get(b, "user:" + std::to_string(i)) == "old" ? 1 : 0;
  CHECK(kept == 80);
  for (size_t k = 0; k < 3; ++k)
    CHECK(cluster::metric(*c.nodes[k], "cachebus_partitions_total")
          == drops[k]);
  CHECK(cluster::metric(b, "cachebus_replays_total")
        == cluster::metric(b, "cachebus_replays_completed_total"));
  CHECK(cluster::metric(b, "cachebus_cluster_replayed_events_in_total") >= 1);
  // And the cluster works on: b's own writes still reach the others.
  c.set(a, "user:150", "cached on a");
  c.publish(b, "users", "150");
  CHECK(c.eventually([&] { return c.get(a, "user:150") == "<miss>"; }));
}

} // namespace

TEST_CASE("a node stopped while events flow replays what it missed when it "
          "continues: only those entries are gone, no stale read, no drop",
          "[cluster][processes][replay]") {
  cluster c;
  replay_scenario(c, [&](node_process& b, auto&& flow) {
    b.proc.signal(SIGSTOP);
    auto t0 = std::chrono::steady_clock::now();
    flow();
    // Stopped beyond the 1 s peer timeout: the others give up on it.
    CHECK(c.eventually([&] {
      return cluster::metric(*c.nodes[0],
                             "cachebus_cluster_peer_up{peer=\"n1\"}")
             == 0;
    }));
    CHECK(std::chrono::steady_clock::now() - t0 >= 800ms);
    flow(); // more while it is lost, not merely slow
    b.proc.signal(SIGCONT);
  });
}

TEST_CASE("a node whose connections are cut for seconds while events flow "
          "replays what it missed once they heal, with no drop",
          "[cluster][processes][replay]") {
  if (!app::can_cut_connections()) {
    WARN("skipped: cutting connections (ss -K) needs root");
    return;
  }
  cluster c;
  replay_scenario(c, [&](node_process& b, auto&& flow) {
    std::vector<uint16_t> peers{c.nodes[0]->cluster_port,
                                c.nodes[2]->cluster_port};
    // Cut every 50 ms for 3 s: every redial is cut again.
    auto until = std::chrono::steady_clock::now() + 3s;
    int cuts = app::cut_process(b.proc.pid(), b.cluster_port, peers);
    flow();
    while (std::chrono::steady_clock::now() < until) {
      cuts += app::cut_process(b.proc.pid(), b.cluster_port, peers);
      std::this_thread::sleep_for(50ms);
    }
    CHECK(cuts >= 1);
  });
}

TEST_CASE("a node shuts down cleanly on SIGTERM", "[cluster][processes]") {
  cluster c;
  c.start(2);
  auto t0 = std::chrono::steady_clock::now();
  auto status = c.nodes[1]->proc.stop();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 15s);
}

TEST_CASE("each node serves Prometheus metrics that curl can scrape",
          "[cluster][processes][metrics]") {
  cluster c;
  c.start(2);
  auto& a = *c.nodes[0];
  auto& b = *c.nodes[1];
  REQUIRE(c.linked(b, a));
  REQUIRE(a.metrics_port != 0);
  auto hits = [&] {
    auto text = test::scrape_metrics(a.metrics_port);
    std::string_view line = "cachebus_hits_total{shard=\"0\"} ";
    auto at = text.find(line);
    REQUIRE(at != std::string::npos);
    return std::stoull(text.substr(at + line.size()));
  };
  c.set(a, "user:1", "v");
  auto before = hits();
  CHECK(c.get(a, "user:1") == "v");
  CHECK(hits() == before + 1);
  auto text = test::scrape_metrics(a.metrics_port);
  CHECK_THAT(text, Catch::Contains("# TYPE cachebus_hits_total counter"));
  CHECK_THAT(text, Catch::Contains("cachebus_entries{shard=\"0\"}"));
  CHECK_THAT(text, Catch::Contains("cachebus_cluster_peer_up{peer=\"n1\"} 1"));
  CHECK_THAT(text, Catch::Contains("cachebus_events_applied_total"));
  CHECK_THAT(text, Catch::Contains("cachebus_lock_waiting 0"));
  // Staleness is visible: refused fills and versions, superseded loads, and
  // the lag of the events `a` applied from `b` (linked() sent some).
  for (auto name :
       {"cachebus_stale_fills_refused_total{shard=\"0\"} ",
        "cachebus_older_versions_refused_total{shard=\"0\"} ",
        "cachebus_lock_stale_fills_total ", "cachebus_lock_reloads_total ",
        "cachebus_lock_owner_behind_total ",
        "# TYPE cachebus_invalidation_lag_seconds histogram",
        "cachebus_invalidation_lag_seconds_bucket{origin=\"n1\","
        "le=\"+Inf\"} ",
        "cachebus_invalidation_lag_seconds_count{origin=\"n1\"} "})
    CHECK_THAT(text, Catch::Contains(name));
}
