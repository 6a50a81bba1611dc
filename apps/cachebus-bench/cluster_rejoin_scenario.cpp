// Cluster scenario `cluster_rejoin`: what a node that was away costs when it
// comes back. Three cachebus-node processes; n1 caches `entries` keys
// (user:0 ...); n1 is SIGSTOPped for 5 s (beyond the 1 s peer timeout, so the
// others give up on it) while n0 publishes `events` invalidations of
// user:0 .. user:<events-1>; then SIGCONT. Measured on n1 once it is back in
// session and caught up:
//   entries_dropped_on_rejoin  entries before the stop minus entries after
//   store_loads_after_rejoin   a cache-aside reader then reads every key once
//                              (within 10 s of the rejoin): each miss is a
//                              load from the store, put back
//   stale_reads_after_rejoin   reads of an invalidated key that returned the
//                              value from before (must be 0)
//   rejoin_ms                  from SIGCONT until n1 serves the last event's
//                              key as a miss and replays nothing
// The baseline is the same run with --cachebus.replay=false on every node:
// today's partition rule, which drops the whole cache. With `cut` (root
// only) the connections of n1 are cut for 5 s instead (ss -K, every 50 ms),
// the process keeps running: cluster_rejoin_cut.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_frontend.hpp"

#include "cachebus/apps/common/child_process.hpp"
#include "cachebus/apps/common/net_cut.hpp"

#include "cluster_fixture.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* scenario_name = "cluster_rejoin";

int entry_count() {
  return std::max(1000, static_cast<int>(100000 * scale()));
}

int event_count() {
  return std::max(100, static_cast<int>(10000 * scale()));
}

std::string run_text(const std::string& cmd) {
  std::string out;
  if (auto* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    pclose(f);
  }
  return out;
}

/// The value of sample `name` (with its labels) of a node's metrics, -1 if
/// absent.
long metric(uint16_t port, const std::string& name) {
  auto text = run_text("curl -sf --max-time 10 http://127.0.0.1:"
                       + std::to_string(port) + "/metrics");
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos)
    return -1;
  return std::stol(text.substr(at + name.size() + 2));
}

struct rejoin_run {
  double entries_before = 0;
  double entries_after = 0;
  double loads = 0;
  double stale = 0;
  double rejoin_ms = 0;
  double read_s = 0;
};

/// Sends `n` requests made by `make(i)` with up to 256 in flight; `on(i,
/// result)` sees each answer (a value, or the error).
template <class Make, class On>
void pipelined(int n, Make make, On on) {
  constexpr int window = 256;
  for (int first = 0; first < n; first += window) {
    auto last = std::min(n, first + window);
    std::vector<decltype(make(0))> pending;
    for (int i = first; i < last; ++i)
      pending.push_back(make(i));
    for (int i = first; i < last; ++i)
      on(i, pending[i - first]);
  }
}

bool run_once(const std::string& bin, bool replay, bool cut, rejoin_run& out,
              std::string& why) {
  bench_cluster cluster;
  if (!cluster.start(
        bin,
        {std::string{"--cachebus.replay="} + (replay ? "true" : "false"),
         "--metrics-port=0"},
        why))
    return false;
  auto& nodes = cluster.nodes;
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<node_frontend_actor> fe;
  if (!connect_frontends(sys, nodes, fe, why))
    return false;
  caf::scoped_actor self{sys};
  auto& victim = *nodes[1];
  auto put_req = [&](const std::string& key) {
    put_request req;
    req.key = key;
    req.value = "old";
    return self->request(fe[1], 30s, caf::put_atom_v, req);
  };
  auto get_value = [&](const std::string& key) {
    std::string result = "<error>";
    self->request(fe[1], 10s, caf::get_atom_v, key)
      .receive([&](const std::string& v) { result = v; },
               [&](caf::error& err) {
                 if (is(err, errc::miss))
                   result = "<miss>";
               });
    return result;
  };
  auto invalidate_req = [&](int i) {
    invalidated ev;
    ev.resource = "users";
    ev.id = std::to_string(i);
    return self->request(fe[0], 30s, std::move(ev));
  };
  // Sessions come up after READY: wait until n0's events reach n1.
  bool linked = false;
  for (int p = 0; p < 200 && !linked; ++p) {
    auto key = "user:probe" + std::to_string(p);
    put_req(key).receive([](uint64_t) {}, [](caf::error&) {});
    invalidated ev;
    ev.resource = "users";
    ev.id = "probe" + std::to_string(p);
    self->request(fe[0], 5s, ev).receive([](uint64_t) {}, [](caf::error&) {});
    for (int t = 0; t < 20 && !linked; ++t) {
      linked = get_value(key) == "<miss>";
      if (!linked)
        std::this_thread::sleep_for(10ms);
    }
  }
  if (!linked) {
    why = "n0's events never reached n1";
    return false;
  }
  auto n = entry_count();
  auto events = event_count();
  int failed = 0;
  pipelined(
    n, [&](int i) { return put_req("user:" + std::to_string(i)); },
    [&](int, auto& h) {
      h.receive([](uint64_t) {}, [&](caf::error&) { ++failed; });
    });
  if (failed > 0) {
    why = std::to_string(failed) + " puts failed";
    return false;
  }
  out.entries_before = static_cast<double>(
    metric(victim.metrics_port, "cachebus_entries{shard=\"0\"}"));
  // n1 goes away for 5 s while n0 publishes.
  auto t_away = steady_clock::now();
  std::vector<uint16_t> peers{nodes[0]->cluster_port, nodes[2]->cluster_port};
  if (cut)
    app::cut_process(victim.proc.pid(), victim.cluster_port, peers);
  else
    victim.proc.signal(SIGSTOP);
  pipelined(events, invalidate_req, [&](int, auto& h) {
    h.receive([](uint64_t) {}, [&](caf::error&) { ++failed; });
  });
  while (steady_clock::now() - t_away < 5s) {
    if (cut)
      app::cut_process(victim.proc.pid(), victim.cluster_port, peers);
    std::this_thread::sleep_for(50ms);
  }
  if (failed > 0) {
    why = std::to_string(failed) + " invalidations failed";
    return false;
  }
  auto t_back = steady_clock::now();
  if (!cut)
    victim.proc.signal(SIGCONT);
  // Back and caught up: in session with both, nothing being replayed, and
  // the last event's key gone.
  auto last_key = "user:" + std::to_string(events - 1);
  bool back = false;
  while (!back && steady_clock::now() - t_back < 30s) {
    back
      = metric(victim.metrics_port, "cachebus_cluster_peer_up{peer=\"n0\"}")
          == 1
        && metric(victim.metrics_port, "cachebus_cluster_peer_up{peer=\"n2\"}")
             == 1
        && metric(victim.metrics_port, "cachebus_replaying") <= 0
        && get_value(last_key) == "<miss>";
    if (!back)
      std::this_thread::sleep_for(20ms);
  }
  if (!back) {
    why = "n1 did not come back within 30 s";
    return false;
  }
  auto t_caught_up = steady_clock::now();
  out.rejoin_ms = us_since(t_back, t_caught_up) / 1000.0;
  out.entries_after = static_cast<double>(
    metric(victim.metrics_port, "cachebus_entries{shard=\"0\"}"));
  // The reader: every key once, a miss loads (and puts back). Invalidated
  // keys must miss.
  std::vector<std::string> got(n);
  pipelined(
    n,
    [&](int i) {
      return self->request(fe[1], 10s, caf::get_atom_v,
                           "user:" + std::to_string(i));
    },
    [&](int i, auto& h) {
      h.receive([&](const std::string& v) { got[i] = v; },
                [&](caf::error&) { got[i] = "<miss>"; });
    });
  std::vector<int> misses;
  for (int i = 0; i < n; ++i) {
    if (got[i] == "<miss>")
      misses.push_back(i);
    else if (i < events)
      out.stale += 1;
  }
  out.loads = static_cast<double>(misses.size());
  pipelined(
    static_cast<int>(misses.size()),
    [&](int k) { return put_req("user:" + std::to_string(misses[k])); },
    [&](int, auto& h) { h.receive([](uint64_t) {}, [](caf::error&) {}); });
  out.read_s = us_since(t_caught_up, steady_clock::now()) / 1e6;
  return true;
}

void run_variant(bool cut) {
  std::string name = cut ? "cluster_rejoin_cut" : scenario_name;
  auto bin = node_binary_or_skip(name);
  if (bin.empty())
    return;
  if (cut && geteuid() != 0) {
    report_skip(name, "cutting connections (ss -K) needs root");
    return;
  }
  rejoin_run ours, base;
  std::string why;
  if (!run_once(bin, true, cut, ours, why)
      || !run_once(bin, false, cut, base, why)) {
    report_skip(name, why);
    return;
  }
  auto note = std::to_string(entry_count()) + " entries, "
              + std::to_string(event_count())
              + " events missed over 5 s; baseline: --cachebus.replay=false";
  emit({name, "entries_dropped_on_rejoin",
        ours.entries_before - ours.entries_after, "entries",
        base.entries_before - base.entries_after, note});
  emit({name, "store_loads_after_rejoin", ours.loads, "loads", base.loads,
        "every key read once after the rejoin, each miss loaded"});
  emit({name, "stale_reads_after_rejoin", ours.stale, "reads", base.stale, ""});
  emit({name, "rejoin_ms", ours.rejoin_ms, "ms", base.rejoin_ms,
        "from SIGCONT (end of the cut) until caught up"});
  emit({name, "reader_s", ours.read_s, "s", base.read_s,
        "reading every key once and loading the misses; must stay below 10 s"});
}

registrar cluster_rejoin_reg{
  scenario_name,
  "a node SIGSTOPped for 5 s while 10k events flow, 100k entries cached: "
  "entries dropped and store loads on rejoin, replay vs "
  "--cachebus.replay=false",
  [] { run_variant(false); }};

registrar cluster_rejoin_cut_reg{
  "cluster_rejoin_cut",
  "as cluster_rejoin, with the node's connections cut for 5 s (ss -K, root) "
  "instead of SIGSTOP",
  [] { run_variant(true); }};

} // namespace

} // namespace cachebus::bench
