#include "cluster_section.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/error.hpp"
#include "cachebus/actors/node_frontend.hpp"
#include "cachebus/apps/common/child_process.hpp"

namespace cachebus::demo {

using namespace std::chrono_literals;

bool run_cluster_section(console& out, caf::actor_system& sys, size_t nodes) {
  out.section("Cluster: " + std::to_string(nodes) + " node processes");
  auto bin = app::node_binary();
  if (access(bin.c_str(), X_OK) != 0) {
    out.line("cannot find cachebus-node at " + bin);
    return false;
  }
  auto rules_path = "/tmp/cachebus-demo-rules-" + std::to_string(getpid());
  std::ofstream{rules_path} << "[accounts]\nkeys = account:{id}, "
                               "account:{id}:profile\n";
  std::vector<std::unique_ptr<app::node_child>> kids;
  for (size_t i = 0; i < nodes; ++i) {
    std::vector<std::string> args{"--cachebus.name=node-" + std::to_string(i),
                                  "--cachebus.rules=" + rules_path,
                                  "--cachebus.shards=1",
                                  "--scheduler.max-threads=1"};
    if (i > 0)
      args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                     + std::to_string(kids[0]->cluster_port) + "\"]");
    kids.push_back(std::make_unique<app::node_child>(bin, args));
    if (!kids.back()->ready()) {
      out.line("node-" + std::to_string(i) + " did not start");
      std::remove(rules_path.c_str());
      return false;
    }
    out.line("node-" + std::to_string(i) + ": pid "
             + std::to_string(kids.back()->proc.pid()) + ", cluster port "
             + std::to_string(kids.back()->cluster_port));
  }
  std::vector<node_frontend_actor> fe;
  for (auto& k : kids) {
    auto h = sys.middleman().remote_actor<node_frontend_actor>("127.0.0.1",
                                                               k->client_port);
    if (!h) {
      out.line("cannot reach a node's frontend");
      std::remove(rules_path.c_str());
      return false;
    }
    fe.push_back(*h);
  }
  caf::scoped_actor self{sys};
  auto put = [&](size_t i, const std::string& key) {
    put_request req;
    req.key = key;
    req.value = "cached on node-" + std::to_string(i);
    self->request(fe[i], 5s, caf::put_atom_v, req)
      .receive([](uint64_t) {}, [](caf::error&) {});
  };
  auto cached = [&](size_t i, const std::string& key) {
    bool hit = false;
    self->request(fe[i], 5s, caf::get_atom_v, key)
      .receive([&](const std::string&) { hit = true; }, [](caf::error&) {});
    return hit;
  };
  auto publish = [&](const std::string& id) {
    invalidated ev;
    ev.resource = "accounts";
    ev.id = id;
    self->request(fe[0], 5s, ev).receive([](uint64_t) {}, [](caf::error&) {});
  };
  // Wait until every session is up: a probe published on node-0 must
  // reach the others.
  bool linked = false;
  for (int attempt = 0; attempt < 100 && !linked; ++attempt) {
    auto id = "probe" + std::to_string(attempt);
    for (size_t i = 1; i < nodes; ++i)
      put(i, "account:" + id);
    publish(id);
    std::this_thread::sleep_for(50ms);
    linked = true;
    for (size_t i = 1; i < nodes; ++i)
      linked = linked && !cached(i, "account:" + id);
  }
  for (size_t i = 0; i < nodes; ++i) {
    put(i, "account:1");
    put(i, "account:1:profile");
  }
  auto t0 = std::chrono::steady_clock::now();
  publish("1");
  size_t cleared = 0;
  while (std::chrono::steady_clock::now() - t0 < 5s) {
    cleared = 0;
    for (size_t i = 1; i < nodes; ++i)
      cleared += cached(i, "account:1") ? 0 : 1;
    if (cleared == nodes - 1)
      break;
    std::this_thread::sleep_for(1ms);
  }
  auto ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - t0)
              .count();
  char line[160];
  std::snprintf(line, sizeof line,
                "an update of accounts/1 on node-0 cleared the copies on %zu "
                "of %zu other nodes within %.1f ms",
                cleared, nodes - 1, ms);
  out.line(line);
  out.record("cluster", "other nodes cleared by one update",
             static_cast<double>(cleared), "nodes");
  out.record("cluster", "update -> all copies gone (incl. polling)", ms, "ms");
  kids.clear(); // SIGTERM each by pid, wait
  out.line("stopped all " + std::to_string(nodes) + " node processes");
  std::remove(rules_path.c_str());
  return cleared == nodes - 1;
}

} // namespace cachebus::demo
