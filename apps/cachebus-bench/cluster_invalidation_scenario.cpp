// Cluster scenario: cachebus-node child processes on loopback.
//
// `cluster_invalidation`: three nodes; an `invalidated` event is sent to A's
// frontend, which applies its rules and publishes it to the cluster; we
// measure until B and C have both dropped the key. The baseline is Redis
// PUBLISH -> SUBSCRIBE delivery to two subscribers (a throw-away redis-server
// on a free loopback port, hiredis clients), measured in the same run the same
// way: one event in flight, latency = the later of the two receipts.
//
// Tuning (measured here, 2 cores, nodes with --scheduler.max-threads=1): a
// middleman round trip costs ~250 us with CAF's work-stealing defaults because
// an idle worker spends its first ~50 ms in the "moderate" phase, polling
// with sleep_for(50us) (~100 us with timer slack): every hop from the
// middleman thread to a worker waits for the next poll. With
// --work-stealing.moderate-poll-attempts=0 an idle worker goes from the short
// aggressive spin straight to its condition variable, which enqueue notifies:
// get rtt ~80 us, event latency p50 ~800 -> ~500 us. --scheduler.policy=sharing
// (condition variable too) gives about the same; --middleman.workers=0 alone
// does nothing measurable; TCP_NODELAY is already set by CAF 0.17.6 (strace).
// The headline metrics use the tuned setting; *_caf_default repeat it with
// CAF's defaults.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_frontend.hpp"

#include "cachebus/apps/common/child_process.hpp"
#include "cluster_fixture.hpp"
#include "redis_baseline.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* scenario_name = "cluster_invalidation";
constexpr int warmup = 20;

int event_count() {
  return std::max(200, static_cast<int>(300 * scale()));
}

void skip(const std::string& why) {
  report_skip(scenario_name, why);
}

struct cluster_run {
  std::vector<double> latency;   // µs, per event
  std::vector<double> probe_rtt; // µs, a get to B with nothing else going on
  int timeouts = 0;
};

// The measuring actor: per event, sends the event to A and keeps one get in
// flight to each of B and C until each answers "miss"; the event's latency
// is from just before the send to A until the later of the two misses
// arrived. Then the next event. Reports to `sink` when done.
struct probe_state {
  node_frontend_actor a, b, c;
  int total = 0;
  int i = 0;
  steady_clock::time_point t0;
  bool published = false;
  std::array<bool, 2> missed{};
  std::array<steady_clock::time_point, 2> miss_at{};
  cluster_run out;
};

void next_event(caf::event_based_actor* self, std::shared_ptr<probe_state> st,
                caf::actor sink);

void check_done(caf::event_based_actor* self, std::shared_ptr<probe_state> st,
                caf::actor sink) {
  if (!st->published || !st->missed[0] || !st->missed[1])
    return;
  if (st->i >= warmup)
    st->out.latency.push_back(
      us_since(st->t0, std::max(st->miss_at[0], st->miss_at[1])));
  ++st->i;
  next_event(self, st, sink);
}

void probe_get(caf::event_based_actor* self, std::shared_ptr<probe_state> st,
               caf::actor sink, int which, int event) {
  auto& fe = which == 0 ? st->b : st->c;
  auto key = "user:ev" + std::to_string(event);
  self->request(fe, 2s, caf::get_atom_v, key)
    .then(
      [=](const std::string&) {
        if (st->i != event)
          return;
        if (steady_clock::now() - st->t0 > 2s) {
          ++st->out.timeouts;
          st->missed[which] = true;
          st->miss_at[which] = steady_clock::now();
          check_done(self, st, sink);
          return;
        }
        probe_get(self, st, sink, which, event);
      },
      [=](caf::error& err) {
        if (st->i != event)
          return;
        if (!is(err, errc::miss))
          ++st->out.timeouts;
        st->missed[which] = true;
        st->miss_at[which] = steady_clock::now();
        check_done(self, st, sink);
      });
}

void next_event(caf::event_based_actor* self, std::shared_ptr<probe_state> st,
                caf::actor sink) {
  if (st->i == st->total) {
    self->send(sink, std::move(st->out.latency), st->out.timeouts);
    self->quit();
    return;
  }
  auto event = st->i;
  st->published = false;
  st->missed = {false, false};
  invalidated ev;
  ev.resource = "users";
  ev.id = "ev" + std::to_string(event);
  st->t0 = steady_clock::now();
  self->request(st->a, 2s, std::move(ev))
    .then(
      [=](uint64_t) {
        st->published = true;
        check_done(self, st, sink);
      },
      [=](caf::error&) {
        ++st->out.timeouts;
        st->published = true;
        check_done(self, st, sink);
      });
  probe_get(self, st, sink, 0, event);
  probe_get(self, st, sink, 1, event);
}

// Splits "a b c" into words.
std::vector<std::string> words(const std::string& s) {
  std::istringstream is{s};
  std::vector<std::string> out;
  for (std::string w; is >> w;)
    out.push_back(w);
  return out;
}

// Runs the three-node measurement with `sched` added to every node's
// arguments and applied to the bench's own actor system (its poller is on the
// measured path). Returns false (with `why`) on failure.
bool cluster_latencies(const std::string& bin,
                       const std::vector<std::string>& sched, int n,
                       cluster_run& out, std::string& why) {
  bench_cluster cluster;
  auto extra = sched;
  extra.push_back("--metrics-port=0");
  if (!cluster.start(bin, extra, why))
    return false;
  auto& nodes = cluster.nodes;
  config cfg;
  std::vector<std::string> own{"--scheduler.max-threads=1"};
  for (auto& a : sched)
    if (a.rfind("--scheduler.", 0) == 0 || a.rfind("--work-stealing.", 0) == 0
        || a.rfind("--middleman.", 0) == 0)
      own.push_back(a);
  if (auto err = cfg.parse(own); err) {
    why = "bad scheduler arguments";
    return false;
  }
  caf::actor_system sys{cfg};
  std::vector<node_frontend_actor> fe;
  if (!connect_frontends(sys, nodes, fe, why))
    return false;
  caf::scoped_actor self{sys};
  auto put = [&](const node_frontend_actor& h, const std::string& key) {
    put_request req;
    req.key = key;
    req.value = "v";
    bool ok = false;
    self->request(h, 5s, caf::put_atom_v, req)
      .receive([&](uint64_t) { ok = true; }, [](caf::error&) {});
    return ok;
  };
  auto get_miss = [&](const node_frontend_actor& h, const std::string& key) {
    bool miss = false;
    self->request(h, 5s, caf::get_atom_v, key)
      .receive([](const std::string&) {},
               [&](caf::error& err) { miss = is(err, errc::miss); });
    return miss;
  };
  // Wait until A's events reach both B and C (the sessions come up
  // asynchronously after READY).
  bool linked = false;
  for (int p = 0; p < 200 && !linked; ++p) {
    auto id = "probe" + std::to_string(p);
    put(fe[1], "user:" + id);
    put(fe[2], "user:" + id);
    invalidated ev;
    ev.resource = "users";
    ev.id = id;
    self->request(fe[0], 5s, ev).receive([](uint64_t) {}, [](caf::error&) {});
    for (int j = 0; j < 10 && !linked; ++j) {
      linked = get_miss(fe[1], "user:" + id) && get_miss(fe[2], "user:" + id);
      if (!linked)
        std::this_thread::sleep_for(20ms);
    }
  }
  if (!linked) {
    why = "events from n0 never reached n1 and n2";
    return false;
  }
  auto total = warmup + n;
  for (int i = 0; i < total; ++i)
    if (!put(fe[1], "user:ev" + std::to_string(i))
        || !put(fe[2], "user:ev" + std::to_string(i))) {
      why = "put to a node frontend failed";
      return false;
    }
  // The probe cost alone: a get round trip to B, nothing else in flight.
  for (int i = 0; i < n; ++i) {
    auto t0 = steady_clock::now();
    self->request(fe[1], 5s, caf::get_atom_v, std::string{"user:ev0"})
      .receive([](const std::string&) {}, [](caf::error&) {});
    out.probe_rtt.push_back(us_since(t0, steady_clock::now()));
  }
  auto st = std::make_shared<probe_state>();
  st->a = fe[0];
  st->b = fe[1];
  st->c = fe[2];
  st->total = total;
  auto sink = caf::actor_cast<caf::actor>(self);
  sys.spawn([st, sink](caf::event_based_actor* p) { next_event(p, st, sink); });
  bool done = false;
  self->receive(
    [&](std::vector<double>& lat, int timeouts) {
      out.latency = std::move(lat);
      out.timeouts = timeouts;
      done = true;
    },
    caf::after(std::chrono::seconds(30 + total * 3)) >> [] {});
  if (!done) {
    why = "the measurement did not finish";
    return false;
  }
  for (auto& nd : nodes)
    nd->proc.stop();
  return true;
}

struct setting {
  std::string name;
  std::vector<std::string> args;
};

void run_cluster_invalidation() {
  auto bin = node_binary_or_skip(scenario_name);
  if (bin.empty())
    return;
  if (!redis_server_or_skip(scenario_name))
    return;
  auto n = event_count();
  std::string why;
  auto redis = redis_latencies(warmup, n, why);
  if (redis.empty()) {
    skip("Redis baseline failed: " + why);
    return;
  }
  auto redis_p50 = pct(redis, 0.5);
  auto redis_p99 = pct(redis, 0.99);
  // The first setting gives the headline metrics; the others are emitted with
  // a suffix for comparison. CACHEBUS_BENCH_NODE_ARGS replaces the tuned one.
  std::vector<setting> settings{
    {"tuned", {"--work-stealing.moderate-poll-attempts=0"}},
    // cachebus::config now applies the tuned value itself, so CAF's own
    // default (500 moderate polls) must be passed explicitly.
    {"caf_default", {"--work-stealing.moderate-poll-attempts=500"}},
  };
  if (auto env = std::getenv("CACHEBUS_BENCH_NODE_ARGS"))
    settings[0] = {"env", words(env)};
  for (size_t s = 0; s < settings.size(); ++s) {
    cluster_run run;
    if (!cluster_latencies(bin, settings[s].args, n, run, why)) {
      skip("cachebus cluster (" + settings[s].name + "): " + why);
      return;
    }
    std::string args;
    for (auto& a : settings[s].args)
      args += (args.empty() ? "" : " ") + a;
    if (args.empty())
      args = "CAF defaults";
    std::ostringstream note;
    note << n << " events, one in flight; sent to n0's frontend, latency "
         << "until gets polled on n1 and n2 (one in flight each) both miss; "
         << "includes the event's request hop to n0 and up to one probe round "
         << "trip (probe get rtt p50 "
         << static_cast<int>(pct(run.probe_rtt, 0.5))
         << " us); nodes --scheduler.max-threads=1 " << args
         << " (bench too; *_caf_default: CAF's work-stealing defaults, where "
         << "idle workers poll with 50 us sleeps); baseline: Redis PUBLISH -> "
            "2 SUBSCRIBE clients "
         << "(hiredis), later receipt; p50/p99 " << static_cast<int>(redis_p50)
         << "/" << static_cast<int>(redis_p99) << " us";
    if (run.timeouts > 0)
      note << "; " << run.timeouts << " probes timed out or failed";
    auto suffix = s == 0 ? std::string{} : "_" + settings[s].name;
    emit({scenario_name, "latency_p50_us" + suffix, pct(run.latency, 0.5), "us",
          redis_p50, note.str()});
    emit({scenario_name, "latency_p99_us" + suffix, pct(run.latency, 0.99),
          "us", redis_p99, note.str()});
  }
}

registrar cluster_invalidation_reg{
  scenario_name,
  "3 cachebus-node processes: event on one -> applied on the other two, "
  "p50/p99 us vs Redis PUBLISH -> 2 subscribers",
  run_cluster_invalidation};

} // namespace

} // namespace cachebus::bench
