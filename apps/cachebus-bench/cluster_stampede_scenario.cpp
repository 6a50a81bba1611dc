// Cluster scenario: cachebus-node child processes on loopback.
//
// `cluster_stampede`: three nodes sharing one SQLite store
// (--cachebus.store); per round a fresh record is written to the store and
// one event-based actor sends 300 fetches of its key to each node's
// frontend at once (900 in flight), then collects every reply. Metrics:
// loader runs per key (sum of the nodes' lock manager grants; mean and max
// over the rounds) and the latency of each cold fetch (send to reply). The
// baseline in the same run: the same three nodes without seeds, so each is
// a cluster of one and single-flights only locally (3 loads per key).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node_frontend.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/child_process.hpp"
#include "cachebus/apps/common/temp_dir.hpp"
#include "cluster_fixture.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using app::node_child;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* stampede_name = "cluster_stampede";

struct stampede_run {
  std::vector<double> runs;    // loader runs per key (one per round)
  std::vector<double> latency; // us, per cold fetch
  int errors = 0;
};

// A temporary directory with the shared SQLite file and its rules, removed
// with everything in it at the end. Throws if it cannot be created.
struct store_dir {
  app::temp_dir dir{"cachebus-bench-store"};
  store_dir() {
    std::ofstream{rules()} << "[users]\nkeys = user:{id}\n"
                              "fields = name\n";
  }
  std::string rules() const { return dir.file("rules.ini"); }
  std::string db() const { return dir.file("records.db"); }
};

// A store_dir, or nullopt and the reason in `why`.
std::optional<store_dir> make_store_dir(std::string& why) {
  try {
    return std::optional<store_dir>{std::in_place};
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
}

// Sends `per_node` fetches of `key` to each frontend at once and reports
// (latencies, errors) to `sink` when every reply is in.
void stampede_round(caf::event_based_actor* self,
                    std::vector<node_frontend_actor> fe, std::string key,
                    std::string expected, int per_node, caf::actor sink) {
  struct state {
    std::vector<double> lat;
    int errors = 0;
    int left = 0;
  };
  auto st = std::make_shared<state>();
  st->left = per_node * static_cast<int>(fe.size());
  auto done = [=] {
    if (--st->left == 0) {
      self->send(sink, std::move(st->lat), st->errors);
      self->quit();
    }
  };
  for (int k = 0; k < per_node; ++k)
    for (auto& h : fe) {
      auto t0 = steady_clock::now();
      self->request(h, 30s, fetch_atom_v, key)
        .then(
          [=](const std::string& v) {
            st->lat.push_back(us_since(t0, steady_clock::now()));
            if (v != expected)
              ++st->errors;
            done();
          },
          [=](caf::error&) {
            ++st->errors;
            done();
          });
    }
}

// Starts three nodes over `dir`'s store (linked if `linked`), runs `rounds`
// rounds of `per_node` concurrent cold fetches per node. False on failure.
bool stampede_cluster(const std::string& bin, const store_dir& dir, bool linked,
                      int rounds, int per_node, stampede_run& out,
                      std::string& why) {
  std::vector<std::unique_ptr<node_child>> nodes;
  for (int k = 0; k < 3; ++k) {
    std::vector<std::string> args{"--cachebus.name=n" + std::to_string(k),
                                  "--cachebus.rules=" + dir.rules(),
                                  "--cachebus.store=sqlite:" + dir.db(),
                                  "--cachebus.shards=1",
                                  "--scheduler.max-threads=1",
                                  "--cachebus.heartbeat-interval=100ms",
                                  "--cachebus.peer-timeout=1s"};
    if (linked && k > 0)
      args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                     + std::to_string(nodes[0]->cluster_port) + "\"]");
    nodes.push_back(std::make_unique<node_child>(bin, args));
    if (!nodes.back()->ready()) {
      auto& p = nodes.back()->proc;
      why = "node n" + std::to_string(k) + " did not get ready: "
            + (p.running() ? "no READY line within 20 s" : p.error());
      return false;
    }
  }
  auto opened = stores::sqlite_store::open(dir.db());
  if (!opened.ok() || !opened.value()->declare("users", {"name"}).ok()) {
    why = "cannot open the shared SQLite store";
    return false;
  }
  auto store = std::move(opened).value();
  config cfg;
  if (cfg.parse(std::vector<std::string>{"--scheduler.max-threads=1"})) {
    why = "bad scheduler arguments";
    return false;
  }
  caf::actor_system sys{cfg};
  std::vector<node_frontend_actor> fe;
  if (!connect_frontends(sys, nodes, fe, why))
    return false;
  caf::scoped_actor self{sys};
  auto grants = [&] {
    uint64_t n = 0;
    for (auto& h : fe)
      self->request(h, 5s, lock_stats_atom_v)
        .receive([&](const lock_stats& s) { n += s.grants; },
                 [](caf::error&) {});
    return n;
  };
  auto write = [&](const std::string& id) -> std::string {
    auto v = store->apply({{"users", id, {{"name", id}}}});
    if (!v.ok())
      return {};
    return encode_record({{"name", id}}, v->front());
  };
  auto fetch = [&](const node_frontend_actor& h, const std::string& key) {
    self->request(h, 10s, fetch_atom_v, key)
      .receive([](const std::string&) {}, [](caf::error&) {});
  };
  if (linked) {
    // Linked once fresh keys fetched on n0, n1, n2 one after another run
    // one load each, five times in a row: the lock managers agree.
    int agreed = 0;
    for (int p = 0; p < 400 && agreed < 5; ++p) {
      auto id = "probe" + std::to_string(p);
      if (write(id).empty()) {
        why = "cannot write to the store";
        return false;
      }
      auto before = grants();
      for (auto& h : fe)
        fetch(h, "user:" + id);
      agreed = grants() - before == 1 ? agreed + 1 : 0;
      if (agreed == 0)
        std::this_thread::sleep_for(25ms);
    }
    if (agreed < 5) {
      why = "the nodes' lock managers never agreed on key owners";
      return false;
    }
  }
  auto sink = caf::actor_cast<caf::actor>(self);
  for (int r = 0; r < rounds; ++r) {
    auto id = std::string{linked ? "c" : "b"} + std::to_string(r);
    auto expected = write(id);
    if (expected.empty()) {
      why = "cannot write to the store";
      return false;
    }
    auto before = grants();
    sys.spawn(stampede_round, fe, "user:" + id, expected, per_node, sink);
    bool done = false;
    self->receive(
      [&](std::vector<double>& lat, int errors) {
        out.latency.insert(out.latency.end(), lat.begin(), lat.end());
        out.errors += errors;
        done = true;
      },
      caf::after(std::chrono::seconds(60)) >> [] {});
    if (!done) {
      why = "a round did not finish within 60 s";
      return false;
    }
    out.runs.push_back(static_cast<double>(grants() - before));
  }
  for (auto& nd : nodes)
    nd->proc.stop();
  return true;
}

double mean(const std::vector<double>& xs) {
  double sum = 0;
  for (auto x : xs)
    sum += x;
  return xs.empty() ? NAN : sum / static_cast<double>(xs.size());
}

void run_cluster_stampede() {
  auto bin = node_binary_or_skip(stampede_name);
  if (bin.empty())
    return;
  auto rounds = std::max(5, static_cast<int>(20 * scale()));
  constexpr int per_node = 300;
  stampede_run ours, base;
  std::string why;
  {
    auto dir = make_store_dir(why);
    if (!dir
        || !stampede_cluster(bin, *dir, true, rounds, per_node, ours, why)) {
      std::cerr << "cachebus-bench: " << stampede_name
                << " skipped (cluster): " << why << "\n";
      return;
    }
  }
  {
    auto dir = make_store_dir(why);
    if (!dir
        || !stampede_cluster(bin, *dir, false, rounds, per_node, base, why)) {
      std::cerr << "cachebus-bench: " << stampede_name
                << " skipped (baseline): " << why << "\n";
      return;
    }
  }
  std::ostringstream note;
  note << "3 cachebus-node processes sharing one SQLite store; " << rounds
       << " rounds, each a fresh record whose key gets " << per_node
       << " concurrent cold fetches per node (" << 3 * per_node
       << " in flight) from one event-based actor; loader runs = sum of the "
          "nodes' lock manager grants per key (loader_runs: mean over the "
          "rounds, loader_runs_max: max); latency per fetch from send to "
          "reply, all fetches of all rounds; baseline: the same 3 nodes "
          "without seeds (local single flight only)";
  if (ours.errors + base.errors > 0)
    note << "; " << ours.errors << " / " << base.errors
         << " fetches failed or returned another value";
  auto max_of = [](const std::vector<double>& xs) {
    return xs.empty() ? NAN : *std::max_element(xs.begin(), xs.end());
  };
  emit({stampede_name, "loader_runs", mean(ours.runs), "runs", mean(base.runs),
        note.str()});
  emit({stampede_name, "loader_runs_max", max_of(ours.runs), "runs",
        max_of(base.runs), note.str()});
  emit({stampede_name, "fetch_p50_us", pct(ours.latency, 0.5), "us",
        pct(base.latency, 0.5), note.str()});
  emit({stampede_name, "fetch_p99_us", pct(ours.latency, 0.99), "us",
        pct(base.latency, 0.99), note.str()});
}

registrar cluster_stampede_reg{
  stampede_name,
  "3 cachebus-node processes, shared SQLite store: loader runs per key for "
  "300 concurrent cold fetches per node vs the same nodes unlinked",
  run_cluster_stampede};

} // namespace

} // namespace cachebus::bench
