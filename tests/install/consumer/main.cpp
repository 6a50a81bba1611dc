// The README's embedding example, compiled against the installed package.
#include <cachebus/actors/node/config.hpp>
#include <cachebus/actors/node/error.hpp>
#include <cachebus/actors/node/node.hpp>
#include <iostream>

int main() {
  cachebus::config cfg; // cachebus.* options, types, errors, max-threads
  caf::actor_system sys{cfg};
  cachebus::node_options opts;
  opts.default_ttl = std::chrono::seconds(30);
  auto n = cachebus::node::start(sys, opts);
  if (!n) {
    std::cerr << cachebus::describe(n.error()) << "\n";
    return 1;
  }
  cachebus::set_options ttl;
  ttl.ttl = std::chrono::minutes(5);
  ttl.tags = {"user:42"};
  (*n)->set("user:42:profile", R"({"name":"Ada"})", ttl);
  if (auto v = (*n)->get("user:42:profile"))
    std::cout << "hit: " << *v << "\n";
  auto bad = (*n)->set("", "empty keys are refused");
  std::cout << cachebus::describe(bad.error()) << "\n";
  return (*n)->get("user:42:profile") ? 0 : 1;
} // the node stops before the actor system: no hang at exit
