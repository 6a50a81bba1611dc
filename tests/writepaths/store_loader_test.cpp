// The store loader as a node loader, over a real SQLite file: fetch reads
// records through it, a cold key is loaded once across a cluster of two nodes
// (cluster single flight), and a write-through update on one node reaches
// the other's fetch. Also: how a node's store is named and declared
// (store_setup.hpp), and what it refuses.
#include "wp_fixture.hpp"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "cachebus/actors/flight/store_loader.hpp"
#include "cachebus/actors/node/node_frontend.hpp"
#include "cachebus/actors/node/runtime.hpp"
#include "cachebus/actors/writepaths/store_setup.hpp"

#include "support/cluster_member.hpp"

using namespace cachebus;
using cachebus::app::temp_dir;
using namespace cachebus::test;

namespace {

constexpr std::string_view stored_rules = "[users]\n"
                                          "keys = user:{id}, "
                                          "user:{id}:profile\n"
                                          "tags = user:{id}\n"
                                          "fields = name, email\n"
                                          "[orders]\n"
                                          "keys = order:{id}\n"
                                          "fields = total\n"
                                          "[pages]\n"
                                          "keys = page:{id}\n";

rules parsed_rules() {
  auto rs = rules::parse(stored_rules);
  REQUIRE(rs);
  return std::move(*rs);
}

// A real store that counts the loads that reach it (a decorator, not a
// mock: every call goes to the SQLite store underneath).
class counting_store final : public stores::record_store {
 public:
  explicit counting_store(std::shared_ptr<stores::record_store> inner)
      : record_store(inner->limits()), inner_(std::move(inner)) {
    for (auto& r : inner_->resources())
      REQUIRE(declare(r, inner_->fields(r)).ok());
  }

  std::atomic<int> loads{0};
  /// Runs after a load read the store and before it returns (a slow store).
  std::function<void()> after_load;

 protected:
  stores::result<stores::record> do_load(std::string_view resource,
                                         std::string_view id) override {
    ++loads;
    auto r = inner_->load(resource, id);
    if (after_load)
      after_load();
    return r;
  }

  stores::result<std::vector<uint64_t>>
  do_apply(const std::vector<stores::record_write>& batch) override {
    return inner_->apply(batch);
  }

 private:
  std::shared_ptr<stores::record_store> inner_;
};

std::shared_ptr<counting_store> open_counting(const std::string& path) {
  auto s
    = open_store(store_spec{store_spec::kind_t::sqlite, path}, parsed_rules());
  REQUIRE(s);
  return std::make_shared<counting_store>(std::move(*s));
}

uint64_t write(stores::record_store& store, const std::string& id,
               const std::string& name) {
  auto v = store.apply({{"users", id, {{"name", name}}}});
  REQUIRE(v.ok());
  return v->front();
}

// One node with a store loader, in its own actor system; in a cluster if
// `seeds` is given (see tests/support/cluster_member.hpp).
// Its store loader overlays `pending`: give it to a record_cache over the
// same store so that fetches read this node's queued writes.
struct member : test::cluster_member {
  std::shared_ptr<counting_store> store;
  std::shared_ptr<pending_writes> pending;

  member(std::string name, const std::string& db,
         std::optional<std::vector<std::string>> seeds = std::nullopt)
      : member(std::move(name), open_counting(db), std::move(seeds),
               std::make_shared<pending_writes>()) {
    // nop
  }

  member(std::string name, std::shared_ptr<counting_store> s,
         std::optional<std::vector<std::string>> seeds,
         std::shared_ptr<pending_writes> p = std::make_shared<pending_writes>())
      : cluster_member(std::move(name), std::move(seeds), parsed_rules(),
                       [s, p](caf::actor_system& sys) {
                         return spawn_store_loader(sys, s, parsed_rules(), p);
                       }),
        store(std::move(s)), pending(std::move(p)) {
    // nop
  }
};

// Fetches probe keys on both members until each has forwarded one to the
// other: both lock managers know their peer (cluster single flight is on).
bool peers_known(member& a, member& b) {
  int i = 0;
  return eventually(
    [&] {
      auto key = "user:probe" + std::to_string(i++);
      (void)a.n->fetch(key);
      (void)b.n->fetch(key);
      return a.locks().forwarded > 0 && b.locks().forwarded > 0;
    },
    20s, 20ms);
}

} // namespace

// -- key -> record
// -----------------------------------------------------------------

TEST_CASE("a cache key maps to the record it is the canonical key of",
          "[writepaths][store-loader]") {
  auto rs = parsed_rules();
  auto user = record_for_key(rs, "user:42");
  REQUIRE(user);
  CHECK(user->resource == "users");
  CHECK(user->id == "42");
  auto order = record_for_key(rs, "order:a:b");
  REQUIRE(order);
  CHECK(order->resource == "orders");
  CHECK(order->id == "a:b");
}

TEST_CASE("keys that are no record's canonical key are refused with a "
          "reason",
          "[writepaths][store-loader]") {
  auto rs = parsed_rules();
  auto derived = record_for_key(rs, "user:42:profile");
  REQUIRE_FALSE(derived);
  CHECK(is(derived.error(), errc::invalid_argument));
  CHECK_THAT(describe(derived.error()), Catch::Contains("derived data"));
  auto unknown = record_for_key(rs, "session:1");
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::invalid_argument));
  auto empty_id = record_for_key(rs, "user:");
  CHECK_FALSE(empty_id);
}

TEST_CASE("a canonical key whose id the write paths refuse is refused by "
          "the store loader too",
          "[writepaths][store-loader][ids]") {
  // users/"a:x" would make "u:a:x:p", which `u:a:{id}` makes as well.
  auto rs = rules::parse("[users]\nkeys = user:{id}, u:{id}:p\n"
                         "[others]\nkeys = u:a:{id}\n");
  REQUIRE(rs);
  auto ref = record_for_key(*rs, "user:a:x");
  REQUIRE_FALSE(ref);
  CHECK(is(ref.error(), errc::invalid_key));
  CHECK(is(rs->check_id("users", "a:x"), errc::invalid_key));
  CHECK(record_for_key(*rs, "user:b:x"));
}

// -- one node
// ---------------------------------------------------------------------

TEST_CASE("a record fetched through the store loader carries its rule's "
          "tags",
          "[writepaths][store-loader][rule-tags]") {
  temp_dir dir;
  member m{"solo", dir.file("records.db")};
  write(*m.store, "1", "Ada");
  write(*m.store, "2", "Bob");
  REQUIRE(m.n->fetch("user:1"));
  REQUIRE(m.n->fetch("user:2"));
  auto removed = m.n->invalidate_tag("user:1");
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK_FALSE(m.n->get("user:1"));
  CHECK(m.n->get("user:2"));
}

TEST_CASE("a fetch through a node with the store loader returns the record "
          "as record_cache caches it",
          "[writepaths][store-loader]") {
  temp_dir dir;
  member m{"solo", dir.file("records.db")};
  auto v = write(*m.store, "1", "Ada");
  auto got = m.n->fetch("user:1");
  REQUIRE(got);
  CHECK(*got == encode_record({{"name", "Ada"}}, v));
  CHECK(m.store->loads == 1);
  // record_cache reads the same entry from the cache: no second store read.
  auto rc = record_cache::start(*m.n, m.store, write_back_options{});
  REQUIRE(rc);
  auto rec = (*rc)->load("users", "1");
  REQUIRE(rec);
  CHECK(rec->fields == stores::field_map{{"name", "Ada"}});
  CHECK(rec->version == v);
  CHECK(m.store->loads == 1);
  (*rc)->stop();
}

TEST_CASE("a fetch reads this node's queued writes: the store loader "
          "overlays them on the row, or serves a record only queued so far",
          "[writepaths][store-loader][write-wins]") {
  temp_dir dir;
  member m{"solo", dir.file("records.db")};
  auto v = write(*m.store, "1", "Ada");
  REQUIRE(m.store->apply({{"users", "1", {{"email", "ada@x"}}}}).ok());
  auto rc = record_cache::start(*m.n, m.store, test_options(dir), m.pending);
  REQUIRE(rc);
  REQUIRE_FALSE((*rc)->queue_update("users", "1", {{"name", "Queued"}}));
  REQUIRE_FALSE((*rc)->queue_update("users", "2", {{"name", "New"}}));
  auto one = decode_record(*m.n->fetch("user:1"));
  REQUIRE(one);
  CHECK(one->fields
        == stores::field_map{{"email", "ada@x"}, {"name", "Queued"}});
  CHECK(one->version > v); // the store's version: the email write's
  auto two = decode_record(*m.n->fetch("user:2"));
  REQUIRE(two);
  CHECK(two->fields == stores::field_map{{"name", "New"}});
  CHECK(two->version == 0); // only queued: unsourced
  REQUIRE_FALSE((*rc)->flush(30s));
  auto flushed = decode_record(*m.n->fetch("user:2"));
  REQUIRE(flushed);
  CHECK(flushed->version == m.store->load("users", "2")->version);
  (*rc)->stop();
}

TEST_CASE("a write queued while a store load runs supersedes it: the row "
          "read before the write is never installed",
          "[writepaths][store-loader][write-wins]") {
  temp_dir dir;
  member m{"solo", dir.file("records.db")};
  write(*m.store, "3", "old");
  auto rc = record_cache::start(*m.n, m.store, test_options(dir), m.pending);
  REQUIRE(rc);
  std::mutex mtx;
  std::condition_variable cv;
  bool loading = false, go = false;
  m.store->after_load = [&] {
    std::unique_lock<std::mutex> g{mtx};
    if (loading)
      return; // only the first load waits
    loading = true;
    cv.notify_all();
    cv.wait_for(g, 30s, [&] { return go; });
  };
  caf::expected<std::string> first{std::string{}};
  std::thread reader{[&] { first = m.n->fetch("user:3"); }};
  {
    std::unique_lock<std::mutex> g{mtx};
    REQUIRE(cv.wait_for(g, 30s, [&] { return loading; }));
  }
  REQUIRE_FALSE((*rc)->queue_update("users", "3", {{"name", "new"}}));
  {
    std::lock_guard<std::mutex> g{mtx};
    go = true;
    cv.notify_all();
  }
  reader.join();
  REQUIRE(first);
  auto now = decode_record(*m.n->fetch("user:3"));
  REQUIRE(now);
  CHECK(now->fields.at("name") == "new");
  CHECK(m.store->loads == 2); // the superseded load and its reload
  CHECK(m.n->stats().total.stale_fills_refused == 1);
  m.store->after_load = nullptr;
  (*rc)->stop();
}

TEST_CASE("a fetch of a missing record, a derived key or an undeclared "
          "resource fails clearly and caches nothing",
          "[writepaths][store-loader]") {
  temp_dir dir;
  member m{"solo", dir.file("records.db")};
  auto missing = m.n->fetch("user:404");
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::not_found));
  auto derived = m.n->fetch("user:1:profile");
  REQUIRE_FALSE(derived);
  CHECK(is(derived.error(), errc::invalid_argument));
  // `pages` has a rule but no fields: the store does not hold it.
  auto undeclared = m.n->fetch("page:1");
  REQUIRE_FALSE(undeclared);
  CHECK(is(undeclared.error(), errc::unknown_resource));
  CHECK(m.n->stats().total.entries == 0);
}

// -- two nodes
// ----------------------------------------------------------------------

TEST_CASE("many concurrent fetches of a cold key on two nodes load it once "
          "across both",
          "[writepaths][store-loader][cluster]") {
  temp_dir dir;
  auto db = dir.file("records.db");
  member a{"a", db, std::vector<std::string>{}};
  member b{"b", db, std::vector<std::string>{a.address()}};
  REQUIRE(peers_known(a, b));
  auto v = write(*a.store, "hot", "Ada");
  auto grants0 = a.locks().grants + b.locks().grants;
  a.store->loads = 0;
  b.store->loads = 0;
  constexpr int per_node = 100;
  auto fa = spawn_node_frontend(*a.sys, a.n.get());
  auto fb = spawn_node_frontend(*b.sys, b.n.get());
  int ok = 0;
  std::vector<std::string> wrong;
  {
    caf::scoped_actor sa{*a.sys};
    caf::scoped_actor sb{*b.sys};
    using handle_t
      = decltype(sa->request(fa, 10s, fetch_atom_v, std::string{}));
    std::vector<handle_t> ha, hb;
    // All 200 requests are in flight before any reply is read.
    for (int i = 0; i < per_node; ++i) {
      ha.push_back(sa->request(fa, 10s, fetch_atom_v, std::string{"user:hot"}));
      hb.push_back(sb->request(fb, 10s, fetch_atom_v, std::string{"user:hot"}));
    }
    auto expected = encode_record({{"name", "Ada"}}, v);
    auto collect = [&](std::vector<handle_t>& hs) {
      for (auto& h : hs)
        h.receive(
          [&](const std::string& value) {
            if (value == expected)
              ++ok;
            else
              wrong.push_back(value);
          },
          [&](caf::error& err) { wrong.push_back(describe(err)); });
    };
    collect(ha);
    collect(hb);
  }
  caf::anon_send_exit(fa, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fb, caf::exit_reason::user_shutdown);
  INFO((wrong.empty() ? std::string{} : wrong.front()));
  CHECK(ok == 2 * per_node);
  CHECK(a.locks().grants + b.locks().grants - grants0 == 1);
  CHECK(a.store->loads + b.store->loads == 1);
}

TEST_CASE("a write-through update on one node reaches the other node's fetch",
          "[writepaths][store-loader][cluster]") {
  temp_dir dir;
  auto db = dir.file("records.db");
  member a{"a", db, std::vector<std::string>{}};
  member b{"b", db, std::vector<std::string>{a.address()}};
  REQUIRE(peers_known(a, b));
  auto v1 = write(*a.store, "7", "Ada");
  REQUIRE(*a.n->fetch("user:7") == encode_record({{"name", "Ada"}}, v1));
  REQUIRE(*b.n->fetch("user:7") == encode_record({{"name", "Ada"}}, v1));
  REQUIRE(b.n->get("user:7")); // cached on b
  auto rc = record_cache::start(*a.n, a.store, write_back_options{});
  REQUIRE(rc);
  auto v2 = (*rc)->update("users", "7", {{"email", "ada@example.org"}});
  REQUIRE(v2);
  auto fresh
    = encode_record({{"email", "ada@example.org"}, {"name", "Ada"}}, *v2);
  CHECK(*a.n->get("user:7") == fresh);
  CHECK(eventually(
    [&] {
      auto x = b.n->fetch("user:7");
      return x && *x == fresh;
    },
    15s, 20ms));
  (*rc)->stop();
}

// -- configuration
// -------------------------------------------------------------------

TEST_CASE("cachebus.store accepts sqlite:PATH and postgresql:CONNINFO and "
          "refuses anything else",
          "[writepaths][store-setup]") {
  auto sq = parse_store_spec("sqlite:/tmp/x.db");
  REQUIRE(sq);
  CHECK(sq->kind == store_spec::kind_t::sqlite);
  CHECK(sq->target == "/tmp/x.db");
  auto pg = parse_store_spec("postgresql:host=/tmp dbname=app");
  REQUIRE(pg);
  CHECK(pg->kind == store_spec::kind_t::postgresql);
  CHECK(pg->target == "host=/tmp dbname=app");
  auto uri = parse_store_spec("postgresql://u@localhost/app");
  REQUIRE(uri);
  CHECK(uri->target == "postgresql://u@localhost/app");
  for (auto bad : {"mysql:db", "/tmp/x.db", "sqlite:", "postgresql: ", ""}) {
    auto x = parse_store_spec(bad);
    INFO(bad);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::invalid_config));
  }
}

TEST_CASE("a store schema without stored resources or with bad names is "
          "refused before the store is opened",
          "[writepaths][store-setup]") {
  temp_dir dir;
  auto path = dir.file("never.db");
  auto try_open = [&](std::string_view text) {
    auto rs = rules::parse(text);
    REQUIRE(rs);
    return open_store(store_spec{store_spec::kind_t::sqlite, path}, *rs);
  };
  auto none = try_open("[users]\nkeys = user:{id}\n");
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::invalid_config));
  CHECK_THAT(describe(none.error()), Catch::Contains("fields"));
  auto bad_field = try_open("[users]\nkeys = user:{id}\nfields = Name\n");
  REQUIRE_FALSE(bad_field);
  CHECK(is(bad_field.error(), errc::invalid_config));
  auto bad_resource = try_open("[Users]\nkeys = u:{id}\nfields = name\n");
  REQUIRE_FALSE(bad_resource);
  auto no_key = try_open("[users]\ntags = user:{id}\nfields = name\n");
  REQUIRE_FALSE(no_key);
  CHECK_THAT(describe(no_key.error()), Catch::Contains("{id}"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a runtime with cachebus.store serves records through fetch and "
          "writes through its record cache",
          "[writepaths][store-setup]") {
  temp_dir dir;
  auto rules_path = dir.file("rules.ini");
  std::ofstream{rules_path} << stored_rules;
  auto db = dir.file("records.db");
  {
    auto rt = runtime::start({"--cachebus.store=sqlite:" + db,
                              "--cachebus.rules=" + rules_path,
                              "--cachebus.shards=1"});
    REQUIRE(rt);
    auto* rc = (*rt)->records();
    REQUIRE(rc != nullptr);
    auto v = rc->update("users", "1", {{"name", "Ada"}});
    REQUIRE(v);
    REQUIRE((*rt)->node().erase("user:1"));
    auto got = (*rt)->node().fetch("user:1");
    REQUIRE(got);
    CHECK(*got == encode_record({{"name", "Ada"}}, *v));
  }
  // A bad value starts nothing.
  auto bad = runtime::start(
    {"--cachebus.store=oracle:db", "--cachebus.rules=" + rules_path});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_config));
  auto no_rules = runtime::start({"--cachebus.store=sqlite:" + db});
  REQUIRE_FALSE(no_rules);
  CHECK_THAT(describe(no_rules.error()), Catch::Contains("cachebus.rules"));
}

TEST_CASE("a runtime whose cachebus.store is a PostgreSQL database serves "
          "records through fetch",
          "[writepaths][store-setup][postgres]") {
  temp_dir dir;
  auto rules_path = dir.file("rules.ini");
  std::ofstream{rules_path} << stored_rules;
  auto conninfo = pg_cluster::shared().create_database();
  auto rt
    = runtime::start({"--cachebus.store=postgresql:" + conninfo,
                      "--cachebus.rules=" + rules_path, "--cachebus.shards=1"});
  REQUIRE(rt);
  auto* rc = (*rt)->records();
  REQUIRE(rc != nullptr);
  auto v = rc->update("orders", "o1", {{"total", "42"}});
  REQUIRE(v);
  REQUIRE((*rt)->node().erase("order:o1"));
  auto got = (*rt)->node().fetch("order:o1");
  REQUIRE(got);
  CHECK(*got == encode_record({{"total", "42"}}, *v));
  auto missing = (*rt)->node().fetch("order:none");
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::not_found));
}

TEST_CASE("a runtime over PostgreSQL starts the change feed itself, so a row "
          "changed with psql invalidates its cached copy; "
          "cachebus.change-feed=false opts out",
          "[writepaths][store-setup][postgres][change-feed]") {
  temp_dir dir;
  auto rules_path = dir.file("rules.ini");
  std::ofstream{rules_path} << stored_rules;
  auto conninfo = pg_cluster::shared().create_database();
  auto start = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"--cachebus.store=postgresql:" + conninfo,
                                  "--cachebus.rules=" + rules_path,
                                  "--cachebus.shards=1"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto rt = runtime::start(args);
    REQUIRE(rt);
    return std::move(*rt);
  };
  auto change_row = [&](const std::string& total) {
    run_sql(conninfo, "UPDATE cachebus_fields SET value = '" + total
                        + "'::bytea WHERE resource = 'orders' AND id = 'o1'");
  };
  {
    auto rt = start({});
    REQUIRE(rt->change_feed());
    REQUIRE(rt->records()->update("orders", "o1", {{"total", "42"}}));
    auto before = rt->node().fetch("order:o1");
    REQUIRE(before);
    REQUIRE(rt->node().get("order:o1"));
    change_row("43");
    CHECK(eventually([&] { return !rt->node().get("order:o1"); }));
    auto again = rt->node().fetch("order:o1");
    REQUIRE(again);
    CHECK(*again != *before);
  }
  {
    auto rt = start({"--cachebus.change-feed=false"});
    CHECK_FALSE(rt->change_feed());
    auto before = rt->node().fetch("order:o1");
    REQUIRE(before);
    change_row("44");
    // Without the feed nothing tells the node: its copy stays (until its
    // TTL), which is what opting out means.
    auto cached = rt->node().get("order:o1");
    REQUIRE(cached);
    CHECK(*cached == *before);
  }
}

TEST_CASE("a runtime's change feed keeps its position under "
          "cachebus.change-feed-consumer, and a retention under a second "
          "is refused",
          "[writepaths][store-setup][postgres][change-feed]") {
  temp_dir dir;
  auto rules_path = dir.file("rules.ini");
  std::ofstream{rules_path} << stored_rules;
  auto conninfo = pg_cluster::shared().create_database();
  std::vector<std::string> args{"--cachebus.store=postgresql:" + conninfo,
                                "--cachebus.rules=" + rules_path,
                                "--cachebus.shards=1"};
  auto with = [&](std::string extra) {
    auto out = args;
    out.push_back(std::move(extra));
    return out;
  };
  auto bad = runtime::start(with("--cachebus.change-feed-retention=500ms"));
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_config));
  auto rt = runtime::start(with("--cachebus.change-feed-consumer=shop"));
  REQUIRE(rt);
  REQUIRE((*rt)->change_feed());
  // Its position is saved before it reads anything.
  CHECK(query_value(conninfo, "SELECT count(*) FROM cachebus_change_cursors "
                              "WHERE consumer = 'shop'")
        == "1");
}
