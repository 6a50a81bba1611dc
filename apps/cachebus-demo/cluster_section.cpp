#include "cluster_section.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <thread>
#include <unistd.h>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/apps/common/child_process.hpp"
#include "cachebus/apps/common/temp_dir.hpp"

namespace cachebus::demo {

using namespace std::chrono_literals;

bool run_cluster_section(console& out, caf::actor_system& sys, size_t nodes) {
  out.section("Cluster: " + std::to_string(nodes)
              + " node processes over one SQLite store");
  auto bin = app::node_binary();
  if (access(bin.c_str(), X_OK) != 0) {
    out.line("cannot find cachebus-node at " + bin);
    return false;
  }
  // The store and the rules, removed however the section ends (after the
  // node processes: declared before them).
  std::optional<app::temp_dir> dir;
  try {
    dir.emplace("cachebus-demo");
  } catch (const std::exception& e) {
    out.line(e.what());
    return false;
  }
  auto rules_path = dir->file("rules.ini");
  std::ofstream{rules_path} << "[accounts]\nkeys = account:{id}, "
                               "account:{id}:profile\nfields = owner, "
                               "balance\n";
  std::vector<std::unique_ptr<app::node_child>> kids;
  for (size_t i = 0; i < nodes; ++i) {
    std::vector<std::string> args{
      "--cachebus.name=node-" + std::to_string(i),
      "--cachebus.rules=" + rules_path,
      "--cachebus.store=sqlite:" + dir->file("accounts.db"),
      "--cachebus.shards=1", "--scheduler.max-threads=1"};
    if (i > 0)
      args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                     + std::to_string(kids[0]->cluster_port) + "\"]");
    kids.push_back(std::make_unique<app::node_child>(bin, args));
    if (!kids.back()->ready()) {
      out.line("node-" + std::to_string(i)
               + " did not start: " + kids.back()->proc.output());
      return false;
    }
    out.line("node-" + std::to_string(i) + ": pid "
             + std::to_string(kids.back()->proc.pid()) + ", cluster port "
             + std::to_string(kids.back()->cluster_port));
  }
  std::vector<record_frontend_actor> fe;
  for (auto& k : kids) {
    auto h = sys.middleman().remote_actor<record_frontend_actor>(
      "127.0.0.1", k->client_port);
    if (!h) {
      out.line("cannot reach a node's frontend");
      return false;
    }
    fe.push_back(*h);
  }
  caf::scoped_actor self{sys};
  auto update = [&](const std::string& id, const std::string& balance) {
    uint64_t version = 0;
    self
      ->request(fe[0], 5s, caf::update_atom_v, std::string{"accounts"}, id,
                stores::field_map{{"owner", "ada"}, {"balance", balance}})
      .receive([&](uint64_t v) { version = v; }, [](caf::error&) {});
    return version;
  };
  auto fetch = [&](size_t i, const std::string& key) {
    std::string value;
    self->request(fe[i], 5s, fetch_atom_v, key)
      .receive([&](std::string& v) { value = std::move(v); },
               [](caf::error&) {});
    return value;
  };
  auto cached = [&](size_t i, const std::string& key) {
    std::string value;
    self->request(fe[i], 5s, caf::get_atom_v, key)
      .receive([&](std::string& v) { value = std::move(v); },
               [](caf::error&) {});
    return value;
  };
  auto loads = [&] {
    uint64_t total = 0;
    for (auto& f : fe)
      self->request(f, 5s, lock_stats_atom_v)
        .receive([&](const lock_stats& x) { total += x.grants; },
                 [](caf::error&) {});
    return total;
  };
  auto members = [&](size_t i) {
    uint64_t n = 0;
    self->request(fe[i], 5s, lock_stats_atom_v)
      .receive([&](const lock_stats& x) { n = x.members; }, [](caf::error&) {});
    return n;
  };
  // Wait until every node's lock manager knows all the others (the bridges'
  // sessions are up).
  auto t_link = std::chrono::steady_clock::now();
  bool linked = false;
  while (!linked && std::chrono::steady_clock::now() - t_link < 10s) {
    linked = true;
    for (size_t i = 0; i < nodes; ++i)
      linked = linked && members(i) == nodes;
    if (!linked)
      std::this_thread::sleep_for(10ms);
  }
  if (!linked) {
    out.line("the nodes did not link within 10 s");
    return false;
  }
  // Cluster-wide single flight: 100 concurrent cold fetches per node.
  update("2", "100");
  auto before = loads();
  constexpr int per_node = 100;
  int answered = 0;
  for (int k = 0; k < per_node; ++k)
    for (auto& f : fe)
      self->send(f, fetch_atom_v, std::string{"account:2"});
  for (size_t n = 0; n < per_node * nodes; ++n)
    self->receive([&](const std::string&) { ++answered; }, [](caf::error&) {},
                  caf::after(10s) >> [] {});
  auto store_reads = loads() - before;
  char line[200];
  std::snprintf(line, sizeof line,
                "%d concurrent cold fetches of account:2 on %zu nodes: %d "
                "answered, %llu store read(s)",
                per_node * static_cast<int>(nodes), nodes, answered,
                static_cast<unsigned long long>(store_reads));
  out.line(line);
  out.record("cluster", "store reads for 100 cold fetches per node",
             static_cast<double>(store_reads), "reads");
  // Write-through: every node caches account:1, node-0 updates it.
  update("1", "10");
  for (size_t i = 0; i < nodes; ++i)
    fetch(i, "account:1");
  auto t0 = std::chrono::steady_clock::now();
  auto version = update("1", "20");
  size_t fresh = 0;
  while (std::chrono::steady_clock::now() - t0 < 5s) {
    fresh = 0;
    for (size_t i = 1; i < nodes; ++i) {
      // The old copy must be gone: a miss, or a re-fetched new version.
      auto v = cached(i, "account:1");
      fresh
        += v.empty() || fetch(i, "account:1").find("20") != std::string::npos
             ? 1
             : 0;
    }
    if (fresh == nodes - 1)
      break;
    std::this_thread::sleep_for(1ms);
  }
  auto ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - t0)
              .count();
  std::snprintf(line, sizeof line,
                "a write-through of accounts/1 (version %llu) on node-0: the "
                "other %zu nodes serve the new balance within %.1f ms",
                static_cast<unsigned long long>(version), nodes - 1, ms);
  out.line(line);
  out.record("cluster", "other nodes serving the update",
             static_cast<double>(fresh), "nodes");
  out.record("cluster", "write-through -> new value on all nodes", ms, "ms");
  kids.clear(); // SIGTERM each by pid, wait
  out.line("stopped all " + std::to_string(nodes) + " node processes");
  return fresh == nodes - 1 && store_reads == 1
         && answered == per_node * static_cast<int>(nodes);
}

} // namespace cachebus::demo
