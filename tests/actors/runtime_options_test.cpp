// A program's own options live next to cachebus's in the runtime's config:
// set from the command line or the configuration file, listed by --help,
// read back typed, and refused by name when they are wrong; options nobody
// declared are still refused.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "caf/config_option_adder.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/runtime.hpp"

using namespace cachebus;

namespace {

// A service's options: --http-port (global) and an [api] category.
runtime_setup service_setup() {
  runtime_setup setup;
  setup.declare_options = [](caf::config_option_set& opts) {
    caf::config_option_adder{opts, "global"}.add<uint16_t>(
      "http-port", "port of the service's HTTP API");
    caf::config_option_adder{opts, "api"}
      .add<std::string>("greeting", "what GET / answers")
      .add<caf::timespan>("deadline", "bound on one request");
  };
  return setup;
}

// A configuration file of its own, removed at the end.
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
};

// What `f` writes to std::cout.
template <class F>
std::string captured_stdout(F f) {
  std::ostringstream out;
  auto* old = std::cout.rdbuf(out.rdbuf());
  f();
  std::cout.rdbuf(old);
  return out.str();
}

} // namespace

TEST_CASE("a program's options are set on the command line next to "
          "cachebus's and read back typed",
          "[config][embedder]") {
  auto rt = runtime::start({"--http-port=8080", "--api.greeting=hello there",
                            "--api.deadline=250ms", "--cachebus.shards=2"},
                           service_setup());
  REQUIRE(rt);
  auto& cfg = (*rt)->config();
  uint16_t port = 0;
  std::string greeting;
  caf::timespan deadline{0};
  REQUIRE_FALSE(read_option(cfg, "http-port", port));
  REQUIRE_FALSE(read_option(cfg, "api.greeting", greeting));
  REQUIRE_FALSE(read_option(cfg, "api.deadline", deadline));
  CHECK(port == 8080);
  CHECK(greeting == "hello there");
  CHECK(deadline == std::chrono::milliseconds(250));
  CHECK((*rt)->node().options().shards == 2);
}

TEST_CASE("a program's options are read from the configuration file",
          "[config][embedder][ini]") {
  ini_file ini{"http-port=8081\n[api]\ngreeting=\"hi\"\n[cachebus]\n"
               "shards=3\n"};
  auto rt = runtime::start({"--config-file=" + ini.path}, service_setup());
  REQUIRE(rt);
  uint16_t port = 0;
  std::string greeting;
  REQUIRE_FALSE(read_option((*rt)->config(), "http-port", port));
  REQUIRE_FALSE(read_option((*rt)->config(), "api.greeting", greeting));
  CHECK(port == 8081);
  CHECK(greeting == "hi");
  CHECK((*rt)->node().options().shards == 3);
}

TEST_CASE("--help lists a program's options next to cachebus's",
          "[config][embedder]") {
  caf::expected<std::unique_ptr<runtime>> rt{nullptr};
  auto text = captured_stdout(
    [&] { rt = runtime::start({"--help"}, service_setup()); });
  REQUIRE(rt);
  CHECK((*rt)->help_printed());
  CHECK_THAT(text, Catch::Contains("--http-port"));
  CHECK_THAT(text, Catch::Contains("port of the service's HTTP API"));
  CHECK_THAT(text, Catch::Contains("--api.greeting"));
  CHECK_THAT(text, Catch::Contains("--cachebus.shards"));
}

TEST_CASE("an option nobody declared is refused with a message naming it",
          "[config][embedder]") {
  // Without the program's declarations its option is unknown, too.
  for (auto setup : {runtime_setup{}, service_setup()}) {
    auto rt = runtime::start({"--cachebus.shards=2", "--htp-port=8080"}, setup);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_config));
    CHECK_THAT(describe(rt.error()),
               Catch::Contains("unknown option --htp-port"));
  }
  auto rt = runtime::start({"--http-port=8080"});
  REQUIRE_FALSE(rt);
  CHECK_THAT(describe(rt.error()),
             Catch::Contains("unknown option --http-port"));
}

TEST_CASE("a bad value for a program's option is refused by name, on the "
          "command line and in the file",
          "[config][embedder]") {
  for (auto arg : {"--http-port=abc", "--http-port=70000", "--http-port=-1"}) {
    INFO(arg);
    auto rt = runtime::start({arg}, service_setup());
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_config));
    CHECK_THAT(describe(rt.error()), Catch::Contains("--http-port must be a "));
  }
  auto rt = runtime::start({"--http-port"}, service_setup());
  REQUIRE_FALSE(rt);
  CHECK_THAT(describe(rt.error()),
             Catch::Contains("--http-port needs a value"));
  for (auto [text, option] : std::vector<std::pair<std::string, std::string>>{
         {"http-port=\"eighty\"\n", "http-port"},
         {"[global]\nhttp-port=\"eighty\"\n", "http-port"},
         {"[api]\ndeadline=\"soon\"\n", "api.deadline"},
         {"[api]\ngreting=\"typo\"\n", "api.greting"}}) {
    INFO(text);
    ini_file ini{text};
    auto bad = runtime::start({"--config-file=" + ini.path}, service_setup());
    REQUIRE_FALSE(bad);
    CHECK(is(bad.error(), errc::invalid_config));
    CHECK_THAT(describe(bad.error()), Catch::Contains(option));
  }
}
