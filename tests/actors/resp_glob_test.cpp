// Redis's glob patterns as SCAN MATCH reads them, and the literal prefix
// that lets SCAN visit only a range of the ordered index.
#include <catch2/catch.hpp>

#include <string>

#include "cachebus/actors/resp/resp_glob.hpp"

using namespace cachebus;

TEST_CASE("Redis globs match as Redis's stringmatchlen does", "[resp][glob]") {
  CHECK(resp_glob_match("*", ""));
  CHECK(resp_glob_match("*", "anything"));
  CHECK(resp_glob_match("", ""));
  CHECK_FALSE(resp_glob_match("", "x"));
  CHECK(resp_glob_match("h?llo", "hello"));
  CHECK_FALSE(resp_glob_match("h?llo", "hllo"));
  CHECK(resp_glob_match("h*llo", "hllo"));
  CHECK(resp_glob_match("h*llo", "heeeello"));
  CHECK(resp_glob_match("h[ae]llo", "hallo"));
  CHECK_FALSE(resp_glob_match("h[ae]llo", "hillo"));
  CHECK(resp_glob_match("h[^e]llo", "hallo"));
  CHECK_FALSE(resp_glob_match("h[^e]llo", "hello"));
  CHECK(resp_glob_match("h[a-b]llo", "hbllo"));
  CHECK(resp_glob_match("h[b-a]llo", "hallo")); // a reversed range
  CHECK_FALSE(resp_glob_match("h[a-b]llo", "hcllo"));
  CHECK(resp_glob_match("a\\*b", "a*b"));
  CHECK_FALSE(resp_glob_match("a\\*b", "axb"));
  CHECK(resp_glob_match("[\\]]", "]"));
  CHECK(resp_glob_match("a*b*c*d", "axxbyyczzd"));
  CHECK_FALSE(resp_glob_match("a*b*c*d", "axxbyyczz"));
  CHECK(resp_glob_match("*:1", "user:1"));
  CHECK(resp_glob_match("x\\", "x\\")); // a trailing backslash is literal
  CHECK(
    resp_glob_match(std::string_view{"a\0b", 3}, std::string_view{"a\0b", 3}));
}

TEST_CASE("a pathological glob takes time linear in its text, not exponential",
          "[resp][glob]") {
  std::string pattern;
  for (int i = 0; i < 40; ++i)
    pattern += "a*";
  pattern += "b";
  std::string text(5000, 'a');
  CHECK_FALSE(resp_glob_match(pattern, text)); // would not end if exponential
}

TEST_CASE("a glob's literal prefix ends at its first wildcard",
          "[resp][glob]") {
  CHECK(resp_glob_prefix("user:*") == "user:");
  CHECK(resp_glob_prefix("user:?x") == "user:");
  CHECK(resp_glob_prefix("user:[ab]") == "user:");
  CHECK(resp_glob_prefix("user:\\*:*") == "user:*:");
  CHECK(resp_glob_prefix("*x") == "");
  CHECK(resp_glob_prefix("plain") == "plain");
}
