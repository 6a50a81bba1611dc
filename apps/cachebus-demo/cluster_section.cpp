#include "cluster_section.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/error.hpp"
#include "cachebus/actors/node_frontend.hpp"

extern char** environ;

namespace cachebus::demo {

namespace {

using namespace std::chrono_literals;

struct child {
  pid_t pid = -1;
  int out = -1;
  uint16_t cluster = 0;
  uint16_t client = 0;

  ~child() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 500; ++i) { // 5 s for a clean exit
        if (waitpid(pid, nullptr, WNOHANG) == pid) {
          pid = -1;
          break;
        }
        usleep(10000);
      }
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
    if (out >= 0)
      close(out);
  }
};

std::string node_binary() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  std::string self{buf, static_cast<size_t>(n)};
  auto dir = self.substr(0, self.rfind('/'));
  return dir + "/../cachebus-node/cachebus-node";
}

bool start(child& c, const std::string& bin, std::vector<std::string> args) {
  int fds[2];
  if (pipe(fds) != 0)
    return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> argv{const_cast<char*>(bin.c_str())};
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto rc = posix_spawn(&c.pid, bin.c_str(), &fa, nullptr, argv.data(),
                        environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  c.out = fds[0];
  if (rc != 0) {
    c.pid = -1;
    return false;
  }
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.out, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[256];
    auto n = read(c.out, buf, sizeof buf);
    if (n <= 0)
      return false;
    text.append(buf, static_cast<size_t>(n));
    auto at = text.find("READY ");
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      c.cluster = static_cast<uint16_t>(
        std::stoul(text.substr(text.find("cluster=", at) + 8)));
      c.client = static_cast<uint16_t>(
        std::stoul(text.substr(text.find("client=", at) + 7)));
      return true;
    }
  }
  return false;
}

} // namespace

bool run_cluster_section(console& out, caf::actor_system& sys, size_t nodes) {
  out.section("Cluster: " + std::to_string(nodes) + " node processes");
  auto bin = node_binary();
  if (access(bin.c_str(), X_OK) != 0) {
    out.line("cannot find cachebus-node at " + bin);
    return false;
  }
  auto rules_path = "/tmp/cachebus-demo-rules-" + std::to_string(getpid());
  std::ofstream{rules_path} << "[accounts]\nkeys = account:{id}, "
                               "account:{id}:profile\n";
  std::vector<std::unique_ptr<child>> kids;
  for (size_t i = 0; i < nodes; ++i) {
    std::vector<std::string> args{"--cachebus.name=node-" + std::to_string(i),
                                  "--cachebus.rules=" + rules_path,
                                  "--cachebus.shards=1",
                                  "--scheduler.max-threads=1"};
    if (i > 0)
      args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                     + std::to_string(kids[0]->cluster) + "\"]");
    kids.push_back(std::make_unique<child>());
    if (!start(*kids.back(), bin, args)) {
      out.line("node-" + std::to_string(i) + " did not start");
      std::remove(rules_path.c_str());
      return false;
    }
    out.line("node-" + std::to_string(i) + ": pid "
             + std::to_string(kids.back()->pid) + ", cluster port "
             + std::to_string(kids.back()->cluster));
  }
  std::vector<node_frontend_actor> fe;
  for (auto& k : kids) {
    auto h = sys.middleman().remote_actor<node_frontend_actor>("127.0.0.1",
                                                               k->client);
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
