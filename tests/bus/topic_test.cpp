#include "cachebus/bus/topic.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "caf/sec.hpp"

using namespace cachebus;

namespace {

bool refused(const caf::error& err) {
  return err == caf::sec::invalid_argument;
}

} // namespace

TEST_CASE("a resource's topic is the resource under the cache: prefix") {
  CHECK(resource_topic("users") == "cache:users");
  CHECK(resource_topic("") == "cache:");
  CHECK(!check_topic(resource_topic("orders")));
}

TEST_CASE("an exact pattern matches only its own topic") {
  CHECK(topic_matches("cache:users", "cache:users"));
  CHECK(!topic_matches("cache:users", "cache:user"));
  CHECK(!topic_matches("cache:users", "cache:users2"));
  CHECK(!topic_matches("cache:user", "cache:users"));
}

TEST_CASE("a trailing star matches every topic that starts with the prefix") {
  CHECK(is_wildcard("cache:*"));
  CHECK(!is_wildcard("cache:users"));
  CHECK(pattern_prefix("cache:*") == "cache:");
  CHECK(pattern_prefix("cache:users") == "cache:users");
  CHECK(topic_matches("cache:*", "cache:users"));
  CHECK(topic_matches("cache:*", "cache:orders"));
  CHECK(topic_matches("cache:*", "cache:"));
  CHECK(!topic_matches("cache:*", "cache"));
  CHECK(!topic_matches("cache:*", "other:users"));
  CHECK(topic_matches("cache:u*", "cache:users"));
  CHECK(!topic_matches("cache:u*", "cache:orders"));
  CHECK(topic_matches("*", "anything"));
}

TEST_CASE("topics must be non-empty, bounded, visible ASCII and star-free") {
  CHECK(!check_topic("cache:users"));
  CHECK(!check_topic("a"));
  CHECK(!check_topic(std::string(max_topic_size, 'x')));
  CHECK(refused(check_topic("")));
  CHECK(refused(check_topic(std::string(max_topic_size + 1, 'x'))));
  CHECK(refused(check_topic("cache:my users")));
  CHECK(refused(check_topic("cache:\tusers")));
  CHECK(refused(check_topic("cache:users\n")));
  CHECK(refused(check_topic(std::string("cache:\0users", 12))));
  CHECK(refused(check_topic("cache:\xc3\xa9t\xc3\xa9")));
  CHECK(refused(check_topic("cache:*")));
  CHECK(refused(check_topic("ca*he:users")));
}

TEST_CASE("patterns may end in one star and nowhere else") {
  CHECK(!check_pattern("cache:users"));
  CHECK(!check_pattern("cache:*"));
  CHECK(!check_pattern("*"));
  CHECK(!check_pattern(std::string(max_topic_size - 1, 'x') + "*"));
  CHECK(refused(check_pattern(std::string(max_topic_size, 'x') + "*")));
  CHECK(refused(check_pattern("")));
  CHECK(refused(check_pattern("**")));
  CHECK(refused(check_pattern("cache:*:profile")));
  CHECK(refused(check_pattern("*:users")));
  CHECK(refused(check_pattern("cache: *")));
}

TEST_CASE("a refusal says what was refused and why") {
  auto err = check_pattern("cache:*:x");
  REQUIRE(err);
  auto text = to_string(err.context());
  CHECK(text.find("cache:*:x") != std::string::npos);
  CHECK(text.find("last character") != std::string::npos);
}
