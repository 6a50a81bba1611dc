// What the cluster scenarios (cluster_invalidation, cluster_push,
// cluster_rejoin, cluster_stampede, resp_tracking) share: a rules file and a
// three-node cluster, connecting the bench's own actor system to every
// node's client frontend, and the clock and percentile helpers they (and
// the Redis baseline) measure with.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"

#include "cachebus/actors/node/node_frontend.hpp"
#include "cachebus/apps/common/child_process.hpp"

#include "requirements.hpp"

namespace cachebus::bench {

/// A temporary rules file with one resource, `users` (keys = user:{id});
/// removed by the destructor. `path` is empty if it could not be created.
struct rules_file {
  std::string path;
  rules_file();
  ~rules_file();
  rules_file(const rules_file&) = delete;
  rules_file& operator=(const rules_file&) = delete;
};

/// Three cachebus-node processes on loopback, n1 and n2 joined through n0,
/// each started with --cachebus.name=nK, the rules file's path,
/// --cachebus.shards=1, --scheduler.max-threads=1,
/// --cachebus.heartbeat-interval=100ms and --cachebus.peer-timeout=1s,
/// then `extra`. The destructor stops them.
struct bench_cluster {
  rules_file rules;
  std::vector<std::unique_ptr<app::node_child>> nodes;

  /// False (with `why`) if a node did not say READY within 20 s, or (with
  /// `resp`) has no Redis port.
  bool start(const std::string& bin, const std::vector<std::string>& extra,
             std::string& why, bool resp = false);
  ~bench_cluster();
};

/// Microseconds from `t0` to `t1`.
double us_since(std::chrono::steady_clock::time_point t0,
                std::chrono::steady_clock::time_point t1);

/// Element floor(p * (size - 1)) of `xs` sorted (p in [0, 1]); NAN if empty.
double pct(std::vector<double> xs, double p);

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

} // namespace cachebus::bench
