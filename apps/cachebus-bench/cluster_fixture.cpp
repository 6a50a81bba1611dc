#include "cluster_fixture.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace cachebus::bench {

using std::chrono::steady_clock;

rules_file::rules_file() {
  char tmpl[] = "/tmp/cachebus-bench-rules-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0)
    return;
  close(fd);
  path = tmpl;
  std::ofstream{path} << "[users]\nkeys = user:{id}\n";
}

rules_file::~rules_file() {
  if (!path.empty())
    std::remove(path.c_str());
}

bool bench_cluster::start(const std::string& bin,
                          const std::vector<std::string>& extra,
                          std::string& why, bool resp) {
  if (rules.path.empty()) {
    why = "cannot create a rules file in /tmp";
    return false;
  }
  for (int k = 0; k < 3; ++k) {
    std::vector<std::string> args{"--cachebus.name=n" + std::to_string(k),
                                  "--cachebus.rules=" + rules.path,
                                  "--cachebus.shards=1",
                                  "--scheduler.max-threads=1",
                                  "--cachebus.heartbeat-interval=100ms",
                                  "--cachebus.peer-timeout=1s"};
    if (k > 0)
      args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                     + std::to_string(nodes[0]->cluster_port) + "\"]");
    args.insert(args.end(), extra.begin(), extra.end());
    nodes.push_back(std::make_unique<app::node_child>(bin, args));
    auto& nd = *nodes.back();
    if (!nd.ready() || (resp && nd.resp_port == 0)) {
      why = "node n" + std::to_string(k) + " did not get ready: "
            + (nd.proc.running() ? "no READY line (or no Redis port) within "
                                   "20 s"
                                 : nd.proc.error());
      return false;
    }
  }
  return true;
}

bench_cluster::~bench_cluster() {
  for (auto& nd : nodes)
    nd->proc.stop();
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

} // namespace cachebus::bench
