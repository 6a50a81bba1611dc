// Typed values: cachebus::codec<T> round-trips and refusals, and the node's
// get_as / set_as / fetch_as, which run the byte API underneath (validation,
// single flight, leases) and never serve a value that does not decode.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/codec.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

#include "support/gate.hpp"
#include "support/node_fixture.hpp"

using namespace cachebus;
using cachebus::test::gate;
using namespace std::chrono_literals;

namespace {

// A type of the embedder's own, with its codec: "x,y".
struct point {
  int x = 0;
  int y = 0;
  friend bool operator==(const point&, const point&) = default;
};

// A type whose codec refuses to encode negative values and throws on "!".
struct fussy {
  int v = 0;
};

} // namespace

template <>
struct cachebus::codec<point> {
  static caf::expected<std::string> encode(const point& p) {
    return std::to_string(p.x) + "," + std::to_string(p.y);
  }
  static caf::expected<point> decode(std::string_view bytes) {
    auto comma = bytes.find(',');
    if (comma == std::string_view::npos)
      return make_error(errc::decode_failed, "a point needs a comma");
    auto x = codec<int>::decode(bytes.substr(0, comma));
    auto y = codec<int>::decode(bytes.substr(comma + 1));
    if (!x || !y)
      return make_error(errc::decode_failed, "a point is two integers");
    return point{*x, *y};
  }
};

template <>
struct cachebus::codec<fussy> {
  static caf::expected<std::string> encode(const fussy& f) {
    if (f.v == 13)
      throw std::runtime_error("thirteen is unlucky");
    if (f.v < 0)
      return make_error(errc::invalid_argument, "negative values are refused");
    return std::to_string(f.v);
  }
  static caf::expected<fussy> decode(std::string_view bytes) {
    if (bytes == "!")
      throw std::runtime_error("bang");
    auto v = codec<int>::decode(bytes);
    if (!v)
      return std::move(v.error());
    return fussy{*v};
  }
};

static_assert(cacheable<std::string>);
static_assert(cacheable<int64_t>);
static_assert(cacheable<double>);
static_assert(cacheable<bool>);
static_assert(cacheable<point>);
static_assert(!cacheable<char>);
static_assert(!cacheable<std::vector<int>>);

namespace {

bool failed_with(const caf::error& err, errc code) {
  return err && is(err, code);
}

template <class T>
T round_trip(T value) {
  auto bytes = codec<T>::encode(value);
  REQUIRE(bytes);
  auto back = codec<T>::decode(*bytes);
  REQUIRE(back);
  return *back;
}

using fixture = cachebus::test::node_fixture;

} // namespace

TEST_CASE("the built-in codecs round-trip strings, numbers and booleans "
          "exactly",
          "[typed][codec]") {
  std::string nasty{"a\0b\"c\xff", 6};
  CHECK(round_trip(nasty) == nasty);
  CHECK(round_trip(std::string{}).empty());
  CHECK(round_trip(std::numeric_limits<int64_t>::min())
        == std::numeric_limits<int64_t>::min());
  CHECK(round_trip(std::numeric_limits<uint64_t>::max())
        == std::numeric_limits<uint64_t>::max());
  CHECK(round_trip(int16_t{-7}) == -7);
  CHECK(round_trip(0.1) == 0.1);
  CHECK(round_trip(1e300) == 1e300);
  CHECK(round_trip(std::numeric_limits<double>::denorm_min())
        == std::numeric_limits<double>::denorm_min());
  CHECK(round_trip(3.25f) == 3.25f);
  CHECK(std::signbit(round_trip(-0.0)));
  CHECK(round_trip(true));
  CHECK_FALSE(round_trip(false));
  // Decimal text other clients can read.
  CHECK(*codec<int>::encode(42) == "42");
  CHECK(*codec<double>::encode(0.5) == "0.5");
  CHECK(*codec<bool>::encode(true) == "true");
}

TEST_CASE("the built-in codecs refuse bytes that are not wholly their type",
          "[typed][codec]") {
  for (auto bad : {"", "12x", " 12", "12 ", "+", "0x10", "1e3"})
    CHECK(failed_with(codec<int>::decode(bad).error(), errc::decode_failed));
  CHECK(failed_with(codec<int8_t>::decode("128").error(), errc::decode_failed));
  CHECK(
    failed_with(codec<uint32_t>::decode("-1").error(), errc::decode_failed));
  CHECK(failed_with(codec<int64_t>::decode("99999999999999999999").error(),
                    errc::decode_failed));
  CHECK(
    failed_with(codec<double>::decode("1.5kg").error(), errc::decode_failed));
  CHECK(failed_with(codec<bool>::decode("1").error(), errc::decode_failed));
  CHECK(failed_with(codec<bool>::decode("True").error(), errc::decode_failed));
  auto err = codec<int>::decode("abc").error();
  CHECK(describe(err)
        == "cachebus: decode_failed: expected a signed integer, got \"abc\"");
}

TEST_CASE("set_as and get_as store a typed value as its codec's bytes",
          "[typed][node]") {
  fixture f;
  REQUIRE(f.n->set_as<int64_t>("count", -12));
  CHECK(*f.n->get("count") == "-12");
  CHECK(*f.n->get_as<int64_t>("count") == -12);
  REQUIRE(f.n->set_as("where", point{3, -4}));
  CHECK(*f.n->get("where") == "3,-4");
  CHECK(*f.n->get_as<point>("where") == point{3, -4});
  CHECK(failed_with(f.n->get_as<int>("absent").error(), errc::miss));
  // Validation is the byte API's: a bad key changes nothing.
  CHECK(failed_with(f.n->set_as<int>("", 1).error(), errc::invalid_key));
  set_options bad_ttl;
  bad_ttl.ttl = -1s;
  CHECK(
    failed_with(f.n->set_as<int>("k", 1, bad_ttl).error(), errc::invalid_ttl));
  CHECK(failed_with(f.n->get("k").error(), errc::miss));
  // Versions never go backwards, typed or not.
  set_options v5;
  v5.version = 5;
  REQUIRE(f.n->set_as<int>("versioned", 5, v5));
  set_options v4;
  v4.version = 4;
  CHECK(failed_with(f.n->set_as<int>("versioned", 4, v4).error(),
                    errc::stale_version));
  CHECK(*f.n->get_as<int>("versioned") == 5);
}

TEST_CASE("a cached value that does not decode is an error naming the key, "
          "never a value, and stays as it was",
          "[typed][node]") {
  fixture f;
  REQUIRE(f.n->set("age", "thirty"));
  auto got = f.n->get_as<int>("age");
  REQUIRE_FALSE(got);
  CHECK(failed_with(got.error(), errc::decode_failed));
  CHECK(describe(got.error())
        == "cachebus: decode_failed: the value of key \"age\" does not "
           "decode: expected a signed integer, got \"thirty\"");
  // fetch_as on such a hit does not run the loader and does not serve it.
  int runs = 0;
  auto fetched = f.n->fetch_as<int>("age", [&](const std::string&) {
    ++runs;
    return 30;
  });
  REQUIRE_FALSE(fetched);
  CHECK(failed_with(fetched.error(), errc::decode_failed));
  CHECK(runs == 0);
  CHECK(*f.n->get("age") == "thirty");
  // A codec that throws while decoding is the same error.
  REQUIRE(f.n->set("f", "!"));
  auto thrown = f.n->get_as<fussy>("f");
  REQUIRE_FALSE(thrown);
  CHECK(failed_with(thrown.error(), errc::decode_failed));
  CHECK(describe(thrown.error()).find("the codec threw: bang")
        != std::string::npos);
}

TEST_CASE("a value its codec refuses is encode_failed and caches nothing",
          "[typed][node]") {
  fixture f;
  auto refused = f.n->set_as("f", fussy{-1});
  REQUIRE_FALSE(refused);
  CHECK(failed_with(refused.error(), errc::encode_failed));
  CHECK(describe(refused.error()).find("negative values are refused")
        != std::string::npos);
  auto thrown = f.n->set_as("f", fussy{13});
  REQUIRE_FALSE(thrown);
  CHECK(failed_with(thrown.error(), errc::encode_failed));
  CHECK(describe(thrown.error()).find("thirteen is unlucky")
        != std::string::npos);
  // From a loader: the load fails with that error and nothing is cached.
  auto fetched
    = f.n->fetch_as<fussy>("f", [](const std::string&) { return fussy{-2}; });
  REQUIRE_FALSE(fetched);
  CHECK(failed_with(fetched.error(), errc::encode_failed));
  CHECK(failed_with(f.n->get("f").error(), errc::miss));
  CHECK(f.locks().held == 0);
}

TEST_CASE("fetch_as loads a typed value once, caches its bytes and returns "
          "it decoded",
          "[typed][fetch]") {
  fixture f;
  int runs = 0;
  auto loader = [&](const std::string& key) -> caf::expected<point> {
    ++runs;
    CHECK(key == "p:1");
    return point{1, 2};
  };
  CHECK(*f.n->fetch_as<point>("p:1", loader) == point{1, 2});
  CHECK(*f.n->fetch_as<point>("p:1", loader) == point{1, 2});
  CHECK(runs == 1);
  CHECK(*f.n->get("p:1") == "1,2");
  // A plain-T loader, with the TTL and tags of the call.
  fetch_options fo;
  fo.tags = {"points"};
  CHECK(*f.n->fetch_as<int>(
          "n", [](const std::string&) { return 7; }, fo)
        == 7);
  CHECK(*f.n->invalidate_tag("points") == 1);
  // Errors of the loader arrive as they are; nothing is cached.
  auto failed = f.n->fetch_as<int>(
    "broken", [](const std::string&) -> caf::expected<int> {
      return make_error(errc::not_found, "no such row");
    });
  REQUIRE_FALSE(failed);
  CHECK(failed_with(failed.error(), errc::not_found));
  CHECK(failed_with(f.n->get("broken").error(), errc::miss));
  // Without a node loader the loader-less form fails like fetch().
  CHECK(failed_with(f.n->fetch_as<int>("n2").error(), errc::invalid_config));
}

TEST_CASE("fetch_as with a source version refuses older versioned writes",
          "[typed][fetch]") {
  fixture f;
  auto v = f.n->fetch_as<int>("acct:1", [](const std::string&) {
    return loaded_as<int>{100, 9};
  });
  REQUIRE(v);
  CHECK(*v == 100);
  set_options older;
  older.version = 8;
  CHECK(failed_with(f.n->set_as<int>("acct:1", 50, older).error(),
                    errc::stale_version));
  CHECK(*f.n->get_as<int>("acct:1") == 100);
}

TEST_CASE("concurrent fetch_as calls of one cold key run the typed loader "
          "once and all get the decoded value",
          "[typed][fetch][stampede]") {
  fixture f;
  std::atomic<int> runs{0};
  gate g;
  auto loader = [&](const std::string&) -> caf::expected<point> {
    ++runs;
    g.wait();
    return point{7, 8};
  };
  constexpr int callers = 16;
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i)
    threads.emplace_back([&] {
      auto v = f.n->fetch_as<point>("cold", loader);
      if (v && *v == point{7, 8})
        ++right;
    });
  CHECK(f.waiters_reach(callers - 1));
  g.open();
  for (auto& t : threads)
    t.join();
  CHECK(runs == 1);
  CHECK(right == callers);
}

TEST_CASE("a write during a typed load wins over the loaded value, as with "
          "the byte API",
          "[typed][fetch]") {
  fixture f;
  auto v = f.n->fetch_as<int>("k", [&](const std::string&) {
    // A write lands while the loader reads its source.
    REQUIRE(f.n->set_as<int>("k", 2));
    return 1;
  });
  // This caller asked before the write: it gets what it loaded or the
  // write's value, never an error; the cache keeps the write.
  REQUIRE(v);
  CHECK((*v == 1 || *v == 2));
  CHECK(*f.n->get_as<int>("k") == 2);
}
