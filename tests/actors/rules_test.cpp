// The rules file as documented (the example in rules.hpp, parsed as it
// stands; inline comments), what a key means (the most specific template
// owns it) and which record ids the rules accept (rules::check_id).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "cachebus/actors/invalidation/rules.hpp"
#include "cachebus/actors/node/error.hpp"

using namespace cachebus;

namespace {

// The example of rules.hpp's opening comment: the lines from "//   #
// comment" on that are "//" or start with "//   ", without that prefix.
std::string header_example() {
  std::ifstream in{std::string{CACHEBUS_SOURCE_DIR}
                   + "/actors/invalidation/rules.hpp"};
  REQUIRE(in);
  std::string line;
  std::ostringstream out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line != "//   # comment")
      continue;
    inside = true;
    if (line == "//")
      out << '\n';
    else if (line.rfind("//   ", 0) == 0)
      out << line.substr(5) << '\n';
    else
      break;
  }
  REQUIRE(inside);
  return out.str();
}

rules parsed(std::string_view text) {
  auto rs = rules::parse(text);
  if (!rs)
    FAIL(describe(rs.error()));
  return std::move(*rs);
}

using strings = std::vector<std::string>;

} // namespace

// -- the file format
// ----------------------------------------------------------------

TEST_CASE("the rules example in rules.hpp parses as it stands",
          "[rules][docs]") {
  auto text = header_example();
  INFO(text);
  CHECK_THAT(text, Catch::Contains("# fetch defaults"));
  auto rs = parsed(text);
  auto* users = rs.find("users");
  REQUIRE(users != nullptr);
  CHECK(users->keys
        == strings{"user:{id}", "user:{id}:profile", "user:{id}:posts"});
  CHECK(users->tags == strings{"user:{id}"});
  CHECK(users->dependents == strings{"feeds"});
  CHECK(users->ttl == std::chrono::minutes(5));
  CHECK(users->stale_while_revalidate == std::chrono::seconds(10));
  CHECK(users->stale_if_error == std::chrono::minutes(1));
  CHECK(users->fields == strings{"name", "email"});
  CHECK(rs.contains("feeds"));
}

TEST_CASE("the README's rules for a stored resource parse as written",
          "[rules][docs]") {
  // The README's block under "A node's system of record", verbatim.
  auto rs = parsed(
    "# rules.ini: every rule with a `fields` line is a stored resource\n"
    "[users]\n"
    "keys = user:{id}, user:{id}:profile   # the first one is the record's "
    "key\n"
    "tags = user:{id}\n"
    "fields = name, email                  # its fields in the store\n");
  auto* users = rs.find("users");
  REQUIRE(users != nullptr);
  CHECK(users->keys == strings{"user:{id}", "user:{id}:profile"});
  CHECK(users->fields == strings{"name", "email"});
}

TEST_CASE("a '#' or ';' after a blank starts a comment, one glued to text "
          "is part of the value",
          "[rules]") {
  auto ok = parsed("  # an indented comment\n"
                   "[items]   ; the section\n"
                   "keys = item#{id},\titem;{id}:x\t# two templates\n"
                   "tags = item:{id} ;the tag\n"
                   "ttl = 10s ; ten seconds\n");
  auto* items = ok.find("items");
  REQUIRE(items != nullptr);
  CHECK(items->keys == strings{"item#{id}", "item;{id}:x"});
  CHECK(items->tags == strings{"item:{id}"});
  CHECK(items->ttl == std::chrono::seconds(10));
}

TEST_CASE("a value with a glued '#' that is no template is refused with "
          "its line",
          "[rules]") {
  auto rs = rules::parse("[items]\nkeys = item:{id}\nttl = 10s#later\n");
  REQUIRE_FALSE(rs);
  CHECK(is(rs.error(), errc::invalid_rule));
  CHECK_THAT(describe(rs.error()),
             Catch::Contains("line 3") && Catch::Contains("10s#later"));
}

// -- what a key means
// ---------------------------------------------------------------

TEST_CASE("a key belongs to the most specific template that makes it",
          "[rules][keys]") {
  auto rs = parsed("[users]\n"
                   "keys = user:{id}, user:{id}:posts\n"
                   "tags = user:{id}\n"
                   "[pairs]\n"
                   "keys = pair:{id}:{id}\n"
                   "[stats]\n"
                   "keys = user:all\n");
  auto m = rs.match_key("user:8:posts");
  REQUIRE(m.owner != nullptr);
  CHECK(m.owner->resource == "users");
  CHECK(m.index == 1);
  CHECK(m.id == "8");
  m = rs.match_key("user:8:x");
  REQUIRE(m.owner != nullptr);
  CHECK(m.index == 0);
  CHECK(m.id == "8:x");
  m = rs.match_key("user:all"); // the literal key beats user:{id}
  REQUIRE(m.owner != nullptr);
  CHECK(m.owner->resource == "stats");
  CHECK(m.id.empty());
  m = rs.match_key("pair:ab:ab"); // every {id} the same id
  REQUIRE(m.owner != nullptr);
  CHECK(m.owner->resource == "pairs");
  CHECK(m.id == "ab");
  CHECK(rs.match_key("pair:ab:cd").key_template == nullptr);
  CHECK(rs.match_key("session:1").key_template == nullptr);
  CHECK(rs.match_key("user:").key_template == nullptr);
}

TEST_CASE("two templates of equal specificity make a key ambiguous",
          "[rules][keys]") {
  auto rs = parsed("[a]\nkeys = a:{id}:x\n[b]\nkeys = a:x:{id}\n");
  auto m = rs.match_key("a:x:x");
  CHECK(m.ambiguous);
  CHECK(m.owner == nullptr);
  CHECK(rs.rule_for_key("a:x:x") == nullptr);
  CHECK(rs.rule_for_key("a:y:x") != nullptr);
}

TEST_CASE("a key's tags are its rule's, expanded with the id its template "
          "captures",
          "[rules][keys]") {
  auto rs = parsed("[users]\n"
                   "keys = user:{id}, user:{id}:posts\n"
                   "tags = user:{id}, people\n"
                   "[plain]\n"
                   "keys = plain:{id}\n");
  strings tags{"mine", "people"};
  rs.add_key_tags("user:8:posts", tags);
  CHECK(tags == strings{"mine", "people", "user:8"});
  strings none;
  rs.add_key_tags("plain:1", none);
  rs.add_key_tags("other:1", none);
  CHECK(none.empty());
}

// -- which ids
// ----------------------------------------------------------------------

TEST_CASE("an id that would make another record's key is refused, naming "
          "the id, the key and the template that owns it",
          "[rules][ids]") {
  auto rs = parsed("[users]\n"
                   "keys = user:{id}, user:{id}:posts\n"
                   "tags = user:{id}\n"
                   "[orders]\n"
                   "keys = order:{id}, order:{id}:lines\n");
  auto err = rs.check_id("users", "8:posts");
  REQUIRE(err);
  CHECK(is(err, errc::invalid_key));
  auto text = describe(err);
  CHECK_THAT(text, Catch::Contains("\"8:posts\"")
                     && Catch::Contains("\"user:8:posts\"")
                     && Catch::Contains("user:{id}:posts")
                     && Catch::Contains("id \"8\""));
  // Its derived key can be another record's canonical key too: orders/"x"
  // has "order:x:lines", so the order "x:lines" would take it.
  CHECK(is(rs.check_id("orders", "x:lines"), errc::invalid_key));
  // ':' alone is fine where no template can mistake the id.
  CHECK_FALSE(rs.check_id("users", "8"));
  CHECK_FALSE(rs.check_id("users", "8:post"));
  CHECK_FALSE(rs.check_id("orders", "a:b"));
  CHECK(is(rs.check_id("planets", "1"), errc::unknown_resource));
  CHECK(is(rs.check_id("users", ""), errc::invalid_argument));
}

TEST_CASE("an id whose key or derived key or tag would be too long for the "
          "node is refused",
          "[rules][ids]") {
  auto rs = parsed("[users]\n"
                   "keys = user:{id}, user:{id}:posts\n"
                   "tags = a-long-tag-prefix:{id}\n");
  // "user:" + 10 = 15; "user:" + 10 + ":posts" = 21; the tag is 28.
  std::string id(10, 'x');
  CHECK_FALSE(rs.check_id("users", id, 28));
  auto err = rs.check_id("users", id, 27);
  REQUIRE(err);
  CHECK(is(err, errc::invalid_key));
  CHECK_THAT(describe(err), Catch::Contains("tag")
                              && Catch::Contains("cachebus.max-key-size"));
  err = rs.check_id("users", id, 20);
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("user:{id}:posts"));
  err = rs.check_id("users", std::string(1020, 'x'), 1024);
  REQUIRE(err);
  CHECK_THAT(describe(err),
             Catch::Contains("1025 bytes") && Catch::Contains("(1020 bytes)"));
}

TEST_CASE("a bad rules file is refused naming the file and the line once",
          "[rules]") {
  char path[] = "/tmp/cachebus-rules-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::string text = "[users]\nkeys = user:{id}\nbogus = 1\n";
  REQUIRE(::write(fd, text.data(), text.size())
          == static_cast<ssize_t>(text.size()));
  ::close(fd);
  auto r = rules::load(path);
  ::unlink(path);
  REQUIRE_FALSE(r);
  auto msg = describe(r.error());
  INFO(msg);
  CHECK(
    msg.rfind("cachebus: invalid_rule: " + std::string{path} + ": line 3", 0)
    == 0);
  CHECK(msg.find("invalid_rule", 20) == std::string::npos);
}
