// resp: redis-benchmark (Debian redis-tools) drives GET and SET with 50
// clients, without and with pipelining (-P 16), against a cachebus-node with
// its Redis port and against a throwaway redis-server on the same machine in
// the same run. Each configuration runs `reps` times alternately on the two
// servers; the medians of requests per second and of p50 latency (from
// redis-benchmark's --csv) are emitted, with Redis as the baseline.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cachebus/apps/common/child_process.hpp"

#include "requirements.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using app::child_process;
using app::node_child;
using namespace std::chrono_literals;

constexpr const char* resp_name = "resp";

// Runs `cmd` with the shell; its standard output, empty on failure.
std::string shell(const std::string& cmd) {
  std::string out;
  if (auto* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    if (pclose(f) != 0)
      return {};
  }
  return out;
}

struct bench_row {
  double rps = 0;
  double p50_ms = 0;
};

// redis-benchmark --csv: a header line, then one quoted line per test:
// "SET","97087.38","0.287","0.080","0.279",... (test, rps, avg, min, p50).
std::map<std::string, bench_row> parse_csv(const std::string& text) {
  std::map<std::string, bench_row> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cols;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted) {
        cols.push_back(cell);
        cell.clear();
      } else if (c != '\r')
        cell += c;
    }
    cols.push_back(cell);
    if (cols.size() < 5 || cols[0] == "test")
      continue;
    bench_row r;
    r.rps = std::strtod(cols[1].c_str(), nullptr);
    r.p50_ms = std::strtod(cols[4].c_str(), nullptr);
    out[cols[0]] = r;
  }
  return out;
}

std::map<std::string, bench_row> run_benchmark(uint16_t port, int n,
                                               int pipeline) {
  std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port)
                    + " -t get,set -n " + std::to_string(n) + " -c 50 --csv";
  if (pipeline > 1)
    cmd += " -P " + std::to_string(pipeline);
  return parse_csv(shell(cmd + " 2>/dev/null"));
}

bool answers_ping(uint16_t port) {
  return shell("redis-cli -h 127.0.0.1 -p " + std::to_string(port)
               + " PING 2>/dev/null")
         == "PONG\n";
}

void run_resp() {
  if (app::find_executable("redis-benchmark").empty()
      || app::find_executable("redis-server").empty()
      || app::find_executable("redis-cli").empty()) {
    std::cerr << "cachebus-bench: " << resp_name
              << " skipped: needs redis-benchmark, redis-cli and "
                 "redis-server (Debian redis-tools, redis-server)\n";
    return;
  }
  auto bin = node_binary_or_skip(resp_name);
  if (bin.empty())
    return;
  node_child node{bin, {"--cachebus.name=bench", "--cachebus.resp-port=0"}};
  if (!node.ready() || node.resp_port == 0) {
    std::cerr << "cachebus-bench: " << resp_name
              << " skipped: cachebus-node did not get ready: "
              << node.proc.error() << "\n";
    return;
  }
  auto redis_port = app::free_loopback_port();
  child_process redis{"redis-server",
                      {"--port", std::to_string(redis_port), "--bind",
                       "127.0.0.1", "--save", "", "--appendonly", "no",
                       "--daemonize", "no"},
                      false};
  bool up = false;
  for (int i = 0; i < 200 && redis.running() && !up; ++i) {
    up = answers_ping(redis_port);
    if (!up)
      std::this_thread::sleep_for(25ms);
  }
  if (!up) {
    std::cerr << "cachebus-bench: " << resp_name
              << " skipped: redis-server did not answer PING\n";
    return;
  }
  auto n = std::max(10'000, static_cast<int>(100'000 * scale()));
  constexpr int reps = 3;
  for (int pipeline : {1, 16}) {
    std::map<std::string, std::vector<double>> ours_rps, ours_p50, base_rps,
      base_p50;
    for (int rep = 0; rep < reps; ++rep) {
      for (auto& [test, r] : run_benchmark(node.resp_port, n, pipeline)) {
        ours_rps[test].push_back(r.rps);
        ours_p50[test].push_back(r.p50_ms);
      }
      for (auto& [test, r] : run_benchmark(redis_port, n, pipeline)) {
        base_rps[test].push_back(r.rps);
        base_p50[test].push_back(r.p50_ms);
      }
    }
    auto note = "redis-benchmark -t get,set -n " + std::to_string(n) + " -c 50"
                + (pipeline > 1 ? " -P 16" : "") + "; median of "
                + std::to_string(reps)
                + " alternating runs; baseline: redis-server "
                  "(--save '' --appendonly no) on the same machine";
    for (auto* test : {"SET", "GET"}) {
      if (ours_rps[test].empty() || base_rps[test].empty()) {
        std::cerr << "cachebus-bench: " << resp_name << ": no " << test
                  << " result from redis-benchmark\n";
        continue;
      }
      std::string name = test;
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      auto suffix = pipeline > 1 ? "_c50_P16" : "_c50";
      emit({resp_name, name + "_rps" + suffix, median(ours_rps[test]),
            "requests/s", median(base_rps[test]), note});
      emit({resp_name, name + "_p50" + suffix, median(ours_p50[test]), "ms",
            median(base_p50[test]), note});
    }
  }
}

registrar resp_reg{resp_name,
                   "redis-benchmark GET/SET, 50 clients, with and without "
                   "-P 16, against cachebus-node's Redis port and "
                   "redis-server",
                   run_resp};

} // namespace

} // namespace cachebus::bench
