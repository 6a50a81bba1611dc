// The PostgreSQL change feed: changes made by anyone (the store, psql)
// reach a change_listener through the outbox, in the order written, without
// skipping a transaction that commits late, across reconnects, server
// restarts and the listener's own restarts; and the outbox is trimmed, with
// a listener that missed trimmed changes told so. Waits are bounded polls.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>
#include <random>
#include <set>

#include "cachebus/stores/change.hpp"
#include "cachebus/stores/change_listener.hpp"
#include "cachebus/stores/pg_connection.hpp"
#include "cachebus/stores/postgres_store.hpp"

#include "store_kinds.hpp"

using namespace cachebus::stores;
using namespace cachebus::test;
using namespace std::chrono_literals;

namespace {

constexpr auto bound = 5s;

change_feed_options named(std::string consumer) {
  change_feed_options opts;
  opts.consumer = std::move(consumer);
  return opts;
}

// Polls until `n` changes arrived or the bound passed.
std::vector<change> collect(change_listener& listener, size_t n,
                            bool* lost = nullptr) {
  std::vector<change> out;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto batch = require_ok(listener.poll(100ms));
    if (lost != nullptr && batch.lost)
      *lost = true;
    out.insert(out.end(), batch.changes.begin(), batch.changes.end());
  }
  return out;
}

// Polls for a while and returns whatever came (to show that nothing does).
std::vector<change> drain(change_listener& listener) {
  std::vector<change> out;
  for (int i = 0; i < 5; ++i) {
    auto batch = require_ok(listener.poll(50ms));
    out.insert(out.end(), batch.changes.begin(), batch.changes.end());
  }
  return out;
}

int64_t count_rows(const std::string& conninfo, const std::string& sql) {
  return std::stoll(query_value(conninfo, sql));
}

struct feed_fixture {
  postgres_kind kind;
  std::unique_ptr<postgres_store> store;
  std::unique_ptr<change_listener> listener;

  feed_fixture() {
    store = require_ok(postgres_store::open(kind.conninfo));
    declare_test_resources(*store);
    require_ok(store->install_change_feed());
    listener = require_ok(change_listener::open(kind.conninfo, named("a")));
  }
};

} // namespace

TEST_CASE("a change listener refuses options it cannot honor",
          "[stores][postgres][change]") {
  postgres_kind kind;
  auto store = require_ok(postgres_store::open(kind.conninfo));
  require_ok(store->install_change_feed());
  auto no_name = change_listener::open(kind.conninfo, named(""));
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().code() == store_errc::invalid_argument);
  auto opts = named("a");
  opts.retention = 10ms;
  auto short_retention = change_listener::open(kind.conninfo, opts);
  REQUIRE_FALSE(short_retention.ok());
  CHECK(short_retention.error().code() == store_errc::invalid_argument);
  opts = named(std::string(201, 'x'));
  CHECK_FALSE(change_listener::open(kind.conninfo, opts).ok());
}

TEST_CASE("a change listener on a database without the feed says so",
          "[stores][postgres][change]") {
  postgres_kind kind;
  auto store = require_ok(postgres_store::open(kind.conninfo));
  auto l = change_listener::open(kind.conninfo, named("a"));
  REQUIRE_FALSE(l.ok());
  CHECK(l.error().code() == store_errc::io_error);
}

TEST_CASE("snapshot positions parse and print in PostgreSQL's form",
          "[stores][change]") {
  auto pos = pg_snapshot_pos::parse("10:20:12,15");
  REQUIRE(pos);
  CHECK(pos->xmin == 10);
  CHECK(pos->xmax == 20);
  CHECK(pos->in_progress == std::vector<uint64_t>{12, 15});
  CHECK(pos->to_string() == "10:20:12,15");
  CHECK(pg_snapshot_pos::parse("7:7:")->to_string() == "7:7:");
  for (auto bad :
       {"", "1", "1:2", "2:1:", "1:5:9", "1:5:3,", "a:b:", "1:5:,3", "1:5:0"})
    CHECK_FALSE(pg_snapshot_pos::parse(bad));
}

TEST_CASE_METHOD(feed_fixture,
                 "an update made with psql behind the store's back reaches the "
                 "change listener",
                 "[stores][postgres][change]") {
  auto v1 = require_ok(store->apply({{"users", "42", {{"name", "Ada"}}}}));
  auto own = collect(*listener, 1);
  REQUIRE(own.size() == 1);
  CHECK(own[0] == change{change_kind::write, "users", "42", v1[0]});
  // The trigger says when it ran (the change feed's lag is measured by it).
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  CHECK(own[0].at_us > now_us - 60'000'000);
  CHECK(own[0].at_us <= now_us + 1'000'000);
  // A separate raw libpq connection, as psql would be.
  run_sql(kind.conninfo, "UPDATE cachebus_fields SET value = 'Grace'::bytea "
                         "WHERE resource = 'users' AND id = '42'");
  auto changes = collect(*listener, 1);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == change_kind::write);
  CHECK(changes[0].resource == "users");
  CHECK(changes[0].id == "42");
  CHECK(changes[0].version > v1[0]);
  // The announced version is the one a load returns.
  auto rec = require_ok(store->load("users", "42"));
  CHECK(rec.version == changes[0].version);
  CHECK(rec.fields.at("name") == "Grace");
}

TEST_CASE_METHOD(feed_fixture,
                 "writes through the store and deletes with psql reach the "
                 "change listener in commit order",
                 "[stores][postgres][change]") {
  // Installing the feed twice adds no second trigger.
  require_ok(store->install_change_feed());
  auto batch = require_ok(store->apply(
    {{"users", "1", {{"name", "a"}}}, {"orders", "o'1", {{"total", "3"}}}}));
  auto changes = collect(*listener, 2);
  CHECK(
    changes
    == std::vector<change>{{change_kind::write, "users", "1", batch[0]},
                           {change_kind::write, "orders", "o'1", batch[1]}});
  run_sql(kind.conninfo,
          "INSERT INTO cachebus_records (resource, id) VALUES ('users', '2');"
          "DELETE FROM cachebus_records WHERE resource = 'orders'");
  changes = collect(*listener, 2);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].kind == change_kind::write);
  CHECK(changes[0].id == "2");
  CHECK(changes[0].version > batch[1]);
  CHECK(changes[1].kind == change_kind::erase);
  CHECK(changes[1].resource == "orders");
  CHECK(changes[1].id == "o'1");
  CHECK(changes[1].version > changes[0].version);
  // Nothing else (no duplicates) came in between.
  auto v = require_ok(store->apply({{"users", "1", {{"age", "1"}}}}));
  changes = collect(*listener, 1);
  CHECK(changes
        == std::vector<change>{{change_kind::write, "users", "1", v[0]}});
}

TEST_CASE_METHOD(feed_fixture,
                 "a notification on the channel that is not a change only "
                 "wakes the listener",
                 "[stores][postgres][change]") {
  run_sql(kind.conninfo, "NOTIFY cachebus, 'hello'");
  CHECK(drain(*listener).empty());
  auto v = require_ok(store->apply({{"users", "1", {{"name", "a"}}}}));
  auto changes = collect(*listener, 1);
  CHECK(changes
        == std::vector<change>{{change_kind::write, "users", "1", v[0]}});
}

TEST_CASE_METHOD(feed_fixture,
                 "a change listener reports a lost connection and, when the "
                 "server is back, delivers what was written meanwhile",
                 "[stores][postgres][change]") {
  auto& cluster = pg_cluster::shared();
  {
    struct restart_guard {
      pg_cluster& cluster;
      ~restart_guard() {
        if (!cluster.running())
          cluster.start();
      }
    } guard{cluster};
    cluster.stop();
    auto deadline = std::chrono::steady_clock::now() + bound;
    status err;
    while (err.ok() && std::chrono::steady_clock::now() < deadline) {
      auto res = listener->poll(100ms);
      if (!res.ok())
        err = res.error();
      else
        CHECK(res->changes.empty());
    }
    CHECK(err.code() == store_errc::unavailable);
    // Still down: the reconnect attempt fails at once.
    CHECK(listener->poll(0ms).error().code() == store_errc::unavailable);
    cluster.start();
  }
  // Written while the listener is not connected: LISTEN/NOTIFY alone would
  // lose it.
  auto v = require_ok(store->apply({{"users", "1", {{"name", "back"}}}}));
  bool lost = false;
  auto changes = collect(*listener, 1, &lost);
  CHECK(changes
        == std::vector<change>{{change_kind::write, "users", "1", v[0]}});
  CHECK_FALSE(lost);
}

TEST_CASE_METHOD(feed_fixture,
                 "a listener whose backend is killed reads on from its "
                 "position, missing nothing and repeating nothing applied",
                 "[stores][postgres][change]") {
  auto v1 = require_ok(store->apply({{"users", "1", {{"name", "a"}}}}));
  REQUIRE(collect(*listener, 1).size() == 1);
  // Every other connection to the test's database: the store reconnects.
  run_sql(kind.conninfo, "SELECT pg_terminate_backend(pid) FROM "
                         "pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()");
  run_sql(kind.conninfo, "UPDATE cachebus_fields SET value = 'b'::bytea "
                         "WHERE resource = 'users' AND id = '1'");
  std::vector<change> got;
  auto deadline = std::chrono::steady_clock::now() + bound;
  bool failed = false;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    auto res = listener->poll(100ms);
    if (!res.ok()) {
      failed = true;
      continue;
    }
    CHECK_FALSE(res->lost);
    got.insert(got.end(), res->changes.begin(), res->changes.end());
  }
  CHECK(failed);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == "1");
  CHECK(got[0].version > v1[0]);
}

TEST_CASE_METHOD(feed_fixture,
                 "a transaction that commits after a later one is not skipped",
                 "[stores][postgres][change]") {
  require_ok(store->apply(
    {{"users", "1", {{"name", "a"}}}, {"users", "2", {{"name", "b"}}}}));
  REQUIRE(collect(*listener, 2).size() == 2);
  // `slow` writes first (its row gets the lower sequence number and the
  // older transaction id) but commits last.
  pg_connection slow;
  require_ok(slow.connect(kind.conninfo, 5s));
  require_ok(slow.run("BEGIN"));
  require_ok(slow.run("UPDATE cachebus_fields SET value = 'slow'::bytea "
                      "WHERE resource = 'users' AND id = '1'"));
  run_sql(kind.conninfo, "UPDATE cachebus_fields SET value = 'fast'::bytea "
                         "WHERE resource = 'users' AND id = '2'");
  auto fast = collect(*listener, 1);
  REQUIRE(fast.size() == 1);
  CHECK(fast[0].id == "2");
  CHECK(drain(*listener).empty()); // the open transaction shows nothing
  require_ok(slow.run("COMMIT"));
  auto late = collect(*listener, 1);
  REQUIRE(late.size() == 1);
  CHECK(late[0].id == "1");
  CHECK(late[0].seq < fast[0].seq);
  CHECK(drain(*listener).empty());
}

TEST_CASE_METHOD(feed_fixture,
                 "a large transaction arrives in batches of the listener's "
                 "size, all of it",
                 "[stores][postgres][change]") {
  auto opts = named("small");
  opts.max_batch = 7;
  auto small = require_ok(change_listener::open(kind.conninfo, opts));
  run_sql(kind.conninfo, "INSERT INTO cachebus_records (resource, id) "
                         "SELECT 'users', g::text FROM generate_series(1, 100) "
                         "AS g");
  size_t batches = 0;
  std::vector<change> got;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (got.size() < 100 && std::chrono::steady_clock::now() < deadline) {
    auto batch = require_ok(small->poll(100ms));
    CHECK(batch.changes.size() <= 7);
    if (!batch.changes.empty())
      ++batches;
    got.insert(got.end(), batch.changes.begin(), batch.changes.end());
  }
  REQUIRE(got.size() == 100);
  CHECK(batches == 15);
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(got[i].id == std::to_string(i + 1));
  CHECK(drain(*small).empty());
}

TEST_CASE_METHOD(feed_fixture,
                 "a listener opened again under its name delivers the "
                 "changes made while none ran, and only those",
                 "[stores][postgres][change]") {
  CHECK_FALSE(listener->resumed());
  require_ok(store->apply({{"users", "1", {{"name", "seen"}}}}));
  REQUIRE(collect(*listener, 1).size() == 1);
  require_ok(listener->checkpoint());
  listener.reset(); // the node stops
  auto v = require_ok(store->apply({{"users", "2", {{"name", "missed"}}}}));
  run_sql(kind.conninfo, "DELETE FROM cachebus_records WHERE id = '1'");
  listener = require_ok(change_listener::open(kind.conninfo, named("a")));
  CHECK(listener->resumed());
  bool lost = false;
  auto changes = collect(*listener, 2, &lost);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0] == change{change_kind::write, "users", "2", v[0]});
  CHECK(changes[1].kind == change_kind::erase);
  CHECK(changes[1].id == "1");
  CHECK_FALSE(lost);
  CHECK(drain(*listener).empty());
  // Another name starts from now.
  auto other = require_ok(change_listener::open(kind.conninfo, named("b")));
  CHECK_FALSE(other->resumed());
  CHECK(drain(*other).empty());
}

TEST_CASE_METHOD(feed_fixture,
                 "changes every listener has read are trimmed, and nobody "
                 "is told of a loss",
                 "[stores][postgres][change]") {
  auto opts = named("b");
  opts.retention = 2s; // trims every second
  auto b = require_ok(change_listener::open(kind.conninfo, opts));
  require_ok(store->apply(
    {{"users", "1", {{"name", "x"}}}, {"users", "2", {{"name", "y"}}}}));
  bool lost = false;
  REQUIRE(collect(*listener, 2, &lost).size() == 2);
  REQUIRE(collect(*b, 2, &lost).size() == 2);
  require_ok(listener->checkpoint());
  require_ok(b->checkpoint());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count_rows(kind.conninfo, "SELECT count(*) FROM cachebus_changes") > 0
         && std::chrono::steady_clock::now() < deadline) {
    for (auto* l : {listener.get(), b.get()}) {
      auto batch = require_ok(l->poll(100ms));
      lost = lost || batch.lost;
      CHECK(batch.changes.empty());
    }
  }
  CHECK(count_rows(kind.conninfo, "SELECT count(*) FROM cachebus_changes")
        == 0);
  CHECK(b->trimmed() + listener->trimmed() == 2);
  CHECK_FALSE(lost);
  // And the feed goes on.
  require_ok(store->apply({{"users", "3", {{"name", "z"}}}}));
  CHECK(collect(*listener, 1, &lost).size() == 1);
  CHECK(collect(*b, 1, &lost).size() == 1);
  CHECK_FALSE(lost);
}

TEST_CASE_METHOD(feed_fixture,
                 "a consumer gone for longer than the retention holds no "
                 "changes, and when it comes back it is told they are lost",
                 "[stores][postgres][change]") {
  require_ok(listener->checkpoint());
  listener.reset(); // consumer "a" goes away
  require_ok(store->apply({{"users", "1", {{"name", "x"}}}}));
  auto opts = named("trimmer");
  opts.retention = 1s;
  auto trimmer = require_ok(change_listener::open(kind.conninfo, opts));
  // The trimmer deletes what "a" never read once it is older than the
  // retention, and forgets "a"'s position.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while ((count_rows(kind.conninfo, "SELECT count(*) FROM cachebus_changes") > 0
          || count_rows(kind.conninfo, "SELECT count(*) FROM "
                                       "cachebus_change_cursors WHERE "
                                       "consumer = 'a'")
               > 0)
         && std::chrono::steady_clock::now() < deadline)
    (void)require_ok(trimmer->poll(100ms));
  CHECK(count_rows(kind.conninfo, "SELECT count(*) FROM cachebus_changes")
        == 0);
  CHECK(count_rows(kind.conninfo, "SELECT count(*) FROM "
                                  "cachebus_change_cursors WHERE consumer "
                                  "= 'a'")
        == 0);
  CHECK(trimmer->trimmed() >= 1);
  // "a"'s position is forgotten: under that name it starts from now.
  auto again = require_ok(change_listener::open(kind.conninfo, named("a")));
  CHECK_FALSE(again->resumed());
}

TEST_CASE_METHOD(feed_fixture,
                 "a listener still running whose unread changes were trimmed "
                 "reports the loss once and goes on",
                 "[stores][postgres][change]") {
  auto opts = named("trimmer");
  opts.retention = 1s;
  auto trimmer = require_ok(change_listener::open(kind.conninfo, opts));
  // "a" stops polling (hung, or cut off) while changes are written.
  require_ok(store->apply({{"users", "1", {{"name", "x"}}}}));
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (count_rows(kind.conninfo, "SELECT count(*) FROM cachebus_changes") > 0
         && std::chrono::steady_clock::now() < deadline)
    (void)require_ok(trimmer->poll(100ms));
  REQUIRE(count_rows(kind.conninfo, "SELECT count(*) FROM cachebus_changes")
          == 0);
  auto batch = require_ok(listener->poll(100ms));
  CHECK(batch.lost);
  CHECK(batch.changes.empty());
  bool lost = false;
  CHECK(drain(*listener).empty());
  auto v = require_ok(store->apply({{"users", "2", {{"name", "y"}}}}));
  CHECK(collect(*listener, 1, &lost)
        == std::vector<change>{{change_kind::write, "users", "2", v[0]}});
  CHECK_FALSE(lost);
}

TEST_CASE("seeded random interleavings of transactions, reconnects and "
          "restarts: the listener delivers every committed change and no "
          "rolled-back one",
          "[stores][postgres][change]") {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    INFO("seed " << seed);
    postgres_kind kind;
    auto store = require_ok(postgres_store::open(kind.conninfo));
    declare_test_resources(*store);
    require_ok(store->install_change_feed());
    // The listener's connection has a name, so it can be killed alone.
    auto reader_info = kind.conninfo + " application_name=feed_reader";
    auto opts = named("r");
    opts.max_batch = 3; // reads span several polls
    auto listener = require_ok(change_listener::open(reader_info, opts));
    std::mt19937 rng{seed};
    struct writer {
      pg_connection conn;
      std::vector<std::string> pending; // ids written in the open transaction
      bool open = false;
    };
    std::array<writer, 4> writers;
    for (auto& w : writers)
      require_ok(w.conn.connect(kind.conninfo, 5s));
    std::set<std::string> committed, aborted, delivered;
    size_t deliveries = 0;
    int next_id = 0;
    auto poll_once = [&] {
      auto batch = listener->poll(0ms);
      if (!batch.ok()) {
        CHECK(batch.error().code() == store_errc::unavailable);
        return;
      }
      CHECK_FALSE(batch->lost);
      for (auto& ch : batch->changes) {
        delivered.insert(ch.id);
        ++deliveries;
      }
    };
    bool disturbed = false;
    for (int step = 0; step < 300; ++step) {
      auto dice = rng() % 100;
      auto& w = writers[rng() % writers.size()];
      if (dice < 45) {
        if (!w.open) {
          require_ok(w.conn.run("BEGIN"));
          w.open = true;
        }
        auto id = "k" + std::to_string(next_id++);
        require_ok(w.conn.run("INSERT INTO cachebus_records (resource, id) "
                              "VALUES ('users', $1)",
                              {{id}}));
        w.pending.push_back(id);
      } else if (dice < 65) {
        if (w.open) {
          require_ok(w.conn.run("COMMIT"));
          committed.insert(w.pending.begin(), w.pending.end());
        }
        w.pending.clear();
        w.open = false;
      } else if (dice < 72) {
        if (w.open) {
          require_ok(w.conn.run("ROLLBACK"));
          aborted.insert(w.pending.begin(), w.pending.end());
        }
        w.pending.clear();
        w.open = false;
      } else if (dice < 96) {
        poll_once();
      } else if (dice < 98) {
        run_sql(kind.conninfo, "SELECT pg_terminate_backend(pid) FROM "
                               "pg_stat_activity WHERE application_name = "
                               "'feed_reader'");
        disturbed = true;
      } else {
        // The node restarts: it saved the position of what it applied.
        (void)listener->checkpoint();
        listener = require_ok(change_listener::open(reader_info, opts));
        CHECK(listener->resumed());
        disturbed = true;
      }
    }
    for (auto& w : writers)
      if (w.open) {
        require_ok(w.conn.run("COMMIT"));
        committed.insert(w.pending.begin(), w.pending.end());
      }
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!std::includes(delivered.begin(), delivered.end(), committed.begin(),
                          committed.end())
           && std::chrono::steady_clock::now() < deadline)
      poll_once();
    std::vector<std::string> missing, phantom;
    std::set_difference(committed.begin(), committed.end(), delivered.begin(),
                        delivered.end(), std::back_inserter(missing));
    std::set_intersection(aborted.begin(), aborted.end(), delivered.begin(),
                          delivered.end(), std::back_inserter(phantom));
    CHECK(missing.empty());
    CHECK(phantom.empty());
    CHECK(delivered.size() == committed.size());
    if (!disturbed)
      CHECK(deliveries == delivered.size()); // and each once
  }
}
