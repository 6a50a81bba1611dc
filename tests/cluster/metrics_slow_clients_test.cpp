// cachebus-node's /metrics under slow clients: connections that trickle a
// request head byte by byte (slowloris) or send nothing must not keep a
// scrape from answering. The node is a child process reaped by its pid;
// every socket is on loopback and closed when the test ends.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "cachebus/apps/common/child_process.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"
#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

/// Scrapes once; returns the time it took, or -1 ms if it failed.
std::chrono::milliseconds timed_scrape(uint16_t port) {
  auto t0 = std::chrono::steady_clock::now();
  auto [status, out]
    = test::run_command("curl -sf --max-time 8 http://127.0.0.1:"
                        + std::to_string(port) + "/metrics");
  auto dt = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - t0);
  if (status != 0 || out.find("cachebus_hits_total") == std::string::npos)
    return -1ms;
  return dt;
}

} // namespace

TEST_CASE("metrics scrapes keep answering while slow clients hold "
          "connections open",
          "[cluster][processes][metrics]") {
  app::node_child node{test::node_binary(),
                       test::node_args("m", 0, {"--metrics-port=0"})};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  REQUIRE(node.metrics_port != 0);
  // 8 trickling connections (the case), then 48: more than the
  // server's connection cap.
  for (size_t n : {size_t{8}, size_t{48}}) {
    // Never "\r\n\r\n": the request head does not end.
    test::trickle_clients attack{node.metrics_port, n, 200ms,
                                 "GET /metrics HTTP/1.1\r\nX-a: b\r\n"};
    REQUIRE(test::eventually([&] { return attack.connects() >= n; }, 10s));
    for (int i = 0; i < 3; ++i) {
      auto dt = timed_scrape(node.metrics_port);
      INFO(n << " slow clients, scrape " << i << ": " << dt.count() << " ms");
      CHECK(dt >= 0ms);
      CHECK(dt < 3s);
      WARN("metrics scrape with " << n << " slow clients: " << dt.count()
                                  << " ms");
    }
  }
  // A silent connection is closed after the request deadline (2 s).
  int fd = test::connect_loopback(node.metrics_port);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(::recv(fd, &c, 1, 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  ::close(fd);
}
