// How late invalidations arrive: a histogram of the delay from an event's
// origin (the node that published it, or the database that committed the
// change) to its application here, in the fixed buckets every exporter uses
// (Prometheus-style cumulative `le` bounds). The origin's wall clock is
// compared with ours, so across hosts the figures include clock skew. A
// plain copyable value; not synchronized (one actor owns each).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace cachebus {

/// Nanoseconds since the Unix epoch on this host's wall clock: what events
/// carry as their send time.
inline int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct lag_histogram {
  /// Upper bounds of the buckets, in nanoseconds (50 us ... 10 s).
  static constexpr std::array<int64_t, 16> bounds_ns{
    50'000,      100'000,      250'000,       500'000,
    1'000'000,   2'500'000,    5'000'000,     10'000'000,
    25'000'000,  50'000'000,   100'000'000,   250'000'000,
    500'000'000, 1000'000'000, 2'500'000'000, 10'000'000'000};

  /// Whose events: a peer's node name, or "change-feed".
  std::string source;
  /// counts[i]: observations <= bounds_ns[i] and > bounds_ns[i-1]; the last
  /// element counts those above every bound.
  std::vector<uint64_t> counts = std::vector<uint64_t>(bounds_ns.size() + 1);
  uint64_t observations = 0;
  int64_t sum_ns = 0;

  /// Records one delay (a negative one, from clock skew, counts as 0).
  void record(int64_t lag_ns) {
    if (lag_ns < 0)
      lag_ns = 0;
    size_t i = 0;
    while (i < bounds_ns.size() && lag_ns > bounds_ns[i])
      ++i;
    ++counts[i];
    ++observations;
    sum_ns += lag_ns;
  }

  /// The smallest bucket bound below which `q` (in [0, 1]) of the
  /// observations lie; the largest bound if beyond it, 0 if empty.
  int64_t quantile_bound_ns(double q) const {
    if (observations == 0)
      return 0;
    auto want = static_cast<uint64_t>(q * static_cast<double>(observations));
    uint64_t seen = 0;
    for (size_t i = 0; i < bounds_ns.size(); ++i) {
      seen += counts[i];
      if (seen >= want && seen > 0)
        return bounds_ns[i];
    }
    return bounds_ns.back();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lag_histogram& x) {
  return f(caf::meta::type_name("cachebus::lag_histogram"), x.source, x.counts,
           x.observations, x.sum_ns);
}

} // namespace cachebus
