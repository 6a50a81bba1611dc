// The checker of randomized histories (history.hpp). It verifies:
//   (a) no read returns a version older than one whose write or
//       invalidation completed before the read began (on another node: more
//       than `remote_lag` before, the delay the cluster contract allows);
//       nor, on the node that set it, a value set with a TTL after that
//       TTL ran out;
//   (b) after quiescence (and a write-back flush), every cached key holds
//       the truth's version, or nothing;
//   (c) never two loads of one key at once on a node.
// Returns one readable line per violation; empty means the history passed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "history.hpp"

namespace cachebus::consistency {

struct check_options {
  /// How long after an operation on one node another node may still serve
  /// what it superseded (event propagation). 0 for single-node histories.
  int64_t remote_lag_ns = 0;
  /// At most this many violations are reported.
  size_t max_reports = 20;
};

std::vector<std::string> check(const history& h, const check_options& opts);

} // namespace cachebus::consistency
