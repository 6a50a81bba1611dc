// What a scenario that starts other programs needs before it runs: the
// cachebus-node binary of this build, redis-server for a Redis baseline.
// Each check reports a missing piece as the scenario skipped (one line on
// stderr, no JSON), so that the other scenarios of the run still measure.
#pragma once

#include <string>

namespace cachebus::bench {

/// Says on stderr that `scenario` was skipped, and why.
void report_skip(const std::string& scenario, const std::string& why);

/// The cachebus-node binary to start, or "" after reporting `scenario`
/// skipped (not built, or not executable).
std::string node_binary_or_skip(const std::string& scenario);

/// True if redis-server is on PATH (the Redis baselines start one); false
/// after reporting `scenario` skipped.
bool redis_server_or_skip(const std::string& scenario);

} // namespace cachebus::bench
