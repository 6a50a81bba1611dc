// The program around a C++ fragment of README.md (run_readme_blocks.sh): the
// names a fragment may use without declaring them, as the README's first
// example declares them: `sys` (an actor system with cachebus::config),
// `opts` (node_options), `n` (a started node, caf::expected of a pointer)
// and `db`, the service's own database; metrics_text.hpp besides the
// headers of the first example. The fragment is included as the
// body of a block, so it may declare its own `n`. Built against the
// installed package only.
#include <chrono>
#include <iostream>
#include <string>

#include <cachebus/actors/invalidation/rules.hpp>
#include <cachebus/actors/node/config.hpp>
#include <cachebus/actors/node/error.hpp>
#include <cachebus/actors/node/metrics_text.hpp>
#include <cachebus/actors/node/node.hpp>

namespace {

// A stand-in for the service's database in the README's examples.
struct example_db {
  std::string load_user(int id) {
    return R"({"id":)" + std::to_string(id) + R"(,"name":"Ada"})";
  }
};

} // namespace

int main() {
  cachebus::config cfg;
  caf::actor_system sys{cfg};
  cachebus::node_options opts;
  opts.default_ttl = std::chrono::seconds(30);
  auto n = cachebus::node::start(sys, opts);
  if (!n) {
    std::cerr << cachebus::describe(n.error()) << "\n";
    return 1;
  }
  [[maybe_unused]] example_db db;
  {
#include README_FRAGMENT
  }
  return 0;
}
