// ioredis (Node.js) against cachebus-node's Redis port: the test installs
// ioredis with npm into a directory under the system's temporary directory
// (kept between runs, so only the first run downloads it) and runs
// resp_ioredis_test.js against a node. Without node or npm, or if npm
// cannot install (no network), the test WARNs and passes: it checks our
// server, not the machine.
#include <catch2/catch.hpp>

#include <filesystem>

#include "cachebus/apps/common/child_process.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"

using namespace cachebus;

TEST_CASE("ioredis sets, gets, pipelines, scans and runs cachebus's "
          "commands against a node",
          "[cluster][processes][resp][ioredis]") {
  if (app::find_executable("node").empty()
      || app::find_executable("npm").empty()) {
    WARN("node or npm not found: the ioredis test is skipped");
    return;
  }
  auto dir = std::filesystem::temp_directory_path() / "cachebus-npm-ioredis";
  auto modules = dir / "node_modules";
  if (!std::filesystem::exists(modules / "ioredis" / "package.json")) {
    auto [status, out] = test::run_command(
      "npm install --prefix '" + dir.string()
      + "' --no-audit --no-fund --loglevel=error ioredis@5 2>&1");
    if (status != 0) {
      WARN("npm could not install ioredis (no network?): the ioredis test is "
           "skipped\n"
           << out);
      return;
    }
  }
  app::node_child node{test::node_binary(),
                       test::node_args("js", 0, {"--cachebus.resp-port=0"})};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto [status, out] = test::run_command(
    "NODE_PATH='" + modules.string() + "' timeout 120 node '"
    + RESP_IOREDIS_SCRIPT + "' " + std::to_string(node.resp_port) + " 2>&1");
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("ok") != std::string::npos);
}
