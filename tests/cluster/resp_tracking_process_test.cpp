// Client-side caching and pub/sub of cachebus-node's Redis port, driven by
// clients nobody here wrote, across a cluster of node processes: redis-cli
// (Debian redis-tools) and Node.js clients from the npm registry (node-redis
// with its RESP3 client-side cache, ioredis for pub/sub), installed with npm
// into a temporary directory. Every child is stopped by its pid; every wait
// is bounded.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <unistd.h>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/apps/common/child_process.hpp"
#include "cachebus/apps/common/temp_dir.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"
#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

struct resp_cluster {
  app::temp_dir dir{"cachebus-resp-tracking"};
  std::string rules_path = (dir.path() / "rules.ini").string();
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::unique_ptr<app::node_child>> nodes;

  resp_cluster() { std::ofstream{rules_path} << "[users]\nkeys = user:{id}\n"; }

  ~resp_cluster() { nodes.clear(); } // stops each by its pid

  void start(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      auto seed = i == 0 ? uint16_t{0} : nodes[0]->cluster_port;
      nodes.push_back(std::make_unique<app::node_child>(
        test::node_binary(),
        test::node_args(
          "n" + std::to_string(i), seed,
          {"--cachebus.resp-port=0", "--cachebus.rules=" + rules_path})));
      INFO(nodes.back()->proc.output());
      REQUIRE(nodes.back()->ready());
      REQUIRE(nodes.back()->resp_port != 0);
    }
  }

  node_frontend_actor frontend(size_t i) {
    auto fe = sys.middleman().remote_actor<node_frontend_actor>(
      "127.0.0.1", nodes[i]->client_port);
    REQUIRE(fe);
    return *fe;
  }

  void put(size_t i, const std::string& key, const std::string& value,
           std::vector<std::string> tags = {}) {
    caf::scoped_actor self{sys};
    put_request req;
    req.key = key;
    req.value = value;
    req.tags = std::move(tags);
    bool ok = false;
    self->request(frontend(i), 5s, caf::put_atom_v, req)
      .receive([&](uint64_t) { ok = true; }, [](caf::error&) {});
    REQUIRE(ok);
  }

  template <class Event>
  void invalidate(size_t i, Event ev) {
    test::invalidate_on(sys, frontend(i), std::move(ev));
  }

  // Until an event published on node `from` removes a probe key on `to`:
  // the cluster session between them is up.
  bool linked(size_t from, size_t to) {
    for (int p = 0; p < 100; ++p) {
      auto key = "user:probe" + std::to_string(p);
      put(to, key, "x");
      invalidated ev;
      ev.resource = "users";
      ev.id = "probe" + std::to_string(p);
      invalidate(from, ev);
      if (test::eventually(
            [&] { return test::get_on(sys, frontend(to), key) == "<miss>"; },
            300ms, 20ms))
        return true;
    }
    return false;
  }
};

bool have(const char* tool) {
  return !app::find_executable(tool).empty();
}

} // namespace

TEST_CASE("redis-cli subscribed to cache:<resource> on one node hears an "
          "invalidation a C++ caller sent to another node",
          "[cluster][processes][resp][pubsub]") {
  if (!have("redis-cli"))
    FAIL("redis-cli not found (Debian redis-tools)");
  resp_cluster c;
  c.start(2);
  REQUIRE(c.linked(1, 0));
  app::child_process sub{
    "redis-cli",
    {"-p", std::to_string(c.nodes[0]->resp_port), "SUBSCRIBE", "cache:users"},
    true};
  REQUIRE(sub.running());
  // redis-cli prints the confirmation's three elements, one per line.
  REQUIRE(sub.wait_for("cache:users", 15000) == "cache:users");
  REQUIRE(sub.wait_for("1", 15000) == "1");
  invalidated ev;
  ev.resource = "users";
  ev.id = "42";
  c.invalidate(1, ev);
  CHECK(sub.wait_for("message", 15000) == "message");
  CHECK(sub.wait_for("cache:users", 15000) == "cache:users");
  CHECK(sub.wait_for("42", 15000) == "42");
  // PUBLISH from redis-cli on node 1 is an invalidation through the rules,
  // on every node.
  c.put(0, "user:7", "ada");
  auto [status, out]
    = test::run_command("redis-cli -p " + std::to_string(c.nodes[1]->resp_port)
                        + " PUBLISH cache:users 7 2>&1");
  CHECK(status == 0);
  CHECK(out == "0\n"); // no subscriber on node 1 itself
  CHECK(test::eventually(
    [&] { return test::get_on(c.sys, c.frontend(0), "user:7") == "<miss>"; },
    15s, 20ms));
  CHECK(sub.wait_for("7", 15000) == "7");
  sub.stop();
}

TEST_CASE("a Node.js node-redis client's local cache entries disappear when "
          "a C++ caller invalidates their tag or resource on another node",
          "[cluster][processes][resp][tracking][npm]") {
  if (!have("node") || !have("npm")) {
    WARN("SKIPPED: node and npm are needed for the Node.js client test "
         "(Debian: apt-get install nodejs npm)");
    return;
  }
  resp_cluster c;
  auto modules = c.dir.path().string() + "/npm";
  auto [status, out] = test::run_command(
    "npm install --no-audit --no-fund --loglevel=error --prefix " + modules
    + " redis ioredis 2>&1");
  INFO(out);
  REQUIRE(status == 0);
  modules += "/node_modules";
  std::string script
    = CACHEBUS_SOURCE_DIR "/tests/cluster/resp_tracking_client.js";
  c.start(2);
  REQUIRE(c.linked(1, 0));
  c.put(0, "user:8", "ada");
  c.put(0, "post:1", "hello", {"author:8"});
  app::child_process js{"node",
                        {script, "cache", std::to_string(c.nodes[0]->resp_port),
                         modules, "user:8", "post:1"},
                        true};
  REQUIRE(js.running());
  INFO(js.output());
  // The second read of each key is served from the client's memory.
  CHECK(js.wait_for("CACHED user:8", 30000) == "CACHED user:8 ada hits=1");
  CHECK(js.wait_for("CACHED post:1", 30000) == "CACHED post:1 hello hits=2");
  REQUIRE(js.wait_for("READY", 30000) == "READY");
  // A C++ caller, on node 1: a tag, then a resource event.
  tag_invalidated tag;
  tag.tag = "author:8";
  c.invalidate(1, tag);
  CHECK(js.wait_for("INVALIDATED 1 ", 15000) == "INVALIDATED 1 post:1");
  CHECK(js.wait_for("AFTER 1 ", 15000) == "AFTER 1 post:1 null local=false");
  invalidated ev;
  ev.resource = "users";
  ev.id = "8";
  c.invalidate(1, ev);
  CHECK(js.wait_for("INVALIDATED 2 ", 15000) == "INVALIDATED 2 user:8");
  CHECK(js.wait_for("AFTER 2 ", 15000) == "AFTER 2 user:8 null local=false");
  // The key it read as missing, written now on node 0: pushed too.
  c.put(0, "user:8", "grace");
  CHECK(js.wait_for("INVALIDATED 3 ", 15000) == "INVALIDATED 3 user:8");
  CHECK(js.wait_for("AFTER 3 ", 15000) == "AFTER 3 user:8 grace local=false");
  CHECK(js.output().find("ERROR") == std::string::npos);
  js.stop();

  // ioredis, subscribed on node 0, hears node 1's event.
  app::child_process sub{"node",
                         {script, "pubsub",
                          std::to_string(c.nodes[0]->resp_port), modules,
                          "cache:users"},
                         true};
  REQUIRE(sub.wait_for("READY", 30000) == "READY");
  ev.id = "99";
  c.invalidate(1, ev);
  CHECK(sub.wait_for("MESSAGE", 15000) == "MESSAGE cache:users 99");
  sub.stop();
}
