#include "cluster_fixture.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace cachebus::bench {

using std::chrono::steady_clock;

rules_file::rules_file() {
  char tmpl[] = "/tmp/cachebus-bench-rules-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0)
    return;
  close(fd);
  path = tmpl;
  std::ofstream{path} << "[users]\nkeys = user:{id}\n";
}

rules_file::~rules_file() {
  if (!path.empty())
    std::remove(path.c_str());
}

double us_since(steady_clock::time_point t0, steady_clock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

double pct(std::vector<double> xs, double p) {
  if (xs.empty())
    return NAN;
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(p * static_cast<double>(xs.size() - 1))];
}

} // namespace cachebus::bench
