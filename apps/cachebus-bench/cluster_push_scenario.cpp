// Cluster scenario `cluster_push`: how fast an invalidation published on one
// node reaches the applications listening on the others, measured by a push
// signal, not by polling. Three cachebus-node processes with Redis ports. A
// client of node A sends PUBLISH cache:users <i> (an invalidation event: A
// applies it through its rules and publishes it to the cluster); a SUBSCRIBE
// client of B and one of C receive message <i> on cache:users once their
// node has applied the event. The baseline is a throwaway redis-server, in
// the same run, measured by the same code (pubsub_probe.hpp): PUBLISH on one
// connection, two SUBSCRIBE connections, one message in flight.
//
// Metrics (baseline and ratio against Redis):
//   push_p50_us, push_p99_us       one event in flight
//   events_per_s                   pipelined PUBLISHes (windows of 64),
//                                  until both subscribers read the last one
//   p99_us_at_half_rate            PUBLISHes paced at half of our
//                                  events_per_s (Redis: the same rate)
// CACHEBUS_BENCH_NODE_ARGS="--opt=v ..." adds arguments to every node (the
// notes say which), to compare settings.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cachebus/apps/common/child_process.hpp"
#include "cluster_fixture.hpp"
#include "pubsub_probe.hpp"
#include "redis_baseline.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

constexpr const char* scenario_name = "cluster_push";
constexpr const char* channel = "cache:users";
constexpr int warmup = 50;
constexpr int window = 64;

void skip(const std::string& why) {
  report_skip(scenario_name, why);
}

pubsub_ports ports_of(const bench_cluster& c) {
  return {c.nodes[0]->resp_port,
          {c.nodes[1]->resp_port, c.nodes[2]->resp_port}};
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (auto& a : args)
    out += (out.empty() ? "" : " ") + a;
  return out.empty() ? "defaults" : out;
}

void run_cluster_push() {
  auto bin = node_binary_or_skip(scenario_name);
  if (bin.empty())
    return;
  if (!redis_server_or_skip(scenario_name))
    return;
  auto n = std::max(300, static_cast<int>(1000 * scale()));
  auto bulk = std::max(2000, static_cast<int>(20000 * scale()));
  std::string why;
  uint16_t redis_port = 0;
  auto redis = start_redis_server(redis_port, why);
  if (!redis) {
    skip("Redis baseline failed: " + why);
    return;
  }
  pubsub_ports redis_ports{redis_port, {redis_port, redis_port}};
  auto redis_lat
    = pubsub_latencies(redis_ports, "cachebus-bench", warmup, n, why);
  auto redis_eps
    = redis_lat.empty()
        ? 0
        : pubsub_throughput(redis_ports, "cachebus-bench", bulk, window, why);
  if (redis_lat.empty() || redis_eps <= 0) {
    skip("Redis baseline failed: " + why);
    return;
  }
  std::vector<std::string> node_args;
  if (auto env = std::getenv("CACHEBUS_BENCH_NODE_ARGS")) {
    std::istringstream is{env};
    for (std::string w; is >> w;)
      node_args.push_back(w);
  }
  bench_cluster c;
  auto args = node_args;
  args.push_back("--cachebus.resp-port=0");
  if (!c.start(bin, args, why, true)) {
    skip("cachebus cluster: " + why);
    return;
  }
  auto lat = pubsub_latencies(ports_of(c), channel, warmup, n, why);
  if (lat.empty()) {
    skip("cachebus cluster: " + why);
    return;
  }
  std::ostringstream note;
  note << n << " events, one in flight: PUBLISH " << channel
       << " <i> on n0's Redis port -> message read by a SUBSCRIBE client "
          "of n1 and one of n2 (later of the two); 3 nodes, "
          "--scheduler.max-threads=1, "
       << joined(node_args)
       << "; baseline: redis-server, PUBLISH -> 2 SUBSCRIBE clients, same "
          "client code";
  emit({scenario_name, "push_p50_us", pct(lat, 0.5), "us", pct(redis_lat, 0.5),
        note.str()});
  emit({scenario_name, "push_p99_us", pct(lat, 0.99), "us",
        pct(redis_lat, 0.99), note.str()});
  auto eps = pubsub_throughput(ports_of(c), channel, bulk, window, why);
  if (eps <= 0) {
    skip("cachebus cluster throughput: " + why);
    return;
  }
  std::ostringstream tnote;
  tnote << bulk << " PUBLISHes on n0, pipelined in windows of " << window
        << ", until the subscribers of n1 and n2 read the last; baseline: "
           "redis-server, same client code";
  emit(
    {scenario_name, "events_per_s", eps, "events/s", redis_eps, tnote.str()});
  auto rate = eps / 2;
  auto paced_n = std::clamp(static_cast<int>(rate * 2), 1000, bulk);
  auto ours = pubsub_paced_latencies(ports_of(c), channel, rate, paced_n, why);
  auto theirs = ours.empty()
                  ? std::vector<double>{}
                  : pubsub_paced_latencies(redis_ports, "cachebus-bench", rate,
                                           paced_n, why);
  if (ours.empty() || theirs.empty()) {
    skip("paced latency: " + why);
    return;
  }
  std::ostringstream pnote;
  pnote << paced_n << " PUBLISHes on n0 paced at " << static_cast<int>(rate)
        << "/s (half of events_per_s), each until both subscribers read "
           "it; baseline: redis-server at the same rate";
  emit({scenario_name, "p99_us_at_half_rate", pct(ours, 0.99), "us",
        pct(theirs, 0.99), pnote.str()});
  emit({scenario_name, "p50_us_at_half_rate", pct(ours, 0.5), "us",
        pct(theirs, 0.5), pnote.str()});
  redis->stop();
}

registrar cluster_push_reg{
  scenario_name,
  "3 cachebus-node processes: PUBLISH cache:<resource> on one -> message to "
  "SUBSCRIBE clients of the other two, vs redis-server; latency and events/s",
  run_cluster_push};

} // namespace

} // namespace cachebus::bench
