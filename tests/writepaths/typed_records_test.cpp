// Typed records: record_cache::fetch returns the record (single flight, a
// corrupt canonical entry is an error), field_as reads typed fields, the
// store loader's entries read as cached_record, and the example user service
// (example/) does the same with the old byte API and the typed one.
#include "wp_fixture.hpp"

#include <atomic>
#include <latch>
#include <thread>

#include "cachebus/actors/flight/store_loader.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"
#include "cachebus/actors/writepaths/record_fields.hpp"
#include "cachebus/actors/writepaths/store_setup.hpp"

#include "example/user_service_new.hpp"
#include "example/user_service_old.hpp"

using namespace cachebus;
using cachebus::app::temp_dir;
using namespace cachebus::test;

namespace {

constexpr std::string_view service_rules = "[users]\n"
                                           "keys = user:{id}, user:{id}:card\n"
                                           "fields = name, email, age, posts\n";

// A real SQLite store that counts the loads reaching it (a decorator).
class counting_store final : public stores::record_store {
 public:
  explicit counting_store(std::shared_ptr<stores::record_store> inner)
      : record_store(inner->limits()), inner_(std::move(inner)) {
    for (auto& r : inner_->resources())
      REQUIRE(declare(r, inner_->fields(r)).ok());
  }

  std::atomic<int> loads{0};
  /// The store's own work per load (a slow store).
  caf::timespan work{0};

 protected:
  stores::result<stores::record> do_load(std::string_view resource,
                                         std::string_view id) override {
    ++loads;
    auto r = inner_->load(resource, id);
    if (work.count() > 0)
      std::this_thread::sleep_for(work);
    return r;
  }

  stores::result<std::vector<uint64_t>>
  do_apply(const std::vector<stores::record_write>& batch) override {
    return inner_->apply(batch);
  }

 private:
  std::shared_ptr<stores::record_store> inner_;
};

// The service's setup: a node whose loader is the store loader (the byte
// API reads records by key through it) and a record cache over one SQLite
// store.
struct service_env {
  temp_dir dir;
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<counting_store> store;
  loader_actor loader;
  std::unique_ptr<node> n;
  std::unique_ptr<record_cache> rc;

  service_env() {
    auto rs = rules::parse(service_rules);
    REQUIRE(rs);
    auto s = open_store(
      store_spec{store_spec::kind_t::sqlite, dir.file("users.db")}, *rs);
    REQUIRE(s);
    store = std::make_shared<counting_store>(std::move(*s));
    loader = spawn_store_loader(sys, store, *rs);
    node_options opts;
    opts.shards = 2;
    node_setup setup;
    setup.rules = *rs;
    setup.loader = loader;
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
    auto r = record_cache::start(*n, store, write_back_options{});
    if (!r)
      FAIL(describe(r.error()));
    rc = std::move(*r);
  }

  ~service_env() {
    rc.reset();
    n->stop();
    caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
  }

  // Writes behind the cache's back (another service, a migration).
  uint64_t behind(const std::string& id, stores::field_map fields) {
    auto v = store->apply({{"users", id, std::move(fields)}});
    REQUIRE(v.ok());
    return v->front();
  }
};

} // namespace

TEST_CASE("record_cache::fetch returns the record, and concurrent fetches "
          "of a cold record read the store once",
          "[writepaths][typed]") {
  service_env e;
  auto v = e.behind("8", {{"name", "Ada"}, {"age", "36"}});
  e.store->work = std::chrono::milliseconds(20);
  e.store->loads = 0;
  constexpr int callers = 8;
  std::latch start{callers};
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i)
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto rec = e.rc->fetch("users", "8");
      if (rec && rec->fields.at("name") == "Ada" && rec->version == v
          && rec->resource == "users" && rec->id == "8")
        ++right;
    });
  for (auto& t : threads)
    t.join();
  CHECK(right == callers);
  CHECK(e.store->loads == 1);
  // Cached as the record: the canonical key holds it at its version.
  auto cached = e.n->get_as<cached_record>("user:8");
  REQUIRE(cached);
  CHECK(cached->version == v);
  CHECK(failed_with(e.rc->fetch("users", "404").error(), errc::not_found));
}

TEST_CASE("a canonical key holding bytes that are not a record is an error, "
          "never a record",
          "[writepaths][typed]") {
  service_env e;
  e.behind("5", {{"name", "Eve"}});
  REQUIRE(e.n->set("user:5", "not a record"));
  auto rec = e.rc->fetch("users", "5");
  REQUIRE_FALSE(rec);
  CHECK(failed_with(rec.error(), errc::decode_failed));
  CHECK(describe(rec.error()).find("key \"user:5\"") != std::string::npos);
  CHECK(*e.n->get("user:5") == "not a record");
  auto typed = e.n->fetch_as<cached_record>("user:5");
  CHECK(failed_with(typed.error(), errc::decode_failed));
}

TEST_CASE("field_as reads typed fields and names the record and field it "
          "cannot read",
          "[writepaths][typed]") {
  stores::record rec{"users", "8", {{"age", "36"}, {"bad", "x"}}, 4};
  CHECK(*field_as<int>(rec, "age") == 36);
  CHECK(*field_as<std::string>(rec, "age") == "36");
  CHECK(*field_or<int>(rec, "posts", 0) == 0);
  auto missing = field_as<int>(rec, "posts");
  CHECK(failed_with(missing.error(), errc::invalid_field));
  CHECK(describe(missing.error())
        == "cachebus: invalid_field: record users/8 field \"posts\" is not "
           "set");
  auto bad = field_as<int>(rec, "bad");
  CHECK(failed_with(bad.error(), errc::decode_failed));
  CHECK(describe(bad.error())
        == "cachebus: decode_failed: the value of users/8 field \"bad\" does "
           "not decode: expected a signed integer, got \"x\"");
  CHECK(failed_with(field_or<int>(rec, "bad", 0).error(), errc::decode_failed));
}

TEST_CASE("the store loader's entries read as cached_record with fetch_as",
          "[writepaths][typed]") {
  service_env e;
  auto v = e.behind("3", {{"name", "Lin"}});
  auto rec = e.n->fetch_as<cached_record>("user:3");
  REQUIRE(rec);
  CHECK(rec->version == v);
  CHECK(rec->fields == stores::field_map{{"name", "Lin"}});
}

TEMPLATE_TEST_CASE("the example user service reads, updates and derives "
                   "records the same with the old byte API and the typed API",
                   "[writepaths][typed][example]",
                   example::old_api::user_service,
                   example::new_api::user_service) {
  service_env e;
  TestType svc{*e.n, *e.rc};
  e.behind(
    "8", {{"name", "Ada"}, {"email", "ada@x"}, {"age", "36"}, {"posts", "3"}});
  CHECK(*svc.get_user("8") == example::user{"Ada", "ada@x", 36});
  CHECK(*svc.get_card("8") == example::card{"Ada (36)", 3});
  auto loads = e.store->loads.load();
  CHECK(*svc.get_card("8") == example::card{"Ada (36)", 3});
  CHECK(*svc.get_user("8") == example::user{"Ada", "ada@x", 36});
  CHECK(e.store->loads == loads); // hits
  // Write-through: the record and the derived card follow the update.
  REQUIRE(svc.update_user("8", {"Ada L", "ada@y", 37}));
  CHECK(*svc.get_user("8") == example::user{"Ada L", "ada@y", 37});
  CHECK(*svc.get_card("8") == example::card{"Ada L (37)", 3});
  // Bad data in the store is an error, not a user with age 0.
  e.behind("9",
           {{"name", "Bob"}, {"email", "b@x"}, {"age", "old"}, {"posts", "1"}});
  CHECK_FALSE(svc.get_user("9"));
  CHECK_FALSE(svc.get_card("9"));
  CHECK(failed_with(svc.get_user("404").error(), errc::not_found));
}
