// Configuration: every `cachebus.*` option comes from CAF's config system, and
// a bad value is refused with a clear error before anything starts.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "cachebus/actors/cache/duration.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/options.hpp"
#include "cachebus/actors/node/runtime.hpp"
#include "cachebus/actors/writepaths/write_back_options.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

TEST_CASE("options given on the command line reach the node", "[config]") {
  auto rt
    = runtime::start({"--cachebus.shards=3", "--cachebus.default-ttl=250ms",
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

TEST_CASE("an unparsable option is refused with a readable error", "[config]") {
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
                   "--cachebus.max-key-size=0", "--cachebus.max-bytes=1000"}) {
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

TEST_CASE("a max-bytes per shard that cannot hold one largest entry is "
          "refused, with what one takes",
          "[config]") {
  node_options opts;
  opts.shards = 4;
  opts.max_key_size = 250;
  opts.max_value_size = 1 << 20;
  // The key and the value alone fit; with what an entry takes beside them,
  // they do not.
  opts.max_bytes = 4 * (250 + (1 << 20) + 64);
  auto err = opts.validate();
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("must hold at least one entry"));
  opts.max_bytes = 4 * ((1 << 20) + 4096);
  CHECK_FALSE(opts.validate());
}

TEST_CASE("--help prints the cachebus options and starts no node", "[config]") {
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

// -- every source alike (issue 12)
// ----------------------------------------------

namespace {

// A caf-application.ini of its own, removed at the end.
struct ini_file {
  std::string path;

  explicit ini_file(const std::string& text) {
    char tmpl[] = "/tmp/cachebus-ini-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream{path} << text;
  }

  ~ini_file() { std::remove(path.c_str()); }

  caf::expected<std::unique_ptr<runtime>> start() const {
    return runtime::start({"--config-file=" + path});
  }
};

} // namespace

TEST_CASE("an ini file's cachebus options are read like the command line's",
          "[config][ini]") {
  ini_file ini{"[cachebus]\nshards=3\ndefault-ttl=250ms\n"};
  auto rt = ini.start();
  REQUIRE(rt);
  CHECK((*rt)->node().options().shards == 3);
  CHECK((*rt)->node().options().default_ttl == 250ms);
}

TEST_CASE("an ini file with a wrong type, an out-of-range value or an "
          "unknown cachebus option is refused by name",
          "[config][ini]") {
  for (auto [text, option] : std::vector<std::pair<std::string, std::string>>{
         {"[cachebus]\nshards=-3\n", "cachebus.shards"},
         {"[cachebus]\nshards=\"x\"\n", "cachebus.shards"},
         {"[cachebus]\nshards=0\n", "cachebus.shards"},
         {"[cachebus]\nmax-value-size=0\n", "cachebus.max-value-size"},
         {"[cachebus]\ndefault-ttl=\"soon\"\n", "cachebus.default-ttl"},
         {"[cachebus]\ndefault-ttl=10000000000h\n", "cachebus.default-ttl"},
         {"[cachebus]\nordered-index=3\n", "cachebus.ordered-index"},
         {"[cachebus]\nlisten-port=70000\n", "cachebus.listen-port"},
         {"[cachebus]\nshardz=2\n", "cachebus.shardz"},
         {"[cachebus.write-back]\nmax-queue=-1\n",
          "cachebus.write-back.max-queue"},
         {"[cachebus.write-back]\nflush-interval=\"x\"\n",
          "cachebus.write-back.flush-interval"}}) {
    INFO(text);
    ini_file ini{text};
    auto rt = ini.start();
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_config));
    CHECK_THAT(describe(rt.error()), Catch::Contains(option));
  }
}

TEST_CASE("options set in code with the wrong type are refused by name, not "
          "replaced by defaults",
          "[config]") {
  // cfg.set() of a declared option with the wrong type is refused by CAF
  // itself; content written directly (as a parsed file would) is not.
  config cfg;
  caf::put(cfg.content, "cachebus.shards", -3);
  auto o = node_options::from(cfg);
  REQUIRE_FALSE(o);
  CHECK(is(o.error(), errc::invalid_config));
  CHECK_THAT(describe(o.error()),
             Catch::Contains("cachebus.shards") && Catch::Contains("-3"));
  config cfg2;
  caf::put(cfg2.content, "cachebus.write-back.max-batch", "many");
  auto w = write_back_options::from(cfg2);
  REQUIRE_FALSE(w);
  CHECK_THAT(describe(w.error()),
             Catch::Contains("cachebus.write-back.max-batch"));
}

TEST_CASE("durations too large for a timespan and a zero max-value-size are "
          "refused on the command line",
          "[config]") {
  for (auto arg :
       {"--cachebus.default-ttl=10000000000h", "--cachebus.max-ttl=40000d",
        "--cachebus.max-ttl=36501d", "--cachebus.max-value-size=0",
        "--cachebus.write-back.retry-max=9223372036854775807s"}) {
    INFO(arg);
    auto rt = runtime::start({arg});
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_config));
  }
}

TEST_CASE("a write-back journal without a store is refused, not silently "
          "off",
          "[config]") {
  auto rt = runtime::start(
    {"--cachebus.write-back.journal=/tmp/cachebus-never-created.journal"});
  REQUIRE_FALSE(rt);
  CHECK(is(rt.error(), errc::invalid_config));
  CHECK_THAT(describe(rt.error()), Catch::Contains("cachebus.store"));
  CHECK_FALSE(std::filesystem::exists("/tmp/cachebus-never-created.journal"));
}

TEST_CASE("a TTL is converted and added to the clock with checks, never "
          "wrapped",
          "[config][ttl]") {
  using std::chrono::milliseconds;
  // The CLI's TTL_MS values from issue 12.
  CHECK_FALSE(checked_span(18446744073710, milliseconds(1)));
  CHECK_FALSE(checked_span(9223372036854775807, milliseconds(1)));
  CHECK(checked_span(10, milliseconds(1)) == caf::timespan{10ms});
  CHECK_FALSE(parse_int64("10abc"));
  CHECK_FALSE(parse_int64("1e3"));
  CHECK_FALSE(parse_int64(" 10"));
  CHECK_FALSE(parse_int64("+10"));
  CHECK_FALSE(parse_int64(""));
  CHECK_FALSE(parse_int64("9223372036854775808"));
  CHECK(parse_int64("-10") == -10);
  CHECK_FALSE(parse_uint64("-1"));
  CHECK_FALSE(parse_uint64("18446744073709551616"));
  CHECK(parse_uint64("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parse_span("10000000000h"));
  CHECK(parse_span("5min") == caf::timespan{5min});
  node_options opts;
  opts.max_ttl = std::chrono::hours(24 * 36500);
  auto near_end = std::numeric_limits<int64_t>::max() - 1000;
  auto e = opts.expiry_for(std::chrono::hours(1), near_end);
  REQUIRE_FALSE(e);
  CHECK(is(e.error(), errc::invalid_ttl));
  auto ok = opts.expiry_for(std::chrono::hours(1), 0);
  REQUIRE(ok);
  CHECK(*ok == caf::timespan{1h}.count());
}

TEST_CASE("an ini file's ';' comments after values are honoured, also when "
          "its durations are checked",
          "[config][ini]") {
  ini_file ok{"; a comment\n[cachebus] ; the section\nshards = 3 ; three\n"
              "default-ttl = 250ms ; short\nname = \"a;b\" ; quoted\n"};
  auto rt = ok.start();
  REQUIRE(rt);
  CHECK((*rt)->node().options().shards == 3);
  CHECK((*rt)->node().options().default_ttl == 250ms);
  CHECK((*rt)->node().options().name == "a;b");
  // A duration that would wrap is refused with its comment after it too.
  ini_file far{"[cachebus]\ndefault-ttl = 10000000000h ; far\n"};
  auto bad = far.start();
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_config));
  CHECK_THAT(describe(bad.error()), Catch::Contains("cachebus.default-ttl")
                                      && Catch::Contains("out of range"));
}

TEST_CASE("a '#' comment in an ini file is refused naming the line and the "
          "comment CAF accepts",
          "[config][ini]") {
  for (auto text : {"# a comment\n[cachebus]\nshards = 3\n",
                    "[cachebus]\nshards = 3   # three\n"}) {
    INFO(text);
    ini_file ini{text};
    auto rt = ini.start();
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_config));
    CHECK_THAT(describe(rt.error()),
               Catch::Contains("line ") && Catch::Contains("use ';'"));
  }
}

TEST_CASE("checking a configuration refuses what start refuses and opens "
          "nothing",
          "[config][check]") {
  // A rules file with a stored resource; the store's directory does not
  // exist, so start() fails to open it, but check() never opens it.
  char dir_tmpl[] = "/tmp/cachebus-check-XXXXXX";
  REQUIRE(::mkdtemp(dir_tmpl) != nullptr);
  std::filesystem::path dir = dir_tmpl;
  auto rules_path = (dir / "rules.ini").string();
  std::ofstream{rules_path} << "[users]\nkeys = user:{id}\nfields = name\n";
  auto store
    = "--cachebus.store=sqlite:" + (dir / "no/such/dir/app.db").string();
  auto rules = "--cachebus.rules=" + rules_path;
  CHECK_FALSE(runtime::check({rules, store}));
  auto started = runtime::start({rules, store});
  REQUIRE_FALSE(started);
  CHECK(is(started.error(), errc::store_unavailable));
  CHECK_FALSE(std::filesystem::exists(dir / "no"));

  // Refused alike by check() and start(), nothing created.
  auto bad_rules = (dir / "bad.ini").string();
  std::ofstream{bad_rules} << "[users]\nkeys = user:{id\n";
  for (auto args : std::vector<std::vector<std::string>>{
         {"--cachebus.shards=0"},
         {"--cachebus.shardz=2"},
         {"--cachebus.rules=" + bad_rules},
         {"--cachebus.rules=" + (dir / "missing.ini").string()},
         {store},
         {rules, "--cachebus.store=mysql:app"},
         {"--cachebus.write-back.journal=" + (dir / "j").string()}}) {
    INFO(args.front());
    auto err = runtime::check(args);
    REQUIRE(err);
    auto rt = runtime::start(args);
    REQUIRE_FALSE(rt);
    CHECK(err.code() == rt.error().code());
    CHECK(describe(err) == describe(rt.error()));
  }
  CHECK_FALSE(std::filesystem::exists(dir / "j"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("seeds without cachebus.cluster are refused, not silently ignored",
          "[config][cluster]") {
  std::vector<std::string> args{"--cachebus.seeds=[\"127.0.0.1:1\"]"};
  auto rt = runtime::start(args);
  REQUIRE_FALSE(rt);
  CHECK(is(rt.error(), errc::invalid_config));
  CHECK_THAT(describe(rt.error()), Catch::Contains("cachebus.cluster"));
  CHECK(describe(runtime::check(args)) == describe(rt.error()));
  // An own config, as an embedder's: node::start(sys) reads it alike.
  config cfg;
  REQUIRE_FALSE(cfg.parse(args));
  caf::actor_system sys{cfg};
  auto n = node::start(sys);
  REQUIRE_FALSE(n);
  CHECK(describe(n.error()) == describe(rt.error()));
}

TEST_CASE("a boolean option takes =false and =true on the command line, over "
          "the ini file, and still refuses other values",
          "[config][ini]") {
  ini_file ini{"[cachebus]\nordered-index=true\n"};
  auto off = runtime::start(
    {"--config-file=" + ini.path, "--cachebus.ordered-index=false"});
  REQUIRE(off);
  CHECK_FALSE((*off)->node().options().ordered_index);
  auto on = runtime::start({"--cachebus.ordered-index=true"});
  REQUIRE(on);
  CHECK((*on)->node().options().ordered_index);
  auto flag = runtime::start({"--cachebus.ordered-index"});
  REQUIRE(flag);
  CHECK((*flag)->node().options().ordered_index);
  auto bad = runtime::start({"--cachebus.ordered-index=0"});
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("cachebus.ordered-index"));
  CHECK_FALSE(runtime::check({"--cachebus.ordered-index=false"}));
}

TEST_CASE("bad cluster and replay options are refused alike by check() and "
          "start(), with the option named",
          "[config][cluster][replay]") {
  for (auto [arg, needle] : std::vector<std::pair<std::string, std::string>>{
         {"--cachebus.replay-log-events=0", "replay log events"},
         {"--cachebus.replay-log-events=99999999", "replay log events"},
         {"--cachebus.replay-log-bytes=1024", "replay log bytes"},
         {"--cachebus.replay-timeout=0s", "replay timeout"},
         {"--cachebus.replay-gone-after=0s", "gone-after"},
         {"--cachebus.peer-timeout=1ms", "peer timeout"}}) {
    INFO(arg);
    std::vector<std::string> args{"--cachebus.cluster", arg};
    auto err = runtime::check(args);
    REQUIRE(err);
    CHECK(is(err, errc::invalid_config));
    CHECK_THAT(describe(err), Catch::Contains(needle));
    auto rt = runtime::start(args);
    REQUIRE_FALSE(rt);
    CHECK(describe(err) == describe(rt.error()));
  }
  CHECK_FALSE(runtime::check({"--cachebus.cluster", "--cachebus.replay=false",
                              "--cachebus.replay-log-events=1000"}));
}
