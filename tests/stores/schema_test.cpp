// The rules every write passes before any backend sees it, and the status
// and result value types.
#include <catch2/catch.hpp>

#include "cachebus/stores/result.hpp"
#include "cachebus/stores/schema.hpp"
#include "cachebus/stores/status.hpp"

#include "store_kinds.hpp"

using namespace cachebus::stores;

TEST_CASE("names are lowercase identifiers of at most 63 characters",
          "[stores][schema]") {
  for (auto name :
       {"a", "_", "users", "user_profiles", "a1", "_x9_",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"})
    CHECK(schema::valid_name(name));
  for (auto name :
       {"", "1a", "Users", "user-profiles", "a b", "a;", "ä", "a.b",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"})
    CHECK_FALSE(schema::valid_name(name));
}

TEST_CASE("a write is checked against its resource's declared fields",
          "[stores][schema]") {
  schema s{store_limits{8, 4}};
  REQUIRE(s.declare("users", {"name"}).ok());
  CHECK(s.check(record_write{"users", "1", {{"name", "12345678"}}}).ok());
  CHECK(s.check(record_write{"users", "1", {{"name", "123456789"}}}).code()
        == store_errc::value_too_large);
  CHECK(s.check(record_write{"users", "12345", {}}).code()
        == store_errc::invalid_argument);
  CHECK(s.check(record_write{"users", "1", {{"email", "x"}}}).code()
        == store_errc::invalid_field);
  CHECK(s.check(record_write{"people", "1", {}}).code()
        == store_errc::unknown_resource);
}

TEST_CASE("a batch error names the offending write", "[stores][schema]") {
  schema s;
  REQUIRE(s.declare("users", {"name"}).ok());
  auto st = s.check(std::vector<record_write>{{"users", "1", {{"name", "a"}}},
                                              {"users", "2", {{"nick", "b"}}}});
  CHECK(st.code() == store_errc::invalid_field);
  CHECK_THAT(st.message(), Catch::StartsWith("write #1 of the batch")
                             && Catch::Contains("'nick'"));
}

TEST_CASE("ids must be valid UTF-8 without NUL bytes", "[stores][schema]") {
  schema s;
  REQUIRE(s.declare("users", {}).ok());
  for (std::string id : {"plain", "caf\xc3\xa9", "\xe2\x82\xac",
                         "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"})
    CHECK(s.check_key("users", id).ok());
  for (std::string id :
       {std::string{"\x80"}, std::string{"\xc3"},
        std::string{"\xe0\x80\xaf"},     // overlong
        std::string{"\xed\xa0\x80"},     // surrogate
        std::string{"\xf4\x90\x80\x80"}, // > U+10FFFF
        std::string{"\xf8\x88\x80\x80\x80"}, std::string{"a\0", 2}})
    CHECK(s.check_key("users", id).code() == store_errc::invalid_argument);
}

TEST_CASE("a status prints its code and message", "[stores][status]") {
  status ok;
  CHECK(ok.ok());
  CHECK(ok.to_string() == "ok");
  status err{store_errc::unavailable, "server down"};
  CHECK_FALSE(err.ok());
  CHECK(err.to_string() == "unavailable: server down");
  CHECK(to_string(store_errc::value_too_large) == "value_too_large");
}

TEST_CASE("a result holds either a value or an error", "[stores][status]") {
  result<int> good{42};
  REQUIRE(good.ok());
  CHECK(*good == 42);
  CHECK(good.error().ok());
  result<int> bad{status{store_errc::not_found, "nope"}};
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == store_errc::not_found);
  CHECK(bad.error().message() == "nope");
}
