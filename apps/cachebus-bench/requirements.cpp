#include "requirements.hpp"

#include <iostream>
#include <unistd.h>

#include "cachebus/apps/common/child_process.hpp"

namespace cachebus::bench {

void report_skip(const std::string& scenario, const std::string& why) {
  std::cerr << "cachebus-bench: " << scenario << " skipped: " << why << "\n";
}

std::string node_binary_or_skip(const std::string& scenario) {
  auto bin = app::node_binary();
  if (bin.empty() || access(bin.c_str(), X_OK) != 0) {
    report_skip(scenario, "cachebus-node not found at " + bin
                            + " (build the cachebus-node target)");
    return {};
  }
  return bin;
}

bool redis_server_or_skip(const std::string& scenario) {
  if (!app::find_executable("redis-server").empty())
    return true;
  report_skip(scenario, "redis-server not found on PATH (Debian: apt-get "
                        "install redis-server)");
  return false;
}

} // namespace cachebus::bench
