// Configuration: every `cachebus.*` option comes from CAF's config system, and
// a bad value is refused with a clear error before anything starts.
#include <catch2/catch.hpp>

#include "cachebus/actors/config.hpp"
#include "cachebus/actors/error.hpp"
#include "cachebus/actors/options.hpp"
#include "cachebus/actors/runtime.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

TEST_CASE("options given on the command line reach the node",
          "[config]") {
  auto rt = runtime::start({"--cachebus.shards=3",
                            "--cachebus.default-ttl=250ms",
                            "--cachebus.max-entries=999"});
  REQUIRE(rt);
  auto& opts = (*rt)->node().options();
  CHECK(opts.shards == 3);
  CHECK(opts.default_ttl == 250ms);
  CHECK(opts.max_entries == 999);
  CHECK((*rt)->node().shards().size() == 3);
}

TEST_CASE("the scheduler runs one worker per core unless told otherwise",
          "[config]") {
  config cfg;
  auto threads = caf::get_or(cfg, "scheduler.max-threads", size_t{0});
  CHECK(threads == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("an unparsable option is refused with a readable error",
          "[config]") {
  auto rt = runtime::start({"--cachebus.shards=many"});
  REQUIRE_FALSE(rt);
  CHECK(is(rt.error(), errc::invalid_config));
  CHECK_THAT(describe(rt.error()), Catch::Contains("cachebus.shards"));
}

TEST_CASE("an unknown cachebus option is refused", "[config]") {
  auto rt = runtime::start({"--cachebus.shardz=2"});
  REQUIRE_FALSE(rt);
  CHECK(is(rt.error(), errc::invalid_config));
}

TEST_CASE("out-of-range options are refused before anything starts",
          "[config]") {
  for (auto arg : {"--cachebus.shards=0", "--cachebus.default-ttl=0s",
                   "--cachebus.sweep-interval=0s", "--cachebus.max-entries=0",
                   "--cachebus.max-key-size=0",
                   "--cachebus.max-bytes=1000"}) {
    INFO(arg);
    auto rt = runtime::start({arg});
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_config));
    CHECK_THAT(describe(rt.error()), Catch::StartsWith("cachebus: "
                                                       "invalid_config: "));
  }
}

TEST_CASE("a default TTL above the maximum TTL is refused", "[config]") {
  node_options opts;
  opts.default_ttl = 2h;
  opts.max_ttl = 1h;
  auto err = opts.validate();
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("exceeds cachebus.max-ttl"));
}

TEST_CASE("--help prints the cachebus options and starts no node",
          "[config]") {
  auto rt = runtime::start({"--help"});
  REQUIRE(rt);
  CHECK((*rt)->help_printed());
}

TEST_CASE("the actor system renders cachebus errors readably", "[config]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto err = make_error(errc::invalid_key, "key is empty");
  CHECK(sys.render(err) == "cachebus: invalid_key: key is empty");
  CHECK(describe(err) == "cachebus: invalid_key: key is empty");
}
