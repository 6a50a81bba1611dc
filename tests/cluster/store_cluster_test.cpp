// Multi-process tests of nodes with a system of record: three cachebus-node
// processes sharing one SQLite file (--cachebus.store=sqlite:PATH), driven
// through their record frontends, and a node over a throwaway PostgreSQL
// server (tests/stores/pg_cluster) whose change feed outlives a restart. Every
// process is reaped by its pid, also when a check fails (app::node_child's
// destructor).
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"
#include "cachebus/stores/postgres_store.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/child_process.hpp"
#include "cachebus/apps/common/temp_dir.hpp"

#include "node_calls.hpp"
#include "pg_cluster.hpp"
#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using node_process = cachebus::app::node_child;

namespace {

constexpr std::string_view rules_text = "[users]\n"
                                        "keys = user:{id}, user:{id}:profile\n"
                                        "fields = name, email\n";

struct store_cluster {
  app::temp_dir dir{"cachebus-store-cluster"}; // removed after the rest
  std::string db;
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::unique_ptr<node_process>> nodes;
  std::vector<record_frontend_actor> fe;
  // The test's own connection to the shared file, for writes and reads
  // behind the nodes' backs.
  std::unique_ptr<stores::sqlite_store> store;

  store_cluster() {
    db = dir.file("records.db");
    std::ofstream{dir.file("rules.ini")} << rules_text;
    auto s = stores::sqlite_store::open(db);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(store->declare("users", {"name", "email"}).ok());
  }

  ~store_cluster() {
    nodes.clear(); // SIGTERM (then SIGKILL) + waitpid each
    store.reset();
  }

  void start(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      auto args = test::node_args(
        "n" + std::to_string(i), i > 0 ? nodes[0]->cluster_port : 0,
        {"--metrics-port=0", "--cachebus.rules=" + dir.file("rules.ini"),
         "--cachebus.store=sqlite:" + db});
      auto p = std::make_unique<node_process>(CACHEBUS_NODE_BINARY, args);
      INFO(p->proc.output());
      REQUIRE(p->ready());
      auto h = sys.middleman().remote_actor<record_frontend_actor>(
        "127.0.0.1", p->client_port);
      REQUIRE(h);
      fe.push_back(*h);
      nodes.push_back(std::move(p));
    }
  }

  uint64_t write(const std::string& id, stores::field_map fields) {
    auto v = store->apply({{"users", id, std::move(fields)}});
    REQUIRE(v.ok());
    return v->front();
  }

  // The value of `key` on node i, or "<miss>" / "<error: ...>".
  std::string get(size_t i, const std::string& key) {
    return test::get_on(sys, fe[i], key);
  }

  std::string fetch(size_t i, const std::string& key) {
    caf::scoped_actor self{sys};
    std::string out;
    self->request(fe[i], 10s, fetch_atom_v, key)
      .receive(
        [&](const std::string& v) { out = v; },
        [&](caf::error& err) { out = "<error: " + describe(err) + ">"; });
    return out;
  }

  lock_stats locks(size_t i) {
    caf::scoped_actor self{sys};
    lock_stats out;
    self->request(fe[i], 5s, lock_stats_atom_v)
      .receive([&](lock_stats& x) { out = x; },
               [](caf::error& err) { FAIL(describe(err)); });
    return out;
  }

  uint64_t total_grants() {
    uint64_t n = 0;
    for (size_t i = 0; i < fe.size(); ++i)
      n += locks(i).grants;
    return n;
  }

  // GET /metrics of node i with curl.
  std::string scrape(size_t i) {
    return test::scrape_metrics(nodes[i]->metrics_port);
  }

  // Every node's lock manager knows all the others (their bridges' sessions
  // are up, so they agree on every key's owner).
  bool linked() {
    return test::eventually(
      [&] {
        for (size_t i = 0; i < nodes.size(); ++i)
          if (locks(i).members != nodes.size())
            return false;
        return true;
      },
      20s, 20ms);
  }
};

} // namespace

TEST_CASE("with a shared store, a write-through update on one of three "
          "nodes removes the stale copies on the other two",
          "[cluster][processes][store]") {
  store_cluster c;
  c.start(3);
  REQUIRE(c.linked());
  auto v1 = c.write("1", {{"name", "Ada"}});
  auto old = encode_record({{"name", "Ada"}}, v1);
  for (size_t i = 0; i < 3; ++i)
    REQUIRE(c.fetch(i, "user:1") == old);
  for (size_t i = 0; i < 3; ++i)
    REQUIRE(c.get(i, "user:1") == old); // cached everywhere
  caf::scoped_actor self{c.sys};
  uint64_t v2 = 0;
  auto t0 = std::chrono::steady_clock::now();
  self
    ->request(c.fe[0], 10s, caf::update_atom_v, std::string{"users"},
              std::string{"1"}, stores::field_map{{"email", "ada@example.org"}})
    .receive([&](uint64_t v) { v2 = v; },
             [](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(v2 > v1);
  auto fresh
    = encode_record({{"email", "ada@example.org"}, {"name", "Ada"}}, v2);
  CHECK(c.get(0, "user:1") == fresh);
  // B and C serve the new record or miss; never the old one.
  auto not_stale = [&](size_t i) {
    auto v = c.get(i, "user:1");
    return v == fresh || v == "<miss>";
  };
  CHECK(
    test::eventually([&] { return not_stale(1) && not_stale(2); }, 15s, 20ms));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(c.fetch(1, "user:1") == fresh);
  CHECK(c.fetch(2, "user:1") == fresh);
  // The store has it too.
  auto rec = c.store->load("users", "1");
  REQUIRE(rec.ok());
  CHECK(rec->version == v2);
}

TEST_CASE("three nodes with 100 concurrent cold fetches each load the key "
          "once across the cluster",
          "[cluster][processes][store]") {
  store_cluster c;
  c.start(3);
  REQUIRE(c.linked());
  auto v = c.write("hot", {{"name", "Grace"}});
  auto expected = encode_record({{"name", "Grace"}}, v);
  auto before = c.total_grants();
  uint64_t forwarded_before = 0;
  for (size_t i = 0; i < 3; ++i)
    forwarded_before += c.locks(i).forwarded;
  constexpr int per_node = 100;
  int ok = 0;
  std::vector<std::string> wrong;
  {
    caf::scoped_actor self{c.sys};
    using handle_t
      = decltype(self->request(c.fe[0], 10s, fetch_atom_v, std::string{}));
    std::vector<handle_t> pending;
    // All 300 requests are in flight before the first reply is read.
    for (int k = 0; k < per_node; ++k)
      for (size_t i = 0; i < 3; ++i)
        pending.push_back(
          self->request(c.fe[i], 10s, fetch_atom_v, std::string{"user:hot"}));
    for (auto& h : pending)
      h.receive(
        [&](const std::string& value) {
          if (value == expected)
            ++ok;
          else
            wrong.push_back("unexpected value");
        },
        [&](caf::error& err) { wrong.push_back(describe(err)); });
  }
  INFO((wrong.empty() ? std::string{} : wrong.front()));
  CHECK(ok == 3 * per_node);
  CHECK(c.total_grants() - before == 1);
  // Each of the two other nodes sent its callers' load to the owner once.
  uint64_t forwarded = 0;
  for (size_t i = 0; i < 3; ++i)
    forwarded += c.locks(i).forwarded;
  CHECK(forwarded - forwarded_before == 2);
  // Every node caches it now.
  for (size_t i = 0; i < 3; ++i)
    CHECK(c.get(i, "user:hot") == expected);
  auto text = c.scrape(0);
  CHECK_THAT(text, Catch::Contains("# TYPE cachebus_lock_forwarded_total "
                                   "counter"));
  CHECK_THAT(text, Catch::Contains("cachebus_lock_owner_requests_total"));
  CHECK_THAT(text, Catch::Contains("cachebus_lock_rerouted_total"));
}

#ifdef CACHEBUS_CLI_BINARY

namespace {

// Runs cachebus-cli with `args`; returns (exit status, stdout).
std::pair<int, std::string> cli(uint16_t port, const std::string& args) {
  return test::run_command(std::string{CACHEBUS_CLI_BINARY}
                           + " --port=" + std::to_string(port) + " " + args
                           + " 2>/dev/null");
}

} // namespace

TEST_CASE("cachebus-cli updates, reads and fetches records through a node's "
          "store",
          "[cluster][processes][store][cli]") {
  store_cluster c;
  c.start(1);
  auto port = c.nodes[0]->client_port;
  auto [rc, out] = cli(port, "update users 5 name=Ada email=ada@x");
  REQUIRE(rc == 0);
  auto version = out.substr(out.find(' ') + 1);
  CHECK(out.rfind("version ", 0) == 0);
  CHECK(cli(port, "record users 5").second
        == "email=ada@x\nname=Ada\nversion " + version);
  CHECK(cli(port, "invalidate user:5").first == 0);
  CHECK(cli(port, "fetch user:5").second
        == "email=ada@x\nname=Ada\nversion " + version);
  auto [lrc, lout] = cli(port, "lock-stats");
  CHECK(lrc == 0);
  CHECK_THAT(lout, Catch::Contains("grants 1"));
  // Bad input: a usage error (2) or the node's error (1); nothing changes.
  CHECK(cli(port, "update users 5 name").first == 2);
  CHECK(cli(port, "update users 5 shoe=42").first == 1);
  CHECK(cli(port, "queue-update users 5 name=Grace").first == 1); // no journal
  CHECK(cli(port, "fetch user:404").first == 1);
  CHECK(c.store->load("users", "5")->fields.at("name") == "Ada");
}

#endif

TEST_CASE("a node with a store flushes its write-back queue when it gets "
          "SIGTERM",
          "[cluster][processes][store]") {
  store_cluster c;
  std::vector<std::string> args{"--cachebus.name=wb",
                                "--cachebus.rules=" + c.dir.file("rules.ini"),
                                "--cachebus.store=sqlite:" + c.db,
                                "--cachebus.write-back.journal="
                                  + c.dir.file("journal"),
                                "--cachebus.write-back.flush-interval=1h",
                                "--cachebus.shards=1"};
  node_process p{CACHEBUS_NODE_BINARY, args};
  INFO(p.proc.output());
  REQUIRE(p.ready());
  auto fe = c.sys.middleman().remote_actor<record_frontend_actor>(
    "127.0.0.1", p.client_port);
  REQUIRE(fe);
  caf::scoped_actor self{c.sys};
  bool queued = false;
  self
    ->request(*fe, 10s, queue_update_atom_v, std::string{"users"},
              std::string{"9"}, stores::field_map{{"name", "queued"}})
    .receive([&](caf::ok_atom) { queued = true; },
             [](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(queued);
  CHECK_FALSE(c.store->load("users", "9").ok()); // not flushed yet (1h)
  auto status = p.proc.stop();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto rec = c.store->load("users", "9");
  REQUIRE(rec.ok());
  CHECK(rec->fields.at("name") == "queued");
}

#ifdef CACHEBUS_CLI_BINARY

TEST_CASE("cachebus-cli refuses malformed or out-of-range numbers before it "
          "sends anything",
          "[cluster][processes][cli][input]") {
  // Nothing listens on port 1: arguments that pass the checks fail to
  // connect (1); arguments that fail them are usage errors (2) first.
  auto run = [](const std::string& args) {
    return test::run_command(std::string{CACHEBUS_CLI_BINARY} + " " + args
                             + " 2>&1");
  };
  for (auto ttl : {"10abc", "1e3", "18446744073710", "9223372036854775807",
                   "-5", "' 10'", "+10", "0x10", "''"}) {
    INFO("TTL_MS " << ttl);
    auto [rc, out] = run(std::string{"--port=1 set k v "} + ttl);
    CHECK(rc == 2);
    CHECK_THAT(out, Catch::Contains("TTL_MS"));
  }
  CHECK_THAT(run("--port=1 set k v 18446744073710").second,
             Catch::Contains("out of range"));
  for (auto version : {"-1", "1x", "18446744073709551616", "' 1'"}) {
    INFO("VERSION " << version);
    auto [rc, out]
      = run(std::string{"--port=1 invalidate-resource users 1 "} + version);
    CHECK(rc == 2);
    CHECK_THAT(out, Catch::Contains("VERSION"));
  }
  for (auto port : {"12abc", "0", "65536", "-1"}) {
    INFO("--port=" << port);
    CHECK(run(std::string{"--port="} + port + " stats").first == 2);
  }
  // The checks pass for good numbers: then only the connection fails.
  CHECK(run("--port=1 set k v 10").first == 1);
  CHECK(run("--port=1 set k v 0").first == 1);
  CHECK(run("--port=1 invalidate-resource users 1 18446744073709551615").first
        == 1);
}

#endif

TEST_CASE("a second node on a write-back journal another node holds refuses "
          "to start and names the holder's pid",
          "[cluster][processes][store][journal][lock]") {
  store_cluster c;
  auto journal = c.dir.file("journal");
  auto args = [&](const std::string& name) {
    return test::node_args(name, 0,
                           {"--cachebus.rules=" + c.dir.file("rules.ini"),
                            "--cachebus.store=sqlite:" + c.db,
                            "--cachebus.write-back.journal=" + journal});
  };
  node_process first{CACHEBUS_NODE_BINARY, args("first")};
  INFO(first.proc.output());
  REQUIRE(first.ready());
  // The second one must exit on its own; `timeout` bounds a regression.
  std::string cmd = "timeout 60 " + std::string{CACHEBUS_NODE_BINARY};
  for (auto& a : args("second"))
    cmd += " '" + a + "'";
  auto [rc, out] = test::run_command(cmd + " 2>&1");
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != 124); // not killed by timeout: it refused by itself
  CHECK_THAT(
    out, Catch::Contains("journal_error") && Catch::Contains(journal)
           && Catch::Contains("process " + std::to_string(first.proc.pid())));
  CHECK_THAT(out, !Catch::Contains("READY"));
}

TEST_CASE("a node with a write-back journal but no store refuses to start",
          "[cluster][processes][store][input]") {
  store_cluster c;
  auto journal = c.dir.file("journal");
  auto [rc, out] = test::run_command(
    "timeout 60 " + std::string{CACHEBUS_NODE_BINARY}
    + " --cachebus.write-back.journal=" + journal + " 2>&1");
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != 124);
  CHECK_THAT(out, Catch::Contains("invalid_config")
                    && Catch::Contains("cachebus.store"));
  CHECK_FALSE(std::filesystem::exists(journal));
}

TEST_CASE("a node over PostgreSQL that was away while the server restarted "
          "and a row changed invalidates that row's keys when it is back, "
          "and keeps the rest of its cache",
          "[cluster][processes][store][postgres][change-feed]") {
  auto& pg = test::pg_cluster::shared();
  auto conninfo = pg.create_database();
  app::temp_dir dir{"cachebus-pg-feed"};
  std::ofstream{dir.file("rules.ini")} << rules_text;
  auto store = stores::postgres_store::open(conninfo);
  REQUIRE(store.ok());
  REQUIRE((*store)->declare("users", {"name", "email"}).ok());
  REQUIRE((*store)
            ->apply({{"users", "1", {{"name", "Ada"}}},
                     {"users", "2", {{"name", "Bob"}}}})
            .ok());
  auto args = test::node_args("n0", 0,
                              {"--cachebus.rules=" + dir.file("rules.ini"),
                               "--cachebus.store=postgresql:" + conninfo,
                               "--cachebus.change-feed-consumer=n0"});
  node_process node{CACHEBUS_NODE_BINARY, args};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  config cfg;
  caf::actor_system sys{cfg};
  auto fe = sys.middleman().remote_actor<record_frontend_actor>(
    "127.0.0.1", node.client_port);
  REQUIRE(fe);
  auto fetch = [&](const std::string& key) {
    caf::scoped_actor self{sys};
    std::string out;
    self->request(*fe, 10s, fetch_atom_v, key)
      .receive(
        [&](const std::string& v) { out = v; },
        [&](caf::error& err) { out = "<error: " + describe(err) + ">"; });
    return out;
  };
  auto ada = fetch("user:1");
  auto bob = fetch("user:2");
  REQUIRE(ada.rfind("<error", 0) == std::string::npos);
  REQUIRE(test::get_on(sys, *fe, "user:2") == bob);
  // The node hangs (so it cannot notice anything) while the server restarts
  // and someone changes user 1 with psql; then it goes on.
  node.proc.signal(SIGSTOP);
  struct cont_guard {
    node_process& n;
    ~cont_guard() { n.proc.signal(SIGCONT); }
  } cont{node};
  pg.stop();
  pg.start();
  test::run_sql(conninfo, "UPDATE cachebus_fields SET value = 'Grace'::bytea "
                          "WHERE resource = 'users' AND id = '1'");
  node.proc.signal(SIGCONT);
  CHECK(test::eventually(
    [&] { return test::get_on(sys, *fe, "user:1") == "<miss>"; }, 15s, 20ms));
  CHECK(fetch("user:1").find("Grace") != std::string::npos);
  // No drop: user 2 was not touched and is still cached.
  CHECK(test::get_on(sys, *fe, "user:2") == bob);
}
