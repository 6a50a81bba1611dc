#include "cachebus/bus/subscription_table.hpp"

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"

#include "bus_fixture.hpp"

using namespace cachebus;

namespace {

// Three live actors to stand for subscribers: the table only needs handles.
struct table_fixture {
  test::bus_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor a_actor{sys};
  caf::scoped_actor b_actor{sys};
  caf::scoped_actor c_actor{sys};
  caf::strong_actor_ptr a = ptr(a_actor);
  caf::strong_actor_ptr b = ptr(b_actor);
  caf::strong_actor_ptr c = ptr(c_actor);
  subscription_table table;

  static caf::strong_actor_ptr ptr(caf::scoped_actor& x) {
    return caf::actor_cast<caf::strong_actor_ptr>(x.ptr());
  }

  std::vector<subscription_table::subscriber> match(std::string_view topic) {
    std::vector<subscription_table::subscriber> result;
    table.match(topic, result);
    std::sort(result.begin(), result.end());
    return result;
  }

  std::vector<subscription_table::subscriber>
  sorted(std::vector<subscription_table::subscriber> xs) {
    std::sort(xs.begin(), xs.end());
    return xs;
  }
};

} // namespace

TEST_CASE_METHOD(table_fixture,
                 "the table finds exact and wildcard subscribers, each once") {
  table.subscribe(a, "cache:users");
  table.subscribe(b, "cache:*");
  table.subscribe(c, "cache:u*");
  table.subscribe(c, "cache:users");
  table.subscribe(c, "*");
  CHECK(match("cache:users") == sorted({a.get(), b.get(), c.get()}));
  CHECK(match("cache:orders") == sorted({b.get(), c.get()}));
  CHECK(match("cache:u") == sorted({b.get(), c.get()}));
  CHECK(match("cache:") == sorted({b.get(), c.get()}));
  CHECK(match("other") == sorted({c.get()}));
  table.unsubscribe(c.get(), "*");
  CHECK(match("other").empty());
  CHECK(match("cache:users") == sorted({a.get(), b.get(), c.get()}));
}

TEST_CASE_METHOD(table_fixture,
                 "the table tells the bus when to start and stop monitoring") {
  CHECK(table.subscribe(a, "cache:users"));
  CHECK(!table.subscribe(a, "cache:users"));
  CHECK(!table.subscribe(a, "cache:*"));
  CHECK(table.subscribers() == 1);
  CHECK(table.patterns() == 2);
  CHECK(!table.unsubscribe(a.get(), "cache:orders"));
  CHECK(!table.unsubscribe(b.get(), "cache:users"));
  CHECK(!table.unsubscribe(a.get(), "cache:users"));
  CHECK(table.contains(a.get(), "cache:*"));
  CHECK(!table.contains(a.get(), "cache:users"));
  CHECK(table.unsubscribe(a.get(), "cache:*"));
  CHECK(table.subscribers() == 0);
  CHECK(table.patterns() == 0);
}

TEST_CASE_METHOD(table_fixture,
                 "erasing a subscriber leaves no empty topic or prefix") {
  table.subscribe(a, "cache:users");
  table.subscribe(a, "cache:*");
  table.subscribe(a, "cache:o*");
  table.subscribe(b, "cache:*");
  CHECK(table.patterns() == 3);
  CHECK(table.erase(a.get()));
  CHECK(!table.erase(a.get()));
  CHECK(table.subscribers() == 1);
  CHECK(table.patterns() == 1);
  CHECK(match("cache:users") == sorted({b.get()}));
  CHECK(match("cache:orders") == sorted({b.get()}));
  CHECK(table.erase(b.get()));
  CHECK(table.patterns() == 0);
  CHECK(match("cache:orders").empty());
}
