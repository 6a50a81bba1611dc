// Cluster scenarios: cachebus-node child processes on loopback.
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
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <hiredis.h>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"

#include "cachebus/actors/config.hpp"
#include "cachebus/actors/error.hpp"
#include "cachebus/actors/node_frontend.hpp"
#include "cachebus/actors/record_codec.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/child_process.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using app::child_process;
using app::find_executable;
using app::free_loopback_port;
using app::node_binary;
using app::node_child;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* scenario_name = "cluster_invalidation";
constexpr int warmup = 20;

int event_count() {
  return std::max(200, static_cast<int>(300 * scale()));
}

double us_since(steady_clock::time_point t0, steady_clock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

double pct(std::vector<double> xs, double p) {
  if (xs.empty())
    return NAN;
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(p * static_cast<double>(xs.size() - 1))];
}

void skip(const std::string& why) {
  std::cerr << "cachebus-bench: " << scenario_name << " skipped: " << why
            << "\n";
}

// -- Redis baseline
// -------------------------------------------------------------

struct redis_ctx {
  redisContext* c = nullptr;
  explicit redis_ctx(uint16_t port) {
    timeval tv{2, 0};
    c = redisConnectWithTimeout("127.0.0.1", port, tv);
  }
  ~redis_ctx() {
    if (c)
      redisFree(c);
  }
  bool ok() const { return c && !c->err; }
  redis_ctx(const redis_ctx&) = delete;
  redis_ctx& operator=(const redis_ctx&) = delete;
};

// Latencies (µs) of `n` PUBLISHes, each until both subscribers received it;
// empty on failure (`why` says why).
std::vector<double> redis_latencies(int n, std::string& why) {
  auto port = free_loopback_port();
  if (port == 0) {
    why = "no free loopback port for redis-server";
    return {};
  }
  child_process server{"redis-server",
                       {"--port", std::to_string(port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize",
                        "no"},
                       false};
  if (!server.running()) {
    why = server.error() + " (Debian: apt-get install redis-server)";
    return {};
  }
  std::unique_ptr<redis_ctx> pub;
  for (auto deadline = steady_clock::now() + 5s; steady_clock::now() < deadline;
       std::this_thread::sleep_for(10ms)) {
    pub = std::make_unique<redis_ctx>(port);
    if (!pub->ok())
      continue;
    auto r = static_cast<redisReply*>(redisCommand(pub->c, "PING"));
    bool up = r && r->type == REDIS_REPLY_STATUS;
    if (r)
      freeReplyObject(r);
    if (up)
      break;
    pub.reset();
  }
  if (!pub || !pub->ok()) {
    why
      = "redis-server did not answer PING on 127.0.0.1:" + std::to_string(port);
    return {};
  }
  constexpr int subs = 2;
  auto total = warmup + n;
  std::vector<std::vector<steady_clock::time_point>> recv(
    subs, std::vector<steady_clock::time_point>(total));
  std::mutex mtx;
  std::condition_variable cv;
  int subscribed = 0;
  int failed = 0;
  std::vector<int> got(subs, -1);
  std::vector<std::thread> threads;
  for (int s = 0; s < subs; ++s)
    threads.emplace_back([&, s] {
      redis_ctx sub{port};
      redisReply* r = nullptr;
      if (sub.ok())
        r = static_cast<redisReply*>(
          redisCommand(sub.c, "SUBSCRIBE cachebus-bench"));
      {
        std::lock_guard<std::mutex> g{mtx};
        if (r)
          ++subscribed;
        else
          ++failed;
      }
      cv.notify_all();
      if (!r)
        return;
      freeReplyObject(r);
      void* raw = nullptr;
      while (redisGetReply(sub.c, &raw) == REDIS_OK && raw) {
        auto t = steady_clock::now();
        auto m = static_cast<redisReply*>(raw);
        int idx = -2;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3
            && m->element[2]->type == REDIS_REPLY_STRING)
          idx = std::atoi(m->element[2]->str);
        freeReplyObject(m);
        if (idx < 0)
          break; // "stop"
        if (idx < total)
          recv[s][idx] = t;
        {
          std::lock_guard<std::mutex> g{mtx};
          got[s] = idx;
        }
        cv.notify_all();
      }
    });
  std::vector<double> lat;
  {
    std::unique_lock<std::mutex> g{mtx};
    cv.wait_for(g, 5s, [&] { return subscribed + failed == subs; });
  }
  if (subscribed == subs) {
    for (int i = 0; i < total; ++i) {
      auto t0 = steady_clock::now();
      auto r = static_cast<redisReply*>(
        redisCommand(pub->c, "PUBLISH cachebus-bench %d", i));
      if (!r) {
        why = "PUBLISH failed";
        break;
      }
      freeReplyObject(r);
      std::unique_lock<std::mutex> g{mtx};
      if (!cv.wait_for(g, 2s, [&] { return got[0] >= i && got[1] >= i; })) {
        why = "a subscriber did not receive a message within 2 s";
        break;
      }
      if (i >= warmup)
        lat.push_back(us_since(t0, std::max(recv[0][i], recv[1][i])));
    }
  } else {
    why = "SUBSCRIBE failed";
  }
  for (int s = 0; s < subs; ++s)
    if (auto r = static_cast<redisReply*>(
          redisCommand(pub->c, "PUBLISH cachebus-bench stop")))
      freeReplyObject(r);
  server.stop(); // also ends subscribers still blocked in redisGetReply
  for (auto& t : threads)
    t.join();
  if (!why.empty())
    return {};
  return lat;
}

// -- cachebus cluster
// -------------------------------------------------------------

struct rules_file {
  std::string path;
  rules_file() {
    char tmpl[] = "/tmp/cachebus-bench-rules-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
      return;
    close(fd);
    path = tmpl;
    std::ofstream{path} << "[users]\nkeys = user:{id}\n";
  }
  ~rules_file() {
    if (!path.empty())
      std::remove(path.c_str());
  }
};

// Connects to every node's client frontend; false (with `why`) if one is
// unreachable.
template <class Nodes>
bool connect_frontends(caf::actor_system& sys, const Nodes& nodes,
                       std::vector<node_frontend_actor>& fe, std::string& why) {
  for (auto& nd : nodes) {
    auto h = sys.middleman().remote_actor<node_frontend_actor>("127.0.0.1",
                                                               nd->client_port);
    if (!h) {
      why = "cannot connect to a node frontend: " + sys.render(h.error());
      return false;
    }
    fe.push_back(*h);
  }
  return true;
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
  rules_file rules;
  if (rules.path.empty()) {
    why = "cannot create a rules file in /tmp";
    return false;
  }
  std::vector<std::unique_ptr<node_child>> nodes;
  for (int k = 0; k < 3; ++k) {
    std::vector<std::string> args{"--cachebus.name=n" + std::to_string(k),
                                  "--cachebus.rules=" + rules.path,
                                  "--cachebus.shards=1",
                                  "--scheduler.max-threads=1",
                                  "--cachebus.heartbeat-interval=100ms",
                                  "--cachebus.peer-timeout=1s",
                                  "--metrics-port=0"};
    if (k > 0)
      args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                     + std::to_string(nodes[0]->cluster_port) + "\"]");
    args.insert(args.end(), sched.begin(), sched.end());
    nodes.push_back(std::make_unique<node_child>(bin, args));
    if (!nodes.back()->ready()) {
      auto& p = nodes.back()->proc;
      why = "node n" + std::to_string(k) + " did not get ready: "
            + (p.running() ? "no READY line within 20 s" : p.error());
      return false;
    }
  }
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
  auto bin = node_binary();
  if (bin.empty() || access(bin.c_str(), X_OK) != 0) {
    skip("cachebus-node not found at " + bin
         + " (build the cachebus-node target)");
    return;
  }
  if (find_executable("redis-server").empty()) {
    skip("redis-server not found on PATH (Debian: apt-get install "
         "redis-server)");
    return;
  }
  auto n = event_count();
  std::string why;
  auto redis = redis_latencies(n, why);
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

// -- cluster_stampede
// --------------------------------------------------------------

constexpr const char* stampede_name = "cluster_stampede";

struct stampede_run {
  std::vector<double> runs;    // loader runs per key (one per round)
  std::vector<double> latency; // us, per cold fetch
  int errors = 0;
};

// A temporary directory with the shared SQLite file and its rules.
struct store_dir {
  std::string path;
  store_dir() {
    char tmpl[] = "/tmp/cachebus-bench-store-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      return;
    path = tmpl;
    std::ofstream{path + "/rules.ini"} << "[users]\nkeys = user:{id}\n"
                                          "fields = name\n";
  }
  ~store_dir() {
    if (path.empty())
      return;
    for (auto f :
         {"/rules.ini", "/records.db", "/records.db-wal", "/records.db-shm"})
      std::remove((path + f).c_str());
    rmdir(path.c_str());
  }
  std::string db() const { return path + "/records.db"; }
};

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
                                  "--cachebus.rules=" + dir.path + "/rules.ini",
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
  auto bin = node_binary();
  if (bin.empty() || access(bin.c_str(), X_OK) != 0) {
    std::cerr << "cachebus-bench: " << stampede_name
              << " skipped: cachebus-node not found at " << bin << "\n";
    return;
  }
  auto rounds = std::max(5, static_cast<int>(20 * scale()));
  constexpr int per_node = 300;
  stampede_run ours, base;
  std::string why;
  {
    store_dir dir;
    if (dir.path.empty()
        || !stampede_cluster(bin, dir, true, rounds, per_node, ours, why)) {
      std::cerr << "cachebus-bench: " << stampede_name
                << " skipped (cluster): " << why << "\n";
      return;
    }
  }
  {
    store_dir dir;
    if (dir.path.empty()
        || !stampede_cluster(bin, dir, false, rounds, per_node, base, why)) {
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

registrar cluster_invalidation_reg{
  scenario_name,
  "3 cachebus-node processes: event on one -> applied on the other two, "
  "p50/p99 us vs Redis PUBLISH -> 2 subscribers",
  run_cluster_invalidation};

} // namespace

} // namespace cachebus::bench
