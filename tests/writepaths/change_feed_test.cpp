// The PostgreSQL change feed reaches the cache: rows changed behind the
// application's back (another connection, as psql would be) invalidate the
// cached copies, also when they were made while the feed's connection was
// down or the feed was stopped; only changes trimmed before the feed read
// them drop the whole cache.
#include "wp_fixture.hpp"

#include "cachebus/actors/invalidation/change_feed.hpp"
#include "cachebus/actors/node/metrics_text.hpp"

using namespace cachebus;
using namespace cachebus::test;

namespace {

struct feed_fixture {
  std::string conninfo = pg_cluster::shared().create_database();
  config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> n;
  std::unique_ptr<stores::postgres_store> store;

  feed_fixture() {
    auto s = stores::postgres_store::open(conninfo);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(store->declare("users", {"name"}).ok());
    REQUIRE(store->install_change_feed().ok());
    node_setup setup;
    setup.rules = *rules::parse("[users]\nkeys = user:{id}, "
                                "user:{id}:profile\n");
    n = std::move(*node::start(sys, node_options{}, std::move(setup)));
  }

  change_feed_stats stats(const change_feed_actor& feed) {
    caf::scoped_actor self{sys};
    change_feed_stats out;
    self->request(feed, std::chrono::seconds(5), stats_atom_v)
      .receive([&](change_feed_stats& x) { out = x; }, [](caf::error&) {});
    return out;
  }
};

} // namespace

TEST_CASE_METHOD(feed_fixture,
                 "a row changed with psql behind the application's back "
                 "invalidates its cached copies",
                 "[writepaths][postgres][change-feed]") {
  auto v = store->apply({{"users", "42", {{"name", "Ada"}}}});
  REQUIRE(v.ok());
  auto feed = spawn_change_feed(*n, conninfo);
  REQUIRE(feed);
  set_options o;
  o.version = (*v)[0];
  REQUIRE(n->set("user:42", "Ada", o));
  REQUIRE(n->set("user:42:profile", "Ada's page", o));
  REQUIRE(n->set("user:7", "someone else"));
  run_sql(conninfo, "UPDATE cachebus_fields SET value = 'Grace'::bytea "
                    "WHERE resource = 'users' AND id = '42'");
  CHECK(eventually([&] { return !n->get("user:42"); }));
  CHECK_FALSE(n->get("user:42:profile"));
  CHECK(n->get("user:7"));
  auto st = stats(*feed);
  CHECK(st.applied >= 1);
  CHECK(st.connected);
  caf::anon_send_exit(*feed, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(feed_fixture,
                 "a lost change feed connection keeps the cache and, once "
                 "back, invalidates what changed meanwhile",
                 "[writepaths][postgres][change-feed]") {
  REQUIRE(store
            ->apply({{"users", "1", {{"name", "x"}}},
                     {"users", "2", {{"name", "y"}}}})
            .ok());
  auto feed = spawn_change_feed(*n, conninfo);
  REQUIRE(feed);
  REQUIRE(n->set("user:1", "cached"));
  REQUIRE(n->set("user:2", "cached"));
  // Kill the listener's backend, as a server restart or network cut would,
  // and change a row before it is back.
  run_sql(conninfo, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> "
                    "pg_backend_pid()");
  run_sql(conninfo, "UPDATE cachebus_fields SET value = 'z'::bytea "
                    "WHERE resource = 'users' AND id = '1'");
  CHECK(eventually([&] { return stats(*feed).failures >= 1; }));
  CHECK(eventually([&] { return !n->get("user:1"); }));
  CHECK(n->get("user:2")); // no drop: nothing was lost
  auto st = stats(*feed);
  CHECK(st.lost_drops == 0);
  CHECK(eventually([&] { return stats(*feed).connected; }));
  caf::anon_send_exit(*feed, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(feed_fixture,
                 "a change feed started again under its consumer name "
                 "invalidates the rows changed while it was stopped",
                 "[writepaths][postgres][change-feed]") {
  REQUIRE(store
            ->apply({{"users", "1", {{"name", "x"}}},
                     {"users", "2", {{"name", "y"}}}})
            .ok());
  stores::change_feed_options opts;
  opts.consumer = "orders-service";
  auto stop = [&](const change_feed_actor& feed) {
    caf::scoped_actor self{sys};
    self->monitor(feed);
    caf::anon_send_exit(feed, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  };
  auto feed = spawn_change_feed(*n, conninfo, opts);
  REQUIRE(feed);
  CHECK_FALSE(stats(*feed).resumed);
  stop(*feed); // saves its position
  REQUIRE(n->set("user:1", "cached"));
  REQUIRE(n->set("user:2", "cached"));
  run_sql(conninfo, "UPDATE cachebus_fields SET value = 'z'::bytea "
                    "WHERE resource = 'users' AND id = '1'");
  CHECK(n->get("user:1")); // nobody listens
  feed = spawn_change_feed(*n, conninfo, opts);
  REQUIRE(feed);
  CHECK(stats(*feed).resumed);
  CHECK(eventually([&] { return !n->get("user:1"); }));
  CHECK(n->get("user:2"));
  CHECK(stats(*feed).lost_drops == 0);
  stop(*feed);
}

TEST_CASE_METHOD(feed_fixture,
                 "a change feed whose unread changes were trimmed drops the "
                 "cache and counts it",
                 "[writepaths][postgres][change-feed]") {
  REQUIRE(store
            ->apply({{"users", "1", {{"name", "x"}}},
                     {"users", "2", {{"name", "y"}}}})
            .ok());
  auto feed = spawn_change_feed(*n, conninfo);
  REQUIRE(feed);
  REQUIRE(n->set("user:1", "cached"));
  REQUIRE(n->set("user:2", "cached"));
  // What a trim does to a consumer away for longer than the retention: its
  // unread change is deleted, and the trim mark says so.
  run_sql(conninfo, "BEGIN; UPDATE cachebus_fields SET value = 'z'::bytea "
                    "WHERE resource = 'users' AND id = '1'; "
                    "DELETE FROM cachebus_changes; "
                    "UPDATE cachebus_changes_trimmed "
                    "SET through = pg_current_xact_id(); COMMIT");
  CHECK(eventually([&] { return stats(*feed).lost_drops == 1; }));
  CHECK_FALSE(n->get("user:1"));
  CHECK_FALSE(n->get("user:2")); // everything: we cannot know what changed
  // And it goes on.
  REQUIRE(n->set("user:2", "cached again"));
  run_sql(conninfo, "UPDATE cachebus_fields SET value = 'w'::bytea "
                    "WHERE resource = 'users' AND id = '2'");
  CHECK(eventually([&] { return !n->get("user:2"); }));
  CHECK(stats(*feed).lost_drops == 1);
  // An operator sees it in the node's metrics.
  auto text = metrics_text(*n, nullptr, &*feed);
  CHECK_THAT(text,
             Catch::Contains("cachebus_change_feed_lost_drops_total 1\n"));
  CHECK_THAT(text, Catch::Contains("cachebus_change_feed_connected 1\n"));
  CHECK_THAT(text,
             Catch::Contains("cachebus_change_feed_lag_seconds_bucket{le="));
  CHECK_THAT(text, Catch::Contains("cachebus_change_feed_lag_seconds_count "));
  caf::anon_send_exit(*feed, caf::exit_reason::user_shutdown);
}

TEST_CASE("a change feed that cannot connect says so",
          "[writepaths][postgres][change-feed]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto n = std::move(*node::start(sys, node_options{}));
  auto feed = spawn_change_feed(*n, "host=127.0.0.1 port=1 connect_timeout=1");
  REQUIRE_FALSE(feed);
  CHECK(is(feed.error(), errc::store_unavailable));
}
