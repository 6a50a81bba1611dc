// The dependency edges of one node: "dependent was derived from parent, so
// invalidating parent must invalidate dependent". An edge lives exactly as
// long as the dependent's cache entry: shard tables remove a dependent's edges
// when they remove its entry (for any reason), so the graph never outgrows the
// cache. Invalidation walks the transitive closure, cycle-safe.
// Thread-safe (one mutex). Lock order: a shard table's lock may be held while
// calling into the graph; the graph never calls out while holding its own.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cachebus {

class dependency_graph {
 public:
  /// Records parent -> dependent. Idempotent.
  void add(const std::string& parent, const std::string& dependent);

  /// Drops every edge whose dependent is `dependent`.
  void remove_dependent(std::string_view dependent);

  /// Every key reachable from `roots` through dependent edges, excluding the
  /// roots themselves, each once (cycles end where they close).
  std::vector<std::string> closure(const std::vector<std::string>& roots) const;

  /// The parents (keys with dependents) that match `glob`, cached or not:
  /// a pattern invalidation reaches their dependents too. Served from the
  /// ordered parent names by the glob's literal prefix.
  /// REQUIRES: check_glob(glob) passed.
  std::vector<std::string> parents_matching(std::string_view glob) const;

  /// Number of edges and of keys with dependents (for bounded-index tests).
  size_t edges() const;
  size_t parents() const;

 private:
  struct hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using key_set = std::unordered_set<std::string, hash, std::equal_to<>>;
  using edge_map
    = std::unordered_map<std::string, key_set, hash, std::equal_to<>>;

  mutable std::mutex mtx_;
  edge_map dependents_;                             // parent -> dependents
  edge_map parents_;                                // dependent -> parents
  std::set<std::string, std::less<>> parent_names_; // keys of dependents_
  size_t edges_ = 0;
};

} // namespace cachebus
