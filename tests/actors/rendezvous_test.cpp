// Rendezvous hashing: every node computes the same owner, keys spread evenly,
// and a membership change moves only the keys of the member that came or went.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "cachebus/actors/flight/rendezvous.hpp"

using namespace cachebus;

TEST_CASE("the owner of a key does not depend on the order of the members",
          "[rendezvous]") {
  std::vector<std::string> abc{"a", "b", "c"};
  std::vector<std::string> cab{"c", "a", "b"};
  for (int i = 0; i < 1000; ++i) {
    auto key = "user:" + std::to_string(i);
    CHECK(rendezvous_owner(key, abc) == rendezvous_owner(key, cab));
  }
}

TEST_CASE("keys spread evenly over the members", "[rendezvous]") {
  std::vector<std::string> members{"n0", "n1", "n2"};
  std::map<std::string, int> owned;
  constexpr int keys = 30000;
  for (int i = 0; i < keys; ++i)
    ++owned[std::string{rendezvous_owner("k" + std::to_string(i), members)}];
  REQUIRE(owned.size() == 3);
  for (auto& [member, n] : owned) {
    INFO(member << " owns " << n);
    CHECK(n > keys / 3 * 9 / 10);
    CHECK(n < keys / 3 * 11 / 10);
  }
}

TEST_CASE("removing a member moves only the keys it owned", "[rendezvous]") {
  std::vector<std::string> before{"n0", "n1", "n2", "n3"};
  std::vector<std::string> after{"n0", "n1", "n3"};
  int moved = 0;
  for (int i = 0; i < 10000; ++i) {
    auto key = "order:" + std::to_string(i);
    auto was = rendezvous_owner(key, before);
    auto is = rendezvous_owner(key, after);
    if (was != "n2")
      CHECK(was == is);
    else
      ++moved;
  }
  CHECK(moved > 2000);
  CHECK(moved < 3000);
}

TEST_CASE("nobody owns a key when there are no members", "[rendezvous]") {
  CHECK(rendezvous_owner("k", {}).empty());
}

TEST_CASE("member and key boundaries are part of the score", "[rendezvous]") {
  CHECK(rendezvous_score("ab", "c") != rendezvous_score("a", "bc"));
}
