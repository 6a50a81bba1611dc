// cachebus's own Redis commands, SCAN and the protocol's edge cases,
// driven through cachebus-node's RESP port by redis-cli and raw sockets:
// a node with an SQLite system of record and a write-back journal, so the
// record commands (CB.UPDATE, CB.QUEUE, CB.RECORD) and CB.FETCH's store
// loader run for real. Each node is a child process reaped by its pid.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cachebus/apps/common/child_process.hpp"
#include "cachebus/apps/common/temp_dir.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"

using namespace cachebus;

namespace {

// redis-cli against `port` with `args` (shell words); its output.
std::string cli(uint16_t port, const std::string& args) {
  return test::run_command("redis-cli -p " + std::to_string(port) + " " + args
                           + " 2>&1")
    .second;
}

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in{text};
  for (std::string l; std::getline(in, l);)
    out.insert(l);
  return out;
}

int connect_with_timeout(uint16_t port, int timeout_ms = 10000) {
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

// Reads until `out` holds `size` bytes (true) or a read fails.
bool read_exactly(int fd, std::string& out, size_t size) {
  char buf[65536];
  while (out.size() < size) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    out.append(buf, static_cast<size_t>(n));
  }
  return out.size() == size;
}

constexpr std::string_view rules_text = "[users]\n"
                                        "keys = user:{id}, user:{id}:profile\n"
                                        "tags = user:{id}\n"
                                        "fields = name, email\n";

struct store_node {
  app::temp_dir dir{"cachebus-resp-cb"};
  std::unique_ptr<app::node_child> node;

  store_node() {
    std::ofstream{dir.file("rules.ini")} << rules_text;
    node = std::make_unique<app::node_child>(
      test::node_binary(),
      test::node_args("r", 0,
                      {"--cachebus.resp-port=0",
                       "--cachebus.rules=" + dir.file("rules.ini"),
                       "--cachebus.store=sqlite:" + dir.file("records.db"),
                       "--cachebus.write-back.journal=" + dir.file("journal"),
                       "--cachebus.write-back.flush-interval=20ms"}));
  }

  ~store_node() {
    node.reset(); // SIGTERM, waitpid; before the directory goes
  }
};

} // namespace

TEST_CASE("redis-cli writes through, writes back, reads and fetches records "
          "with cachebus's own commands",
          "[cluster][processes][resp]") {
  store_node sn;
  INFO(sn.node->proc.output());
  REQUIRE(sn.node->ready());
  auto p = sn.node->resp_port;
  auto v = cli(p, "CB.UPDATE users 1 name Ada email ada@example.org");
  INFO(v);
  REQUIRE(std::stoull(v) > 0);
  auto rec = cli(p, "CB.RECORD users 1");
  CHECK(rec.find("Ada") != std::string::npos);
  CHECK(rec.find("ada@example.org") != std::string::npos);
  // The canonical key holds the encoded record: CB.FETCH reads it.
  CHECK(cli(p, "CB.FETCH user:1").find("Ada") != std::string::npos);
  // Write-back: readable at once through the record.
  CHECK(cli(p, "CB.QUEUE users 2 name Bob email bob@example.org") == "OK\n");
  CHECK(cli(p, "CB.RECORD users 2").find("Bob") != std::string::npos);
  // What no store holds is nil, not an error.
  CHECK(cli(p, "CB.RECORD users 404") == "\n");
  CHECK(cli(p, "CB.FETCH user:404") == "\n");
  // The central rules: the record's keys and its tag go.
  CHECK(cli(p, "CB.SET feed:1 f TAG user:1").find("ERR") == std::string::npos);
  CHECK(std::stoull(cli(p, "CB.RESOURCE users 1")) >= 2);
  CHECK(cli(p, "EXISTS user:1 feed:1") == "0\n");
  // Bad input: a clear error, nothing changed.
  CHECK(cli(p, "CB.UPDATE nope 1 name x").find("ERR cachebus: unknown_resource")
        != std::string::npos);
  CHECK(cli(p, "CB.UPDATE users 1 age 3").find("ERR cachebus: invalid_field")
        != std::string::npos);
  CHECK(cli(p, "CB.RECORD users 1").find("Ada") != std::string::npos);
}

TEST_CASE("a node without a store says so to the record commands and "
          "CB.FETCH",
          "[cluster][processes][resp]") {
  app::node_child node{test::node_binary(),
                       test::node_args("r", 0, {"--cachebus.resp-port=0"})};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  CHECK(cli(p, "CB.UPDATE users 1 name Ada").find("no system of record")
        != std::string::npos);
  CHECK(cli(p, "CB.FETCH user:1").find("ERR cachebus: invalid_config")
        != std::string::npos);
  CHECK(cli(p, "CB.SET k v EX 10 TAG t").find("ERR") == std::string::npos);
  CHECK(cli(p, "CB.INVALIDATE.TAG t") == "1\n");
  CHECK(cli(p, "PING") == "PONG\n");
}

TEST_CASE("redis-cli --scan lists keys from the ordered index, with and "
          "without a pattern",
          "[cluster][processes][resp]") {
  app::node_child node{
    test::node_binary(),
    test::node_args("r", 0, {"--cachebus.resp-port=0", "--cachebus.shards=3"})};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  std::string file = "/tmp/cachebus-resp-scan-" + std::to_string(::getpid());
  {
    std::ofstream f{file, std::ios::binary};
    for (int i = 0; i < 2000; ++i)
      f << "SET " << (i % 2 ? "odd:" : "even:") << i << " v\r\n";
  }
  auto piped = cli(p, "--pipe < " + file);
  std::remove(file.c_str());
  REQUIRE(piped.find("errors: 0, replies: 2000") != std::string::npos);
  auto all = lines(cli(p, "--scan"));
  CHECK(all.size() == 2000);
  auto odd = lines(cli(p, "--scan --pattern 'odd:*'"));
  CHECK(odd.size() == 1000);
  CHECK(odd.count("odd:1999") == 1);
  CHECK(odd.count("even:0") == 0);
  CHECK(lines(cli(p, "--scan --pattern 'odd:19[0-9][0-9]'")).size() == 50);
  CHECK(lines(cli(p, "--scan --pattern '*:7'"))
        == std::set<std::string>{"odd:7"});
}

TEST_CASE("ten thousand pipelined commands over one socket get ten thousand "
          "replies in order",
          "[cluster][processes][resp]") {
  app::node_child node{test::node_binary(),
                       test::node_args("r", 0, {"--cachebus.resp-port=0"})};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  int fd = connect_with_timeout(node.resp_port);
  REQUIRE(fd >= 0);
  std::string req, expected;
  for (int i = 0; i < 10'000; ++i) {
    auto k = "k" + std::to_string(i);
    req += "*3\r\n$3\r\nSET\r\n$" + std::to_string(k.size()) + "\r\n" + k
           + "\r\n$1\r\nv\r\n";
    req += "*2\r\n$3\r\nGET\r\n$" + std::to_string(k.size()) + "\r\n" + k
           + "\r\n";
    expected += "+OK\r\n$1\r\nv\r\n";
  }
  REQUIRE(send_all(fd, req));
  std::string got;
  CHECK(read_exactly(fd, got, expected.size()));
  CHECK(got == expected);
  ::close(fd);
}

TEST_CASE("a client that disconnects in the middle of a request leaves the "
          "node serving everyone else",
          "[cluster][processes][resp]") {
  app::node_child node{test::node_binary(),
                       test::node_args("r", 0, {"--cachebus.resp-port=0"})};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  for (auto* partial :
       {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nonly part", "*2\r\n$3\r\nGE",
        "SET k v", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n"}) {
    int fd = connect_with_timeout(p);
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, partial));
    ::close(fd);
  }
  // A CB.FETCH that waits (the node has no loader, so it errs at once) and
  // a client gone before its deferred reply: neither disturbs the node.
  int fd = connect_with_timeout(p);
  REQUIRE(send_all(fd, "CB.FETCH some:key\r\nPING\r\n"));
  ::close(fd);
  CHECK(cli(p, "SET k v") == "OK\n");
  CHECK(cli(p, "GET k") == "v\n");
  CHECK(cli(p, "DBSIZE") == "1\n");
}

TEST_CASE("commands pipelined behind deferred replies are answered after "
          "them, in order, however many",
          "[cluster][processes][resp]") {
  store_node sn;
  INFO(sn.node->proc.output());
  REQUIRE(sn.node->ready());
  auto p = sn.node->resp_port;
  REQUIRE(cli(p, "CB.UPDATE users 5 name Eve email eve@example.org").find("ERR")
          == std::string::npos);
  int fd = connect_with_timeout(p);
  REQUIRE(fd >= 0);
  // Deferred replies (a store read, a fetch through the store loader, a
  // write) between 50,000 PINGs each: ~700 KiB of requests that arrive while
  // a reply is awaited, more than the broker buffers before it stops
  // reading the socket.
  std::string req, expected, pings;
  for (int i = 0; i < 50'000; ++i)
    pings += "PING\r\n";
  std::string pongs;
  for (int i = 0; i < 50'000; ++i)
    pongs += "+PONG\r\n";
  req += "CB.RECORD users 404\r\n" + pings;
  expected += "$-1\r\n" + pongs;
  req += "CB.FETCH user:404\r\n" + pings;
  expected += "$-1\r\n" + pongs;
  req += "CB.QUEUE users 6 name Fay\r\n" + pings;
  expected += "+OK\r\n" + pongs;
  REQUIRE(send_all(fd, req));
  std::string got;
  CHECK(read_exactly(fd, got, expected.size()));
  CHECK(got.substr(0, expected.size()) == expected);
  ::close(fd);
  CHECK(cli(p, "PING") == "PONG\n");
}
