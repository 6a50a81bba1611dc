// cachebus-node's Redis port driven by clients nobody here wrote: redis-cli
// and redis-benchmark (Debian redis-tools), plus raw sockets for the cases a
// client library would never send (garbage, replies never read, silence).
// Each node is a child process reaped by its pid; its port comes from its
// READY line; every socket is on loopback with a receive timeout, so a
// server that fails to close a connection fails the test instead of hanging.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cachebus/apps/common/child_process.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"

using namespace cachebus;

namespace {

bool have_redis_tools() {
  return !app::find_executable("redis-cli").empty();
}

// redis-cli against `port` with `args` (shell words); its stdout.
std::pair<int, std::string> cli(uint16_t port, const std::string& args) {
  return test::run_command("redis-cli -p " + std::to_string(port) + " " + args
                           + " 2>&1");
}

// A loopback connection whose reads give up after `timeout_ms`.
int connect_with_timeout(uint16_t port, int timeout_ms = 5000) {
  int fd = test::connect_loopback(port);
  if (fd >= 0) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the peer closes (true) or a read times out or fails (false);
// what was read goes to `out` (at most `cap` bytes kept).
bool read_until_closed(int fd, std::string& out, size_t cap = 1 << 16) {
  char buf[65536];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0)
      return true;
    if (n < 0)
      return errno == ECONNRESET;
    if (out.size() < cap)
      out.append(buf, static_cast<size_t>(n));
  }
}

// Reads until `out` ends with `suffix` (true) or the read times out.
bool read_until(int fd, std::string& out, const std::string& suffix) {
  char buf[4096];
  while (out.size() < suffix.size()
         || out.compare(out.size() - suffix.size(), suffix.size(), suffix)
              != 0) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

app::node_child resp_node(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), "--cachebus.resp-port=0");
  return app::node_child{test::node_binary(), test::node_args("r", 0, extra)};
}

} // namespace

TEST_CASE("redis-cli sets, gets, pipelines and speaks RESP3 with a node",
          "[cluster][processes][resp]") {
  if (!have_redis_tools())
    FAIL("redis-cli not found (Debian redis-tools)");
  auto node = resp_node();
  INFO(node.proc.output());
  REQUIRE(node.ready());
  REQUIRE(node.resp_port != 0);
  auto p = node.resp_port;
  CHECK(cli(p, "SET greeting hello").second == "OK\n");
  CHECK(cli(p, "GET greeting").second == "hello\n");
  CHECK(cli(p, "EXPIRE greeting 50").second == "1\n");
  CHECK(cli(p, "TTL greeting").second == "50\n");
  CHECK(cli(p, "PERSIST greeting").second == "1\n");
  CHECK(cli(p, "TTL greeting").second == "-1\n");
  CHECK(cli(p, "SET greeting other NX").second == "\n"); // nil
  CHECK(cli(p, "DEL greeting missing").second == "1\n");
  CHECK(cli(p, "GET greeting").second == "\n");
  // A pipeline of 1000 writes in RESP, through --pipe.
  std::string file = "/tmp/cachebus-resp-pipe-" + std::to_string(::getpid());
  {
    std::ofstream f{file, std::ios::binary};
    for (int i = 0; i < 1000; ++i) {
      auto k = "p" + std::to_string(i);
      f << "*3\r\n$3\r\nSET\r\n$" << k.size() << "\r\n"
        << k << "\r\n$" << std::to_string(i).size() << "\r\n"
        << i << "\r\n";
    }
  }
  auto piped = cli(p, "--pipe < " + file);
  std::remove(file.c_str());
  CHECK(piped.second.find("errors: 0, replies: 1000") != std::string::npos);
  CHECK(cli(p, "GET p999").second == "999\n");
  CHECK(cli(p, "DBSIZE").second == "1000\n");
  auto hello = cli(p, "-3 HELLO 3").second;
  CHECK(hello.find("cachebus") != std::string::npos);
  CHECK(hello.find("proto") != std::string::npos);
  CHECK(cli(p, "INFO keyspace").second.find("db0:keys=1000")
        != std::string::npos);
  CHECK(cli(p, "NOSUCH a").second.find("ERR unknown command 'NOSUCH'")
        != std::string::npos);
}

TEST_CASE("a client sending garbage gets the protocol error and is "
          "disconnected, while other clients keep working",
          "[cluster][processes][resp]") {
  auto node = resp_node();
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  int good = connect_with_timeout(p);
  int bad = connect_with_timeout(p);
  REQUIRE(good >= 0);
  REQUIRE(bad >= 0);
  std::string reply;
  REQUIRE(send_all(good, "SET k v\r\n"));
  REQUIRE(read_until(good, reply, "+OK\r\n"));
  REQUIRE(send_all(bad, "*2\r\n$3\r\nGET\r\n$-7\r\n"));
  std::string garbage_reply;
  CHECK(read_until_closed(bad, garbage_reply));
  CHECK(garbage_reply == "-ERR Protocol error: invalid bulk length\r\n");
  ::close(bad);
  // Huge declared lengths are refused the same way, without the node
  // reserving them.
  int huge = connect_with_timeout(p);
  REQUIRE(send_all(huge, "*1\r\n$9999999999999\r\n"));
  std::string huge_reply;
  CHECK(read_until_closed(huge, huge_reply));
  CHECK(huge_reply == "-ERR Protocol error: invalid bulk length\r\n");
  ::close(huge);
  reply.clear();
  REQUIRE(send_all(good, "GET k\r\n"));
  CHECK(read_until(good, reply, "$1\r\nv\r\n"));
  ::close(good);
  CHECK(cli(p, "PING").second == "PONG\n");
}

TEST_CASE("a client that does not read its replies is disconnected at the "
          "output limit",
          "[cluster][processes][resp]") {
  auto node = resp_node({"--cachebus.resp-max-output-bytes=65536"});
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  REQUIRE(cli(p, "SET big " + std::string(4000, 'x')).second == "OK\n");
  int fd = connect_with_timeout(p);
  REQUIRE(fd >= 0);
  // 20 MB of requests ask for ~4 GB of replies: far beyond what socket
  // buffers hold, so the server must hit its limit (or the test's sends
  // fail once it closed the connection).
  std::string batch;
  for (int i = 0; i < 1000; ++i)
    batch += "GET big\r\n";
  for (int i = 0; i < 2000 && send_all(fd, batch); ++i) {
    // until the server closes the connection
  }
  std::string ignored;
  CHECK(read_until_closed(fd, ignored, 0));
  ::close(fd);
  CHECK(cli(p, "GET big").second.size() == 4001);
}

TEST_CASE("a silent client is disconnected after the idle timeout",
          "[cluster][processes][resp]") {
  auto node = resp_node({"--cachebus.resp-idle-timeout=300ms"});
  INFO(node.proc.output());
  REQUIRE(node.ready());
  int fd = connect_with_timeout(node.resp_port, 5000);
  REQUIRE(fd >= 0);
  auto t0 = std::chrono::steady_clock::now();
  std::string ignored;
  CHECK(read_until_closed(fd, ignored));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  ::close(fd);
}

TEST_CASE("with a password, clients must AUTH first",
          "[cluster][processes][resp]") {
  if (!have_redis_tools())
    FAIL("redis-cli not found (Debian redis-tools)");
  auto node = resp_node({"--cachebus.resp-password=s3cret"});
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  CHECK(cli(p, "SET k v").second.find("NOAUTH Authentication required")
        != std::string::npos);
  CHECK(cli(p, "-a wrong --no-auth-warning SET k v").second.find("WRONGPASS")
        != std::string::npos);
  CHECK(cli(p, "-a s3cret --no-auth-warning SET k v").second == "OK\n");
  CHECK(cli(p, "-a s3cret --no-auth-warning GET k").second == "v\n");
}

TEST_CASE("bad Redis-port options are refused at startup and by "
          "--check-config",
          "[cluster][processes][resp]") {
  auto bin = test::node_binary();
  for (auto* check : {"", " --check-config"}) {
    auto [status, out] = test::run_command(
      bin + check
      + " --cachebus.resp-port=0 --cachebus.listen-host=0.0.0.0 2>&1");
    CHECK(status == 1);
    CHECK(out.find("needs cachebus.tls (with the node's certificates) and "
                   "cachebus.resp-password")
          != std::string::npos);
    std::tie(status, out) = test::run_command(
      bin + check
      + " --cachebus.resp-port=0 --cachebus.resp-max-bulk-length=0 2>&1");
    CHECK(status == 1);
    CHECK(out.find("cachebus.resp-max-bulk-length must be")
          != std::string::npos);
    std::tie(status, out)
      = test::run_command(bin + check + " --cachebus.resp-port=70000 2>&1");
    CHECK(status == 1);
    CHECK(out.find("resp-port") != std::string::npos);
  }
}

TEST_CASE("redis-benchmark runs GET and SET against a node",
          "[cluster][processes][resp]") {
  if (app::find_executable("redis-benchmark").empty())
    FAIL("redis-benchmark not found (Debian redis-tools)");
  auto node = resp_node();
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto [status, out]
    = test::run_command("redis-benchmark -p " + std::to_string(node.resp_port)
                        + " -t get,set -n 20000 -q 2>&1 | tr '\\r' '\\n'");
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("SET: ") != std::string::npos);
  CHECK(out.find("GET: ") != std::string::npos);
  CHECK(out.find("requests per second") != std::string::npos);
  CHECK(out.find("ERR") == std::string::npos);
}
