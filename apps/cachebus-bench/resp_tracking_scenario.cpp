// Cluster scenario `resp_tracking`: the latency of a client-side caching
// invalidation across nodes. Three cachebus-node processes with Redis ports;
// a RESP3 client of node B has CLIENT TRACKING ON and has read key k (so B
// holds it and tracks it); a client of node A sends DEL k (an invalidation:
// applied on A, published to the cluster). Latency: from just before A's
// DEL is written to the socket until B's client has read the whole
// `>2 invalidate [k]` push. One event in flight; plain blocking sockets
// with TCP_NODELAY on both clients (no client library in the path).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <arpa/inet.h>

#include "cachebus/apps/common/child_process.hpp"
#include "cluster_fixture.hpp"
#include "scenario.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* scenario_name = "resp_tracking";
constexpr int warmup = 20;

void skip(const std::string& why) {
  report_skip(scenario_name, why);
}

// One blocking RESP connection on loopback.
struct conn {
  int fd = -1;
  std::string in;

  explicit conn(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      fd = -1;
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~conn() {
    if (fd >= 0)
      ::close(fd);
  }
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;

  bool send(const std::string& s) {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL)
           == static_cast<ssize_t>(s.size());
  }

  // Reads until the buffer holds `what`; consumes through it.
  bool expect(const std::string& what) {
    char buf[4096];
    for (;;) {
      if (auto i = in.find(what); i != std::string::npos) {
        in.erase(0, i + what.size());
        return true;
      }
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        return false;
      in.append(buf, static_cast<size_t>(n));
    }
  }
};

std::string cmd(std::initializer_list<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args)
    out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

std::string push_of(const std::string& key) {
  return ">2\r\n$10\r\ninvalidate\r\n*1\r\n$" + std::to_string(key.size())
         + "\r\n" + key + "\r\n";
}

bool run(const std::string& bin, int n, std::vector<double>& lat,
         std::string& why) {
  bench_cluster c;
  if (!c.start(bin, {"--cachebus.resp-port=0"}, why, true))
    return false;
  auto& nodes = c.nodes;
  conn a{nodes[0]->resp_port};
  conn b{nodes[1]->resp_port};
  conn writer{nodes[1]->resp_port};
  if (a.fd < 0 || b.fd < 0 || writer.fd < 0) {
    why = "cannot connect to the Redis ports";
    return false;
  }
  if (!b.send(cmd({"HELLO", "3"})) || !b.expect("modules")
      || !b.expect("*0\r\n") || !b.send(cmd({"CLIENT", "TRACKING", "ON"}))
      || !b.expect("+OK\r\n")) {
    why = "HELLO 3 / CLIENT TRACKING ON failed on n1";
    return false;
  }
  constexpr int probes = 100;
  auto key_of = [](int i) {
    return i < 0 ? "probe" + std::to_string(-i) : "k" + std::to_string(i);
  };
  // Every key is on B before tracking reads it. A write's notification
  // reaches the tracking table after the write, in order: a key written
  // right before the tracking client reads it can get a (harmless, and
  // correct) push for that write instead of the one measured. So the keys
  // are written first, and then a barrier: the tracking client reads a
  // missing key, the writer creates it, and its push says that every
  // earlier write's notification was delivered.
  std::string fill;
  for (int i = -probes; i < warmup + n; ++i)
    fill += cmd({"SET", key_of(i), "v"});
  if (!writer.send(fill)) {
    why = "SET failed on n1";
    return false;
  }
  for (int i = -probes; i < warmup + n; ++i)
    if (!writer.expect("+OK\r\n")) {
      why = "SET failed on n1";
      return false;
    }
  if (!b.send(cmd({"GET", "barrier"})) || !b.expect("_\r\n")
      || !writer.send(cmd({"SET", "barrier", "v"})) || !writer.expect("+OK\r\n")
      || !b.expect(push_of("barrier"))) {
    why = "no push for a key created on n1 after its tracking client read it";
    return false;
  }
  // One event: B's tracking client reads `key` (B holds it), A deletes
  // it; returns the push latency in us, or a negative number if no push
  // came.
  auto event = [&](const std::string& key) -> double {
    if (!b.send(cmd({"GET", key})) || !b.expect("$1\r\nv\r\n"))
      return -1;
    auto t0 = steady_clock::now();
    if (!a.send(cmd({"DEL", key})))
      return -1;
    if (!b.expect(push_of(key)))
      return -1;
    auto t1 = steady_clock::now();
    if (!a.expect(":0\r\n"))
      return -1;
    return us_since(t0, t1);
  };
  // The cluster's sessions come up after READY: probe until a DEL on A
  // reaches B.
  bool linked = false;
  for (int p = 1; p <= probes && !linked; ++p)
    linked = event(key_of(-p)) >= 0;
  if (!linked) {
    why = "DEL on n0 never reached n1's tracking client";
    return false;
  }
  for (int i = 0; i < warmup + n; ++i) {
    auto us = event(key_of(i));
    if (us < 0) {
      why = "no push for event " + std::to_string(i);
      return false;
    }
    if (i >= warmup)
      lat.push_back(us);
  }
  return true;
}

void run_resp_tracking() {
  auto bin = node_binary_or_skip(scenario_name);
  if (bin.empty())
    return;
  auto n = std::max(200, static_cast<int>(500 * scale()));
  std::vector<double> lat;
  std::string why;
  if (!run(bin, n, lat, why)) {
    skip(why);
    return;
  }
  auto note = std::to_string(n)
              + " events, one in flight: DEL k on n0's Redis port -> "
                "`>2 invalidate [k]` read by a RESP3 CLIENT TRACKING client "
                "of n1 (3 nodes, --scheduler.max-threads=1, raw sockets)";
  emit({scenario_name, "push_latency_p50_us", pct(lat, 0.5), "us", {}, note});
  emit({scenario_name, "push_latency_p99_us", pct(lat, 0.99), "us", {}, note});
}

registrar resp_tracking_reg{
  scenario_name,
  "3 cachebus-node processes: DEL on one node's Redis port -> tracking push "
  "read by a RESP3 client of another, p50/p99 us",
  run_resp_tracking};

} // namespace

} // namespace cachebus::bench
