// The node-local cache: its shard tables and its dependency graph, with the
// operations that touch several shards (multi-key, pattern and tag
// invalidation, with the dependency cascade). Shared by the node facade (plain
// threads) and the invalidation listener (bus events), so that a local call
// and a remote event take exactly the same path. Every operation has been
// applied to every shard when it returns. Thread-safe. Inputs are trusted:
// callers validate them (node_options::check_*, check_glob).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cachebus/actors/cache/node_stats.hpp"
#include "cachebus/actors/cache/shard_messages.hpp"
#include "cachebus/actors/cache/shard_table.hpp"
#include "cachebus/actors/invalidation/dependency_graph.hpp"
#include "cachebus/actors/node/options.hpp"

namespace cachebus {

class time_source;

class local_cache {
 public:
  local_cache(const node_options& opts, const time_source* clk);

  size_t shard_count() const noexcept { return tables_.size(); }

  size_t shard_index(std::string_view key) const noexcept;

  shard_table& table_for(std::string_view key) {
    return *tables_[shard_index(key)];
  }

  const shard_table& table_for(std::string_view key) const {
    return *tables_[shard_index(key)];
  }

  /// The table of a key hashed once by the caller, who then looks the key
  /// up with the same hash (shard_table::get(const hashed_key&, ...)).
  const shard_table& table_for(const hashed_key& key) const noexcept;

  const std::shared_ptr<shard_table>& table(size_t i) const {
    return tables_[i];
  }

  dependency_graph& graph() noexcept { return graph_; }

  // Each operation takes the removal_reason that removal notifications
  // report for the entries it removes (their dependents: `dependency`).

  /// Removes `keys` whose version is below `below` (UINT64_MAX: any), plus
  /// every transitive dependent of `keys` regardless of version. Returns the
  /// number of entries removed.
  size_t invalidate_keys(const std::vector<std::string>& keys,
                         uint64_t below = UINT64_MAX,
                         removal_reason why = {removal_cause::keys, {}});

  /// Removes every key matching `glob` on every shard, plus the dependents
  /// of every matching key (cached or not).
  size_t invalidate_pattern(std::string_view glob,
                            removal_reason why = {removal_cause::pattern, {}});

  /// Invalidates `tag` on every shard: O(shards). Entries tagged below
  /// `below` are gone for readers at once; their memory is reclaimed by the
  /// shards' sweeps. Does not cascade to dependents (that would cost
  /// O(entries)): give a derived entry the tags of what it derives from.
  size_t invalidate_tag(std::string_view tag, uint64_t below = UINT64_MAX,
                        removal_reason why = {removal_cause::tag, {}});

  /// Drops every entry and every fill in flight on every shard.
  size_t clear(removal_reason why = {removal_cause::cleared, {}});

  /// Fences every shard (shard_table::set_fenced): reads find nothing and
  /// fills are refused until unfenced. Returns when every shard is.
  void set_fenced(bool on);

  /// Every shard reports removals into `sink` (nullptr: none).
  void set_removal_sink(removal_sink* sink);

  node_stats stats() const;

  /// Sums of every shard's index sizes plus the graph's edges.
  struct index_sizes {
    shard_table::index_sizes tables;
    size_t dependency_edges = 0;
    size_t dependency_parents = 0;
  };
  index_sizes indexes() const;

 private:
  dependency_graph graph_;
  std::vector<std::shared_ptr<shard_table>> tables_;
};

} // namespace cachebus
