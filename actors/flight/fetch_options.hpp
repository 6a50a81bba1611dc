// Options of a cache-aside read (node::fetch, or the lock manager's fetch for
// actors), and what a loader hands back. Plain copyable values with `inspect`,
// so actors can send them. Every window is optional and off by default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"
#include "caf/timestamp.hpp"

namespace cachebus {

struct fetch_options {
  /// TTL of the loaded value (default_ttl: cachebus.default-ttl).
  caf::timespan ttl{0};
  /// Tags of the loaded value.
  std::vector<std::string> tags{};
  /// Probabilistic early refresh (XFetch, Vattani et al., VLDB 2015): a hit
  /// refreshes when now - load_time * beta * ln(rand) >= expiry. 0 = off;
  /// 1 is the paper's default, larger refreshes earlier.
  double beta = 0;
  /// After expiry, serve the old value this long while ONE caller refreshes
  /// it; everyone else gets the stale value instead of waiting.
  caf::timespan stale_while_revalidate{0};
  /// After expiry, serve the old value this long when the loader fails.
  caf::timespan stale_if_error{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_options& x) {
  return f(caf::meta::type_name("cachebus::fetch_options"), x.ttl, x.tags,
           x.beta, x.stale_while_revalidate, x.stale_if_error);
}

/// A loaded value and, if the source knows it, the record's version (then
/// versioned invalidations compare against it; 0 lets the shard assign one).
struct loaded {
  loaded() = default;
  loaded(std::string v, uint64_t ver = 0) : value(std::move(v)), version(ver) {
    // nop
  }
  std::string value;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, loaded& x) {
  return f(caf::meta::type_name("cachebus::loaded"), x.value, x.version);
}

} // namespace cachebus
