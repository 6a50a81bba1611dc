// The contract of every record store, stated once and checked against the
// in-memory store, SQLite (a temporary file) and a real PostgreSQL server.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store_kinds.hpp"

using namespace cachebus::stores;
using namespace cachebus::test;

#define STORE_KINDS memory_kind, sqlite_kind, postgres_kind

TEMPLATE_TEST_CASE("a record that was never written is not found",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto res = store->load("users", "1");
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code() == store_errc::not_found);
}

TEMPLATE_TEST_CASE("an applied write loads back with its fields and version",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto versions = require_ok(store->apply(
    {{"users", "1", {{"name", "Ada"}, {"email", "ada@example.org"}}}}));
  REQUIRE(versions.size() == 1);
  CHECK(versions[0] >= 1);
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.resource == "users");
  CHECK(rec.id == "1");
  CHECK(rec.fields == field_map{{"name", "Ada"}, {"email", "ada@example.org"}});
  CHECK(rec.version == versions[0]);
  // Another resource with the same id is another record.
  CHECK(store->load("orders", "1").error().code() == store_errc::not_found);
}

TEMPLATE_TEST_CASE("every write to a record gets a larger version",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto first = require_ok(store->apply({{"users", "1", {{"name", "a"}}}}));
  // The same record twice in one batch: two writes, two versions.
  auto second = require_ok(store->apply({{"users", "1", {{"name", "b"}}},
                                         {"orders", "9", {{"total", "3"}}},
                                         {"users", "1", {{"age", "36"}}}}));
  REQUIRE(second.size() == 3);
  CHECK(second[0] > first[0]);
  CHECK(second[2] > second[0]);
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.version == second[2]);
  CHECK(rec.fields == field_map{{"name", "b"}, {"age", "36"}});
  // A write without fields still counts as a write.
  auto third = require_ok(store->apply({{"users", "1", {}}}));
  CHECK(third[0] > second[2]);
  CHECK(require_ok(store->load("users", "1")).version == third[0]);
  CHECK(require_ok(store->load("users", "1")).fields == rec.fields);
}

TEMPLATE_TEST_CASE("later writes merge their fields and the last one wins",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  require_ok(store->apply({{"users", "7", {{"name", "Grace"}, {"age", "1"}}}}));
  require_ok(
    store->apply({{"users", "7", {{"age", "2"}, {"bio", "admiral"}}}}));
  auto rec = require_ok(store->load("users", "7"));
  CHECK(rec.fields
        == field_map{{"name", "Grace"}, {"age", "2"}, {"bio", "admiral"}});
}

TEMPLATE_TEST_CASE("values are stored byte for byte, quotes and SQL included",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  std::string binary;
  for (int i = 0; i < 256; ++i)
    binary += static_cast<char>(i);
  field_map nasty{
    {"name", "Robert'); DROP TABLE cachebus_fields; --"},
    {"email", "\"double\" 'single' `back` \\ $1 ?1 %s"},
    {"bio", binary},
    {"age", ""},
  };
  // Ids are UTF-8 text; quotes and SQL in them are data too.
  std::string id
    = "x'); DELETE FROM cachebus_records; -- \xc3\xbc \xf0\x9f\x98\x80";
  require_ok(store->apply({{"users", id, nasty}}));
  auto rec = require_ok(store->load("users", id));
  CHECK(rec.id == id);
  CHECK(rec.fields == nasty);
  CHECK(rec.fields["bio"].size() == 256);
}

TEMPLATE_TEST_CASE("a batch that names an unknown resource changes nothing",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto before = require_ok(store->apply({{"users", "1", {{"name", "old"}}}}));
  auto res = store->apply(
    {{"users", "1", {{"name", "new"}}}, {"invoices", "1", {{"total", "3"}}}});
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code() == store_errc::unknown_resource);
  CHECK_THAT(res.error().message(), Catch::Contains("invoices"));
  auto rec = require_ok(store->load("users", "1"));
  CHECK(rec.fields.at("name") == "old");
  CHECK(rec.version == before[0]);
}

TEMPLATE_TEST_CASE("a batch with an undeclared or malformed field changes "
                   "nothing",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  for (std::string field : {"password", "Name", "1st", "na-me", "", "name;"}) {
    INFO("field " << field);
    auto res = store->apply(
      {{"users", "1", {{"name", "x"}}}, {"users", "2", {{field, "x"}}}});
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code() == store_errc::invalid_field);
    CHECK(store->load("users", "1").error().code() == store_errc::not_found);
  }
}

TEMPLATE_TEST_CASE("an oversized value is refused and changes nothing",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  store_limits limits;
  limits.max_value_size = 16;
  auto store = kind.open(limits);
  declare_test_resources(*store);
  require_ok(store->apply({{"users", "1", {{"bio", std::string(16, 'a')}}}}));
  auto res = store->apply({{"users", "2", {{"name", "fine"}}},
                           {"users", "1", {{"bio", std::string(17, 'b')}}}});
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code() == store_errc::value_too_large);
  CHECK(require_ok(store->load("users", "1")).fields.at("bio")
        == std::string(16, 'a'));
  CHECK(store->load("users", "2").error().code() == store_errc::not_found);
}

TEMPLATE_TEST_CASE("a value of the default limit of 1 MiB is accepted",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  REQUIRE(store->limits().max_value_size == 1024 * 1024);
  std::string big(1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7919 % 251);
  require_ok(store->apply({{"users", "big", {{"bio", big}}}}));
  CHECK(require_ok(store->load("users", "big")).fields.at("bio") == big);
  auto res = store->apply({{"users", "big", {{"bio", big + "x"}}}});
  CHECK(res.error().code() == store_errc::value_too_large);
}

TEMPLATE_TEST_CASE("loading needs a declared resource and a well-formed id",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  CHECK(store->load("invoices", "1").error().code()
        == store_errc::unknown_resource);
  for (std::string id :
       {std::string{}, std::string{"a\0b", 3}, std::string{"\xff\xfe"},
        std::string{"\xc0\xaf"}, std::string(1025, 'i')}) {
    CHECK(store->load("users", id).error().code()
          == store_errc::invalid_argument);
    CHECK(store->apply({{"users", id, {{"name", "x"}}}}).error().code()
          == store_errc::invalid_argument);
  }
  CHECK(store->load("users", std::string(1024, 'i')).error().code()
        == store_errc::not_found);
}

TEMPLATE_TEST_CASE("declarations check names and accumulate fields",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  CHECK(store->resources().empty());
  require_ok(store->declare("users", {"name"}));
  require_ok(store->declare("orders", {}));
  require_ok(store->declare("users", {"email", "name"}));
  CHECK(store->resources() == std::vector<std::string>{"orders", "users"});
  CHECK(store->fields("users") == std::vector<std::string>{"email", "name"});
  CHECK(store->declare("Users", {"x"}).code() == store_errc::invalid_argument);
  CHECK(store->declare(std::string(64, 'a'), {}).code()
        == store_errc::invalid_argument);
  require_ok(store->declare(std::string(63, 'a'), {}));
  // A bad field refuses the whole declaration.
  CHECK(store->declare("users", {"phone", "bad name"}).code()
        == store_errc::invalid_field);
  CHECK(store->fields("users") == std::vector<std::string>{"email", "name"});
  CHECK(store->apply({{"users", "1", {{"email", "e"}, {"name", "n"}}}}).ok());
}

TEMPLATE_TEST_CASE("a large batch with repeated records keeps batch order: "
                   "versions rise and the last write of each field wins",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  // 150 writes over 40 records (each written several times, spread over the
  // batch), with changing fields: more than one chunk of a multi-row write.
  std::vector<record_write> batch;
  for (int i = 0; i < 150; ++i) {
    auto id = std::to_string(i % 40);
    field_map fields{{"name", "n" + std::to_string(i)}};
    if (i % 3 == 0)
      fields["email"] = "e" + std::to_string(i);
    batch.push_back({"users", id, fields});
  }
  auto versions = require_ok(store->apply(batch));
  REQUIRE(versions.size() == batch.size());
  for (size_t i = 1; i < versions.size(); ++i)
    CHECK(versions[i] > versions[i - 1]);
  for (int r = 0; r < 40; ++r) {
    // The expected record: the batch's writes of it, merged in order.
    field_map expected;
    uint64_t version = 0;
    for (size_t i = 0; i < batch.size(); ++i)
      if (batch[i].id == std::to_string(r)) {
        for (auto& [k, v] : batch[i].fields)
          expected[k] = v;
        version = versions[i];
      }
    auto rec = require_ok(store->load("users", std::to_string(r)));
    CHECK(rec.fields == expected);
    CHECK(rec.version == version);
  }
}

TEMPLATE_TEST_CASE("an empty batch succeeds and changes nothing",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  auto versions = require_ok(store->apply({}));
  CHECK(versions.empty());
  auto next = require_ok(store->apply({{"users", "1", {}}}));
  CHECK(next[0] >= 1);
}

TEMPLATE_TEST_CASE("concurrent writers from several threads lose no write",
                   "[stores][contract]", STORE_KINDS) {
  TestType kind;
  auto store = kind.open();
  declare_test_resources(*store);
  constexpr int threads = 4;
  constexpr int rounds = 40;
  std::vector<std::vector<uint64_t>> seen(threads);
  std::vector<std::string> errors(threads);
  {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        for (int i = 0; i < rounds; ++i) {
          auto res
            = store->apply({{"users", "shared", {{"name", std::to_string(t)}}},
                            {"users",
                             "own" + std::to_string(t),
                             {{"age", std::to_string(i)}}}});
          if (!res.ok()) {
            errors[t] = res.error().to_string();
            return;
          }
          seen[t].insert(seen[t].end(), res->begin(), res->end());
        }
      });
    for (auto& worker : workers)
      worker.join();
  }
  for (const auto& err : errors)
    CHECK(err.empty());
  std::set<uint64_t> all;
  uint64_t max_shared = 0;
  for (const auto& versions : seen) {
    REQUIRE(versions.size() == 2 * rounds);
    // Within one thread, versions only grow (its writes are ordered).
    CHECK(std::is_sorted(versions.begin(), versions.end()));
    for (size_t i = 0; i < versions.size(); i += 2)
      max_shared = std::max(max_shared, versions[i]);
    all.insert(versions.begin(), versions.end());
  }
  CHECK(all.size() == threads * rounds * 2); // no version handed out twice
  CHECK(require_ok(store->load("users", "shared")).version == max_shared);
  for (int t = 0; t < threads; ++t)
    CHECK(require_ok(store->load("users", "own" + std::to_string(t)))
            .fields.at("age")
          == std::to_string(rounds - 1));
}
