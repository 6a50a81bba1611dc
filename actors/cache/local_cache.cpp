#include "cachebus/actors/cache/local_cache.hpp"

#include "cachebus/actors/cache/shard.hpp"

namespace cachebus {

local_cache::local_cache(const node_options& opts, const time_source* clk) {
  shard_table::limits lim;
  lim.max_entries = opts.max_entries / opts.shards;
  lim.max_bytes = opts.max_bytes / opts.shards;
  lim.tick_ns = opts.sweep_interval.count();
  lim.ordered_index = opts.ordered_index;
  for (size_t i = 0; i < opts.shards; ++i)
    tables_.emplace_back(std::make_shared<shard_table>(lim, clk, &graph_));
}

size_t local_cache::shard_index(std::string_view key) const noexcept {
  return shard_of(key, tables_.size());
}

const shard_table&
local_cache::table_for(const hashed_key& key) const noexcept {
  return *tables_[shard_of_hash(key.hash, tables_.size())];
}

size_t local_cache::invalidate_keys(const std::vector<std::string>& keys,
                                    uint64_t below, removal_reason why) {
  // The closure is taken first: removing a dependent drops its edges.
  auto dependents = graph_.closure(keys);
  std::vector<std::vector<std::string>> per_shard(tables_.size());
  for (auto& key : keys)
    per_shard[shard_index(key)].push_back(key);
  size_t n = 0;
  for (size_t i = 0; i < tables_.size(); ++i)
    if (!per_shard[i].empty())
      n += tables_[i]->erase_older(per_shard[i], below, why);
  if (!dependents.empty()) {
    for (auto& v : per_shard)
      v.clear();
    for (auto& key : dependents)
      per_shard[shard_index(key)].push_back(std::move(key));
    for (size_t i = 0; i < tables_.size(); ++i)
      if (!per_shard[i].empty())
        n += tables_[i]->erase(per_shard[i],
                               {removal_cause::dependency, why.origin});
  }
  return n;
}

size_t local_cache::invalidate_pattern(std::string_view glob,
                                       removal_reason why) {
  std::vector<std::string> removed;
  size_t n = 0;
  for (auto& t : tables_)
    n += t->erase_matching(glob, &removed, why);
  if (graph_.parents() > 0) {
    // Dependents of matching keys, cached or not: a parent that was evicted
    // still made what depends on it.
    auto roots = std::move(removed);
    for (auto& p : graph_.parents_matching(glob))
      roots.push_back(std::move(p));
    auto dependents = graph_.closure(roots);
    if (!dependents.empty())
      n += invalidate_keys(dependents, UINT64_MAX,
                           {removal_cause::dependency, why.origin});
  }
  return n;
}

size_t local_cache::invalidate_tag(std::string_view tag, uint64_t below,
                                   removal_reason why) {
  size_t n = 0;
  for (auto& t : tables_)
    n += t->invalidate_tag(tag, below, why);
  return n;
}

void local_cache::set_fenced(bool on) {
  for (auto& t : tables_)
    t->set_fenced(on);
}

size_t local_cache::clear(removal_reason why) {
  size_t n = 0;
  for (auto& t : tables_)
    n += t->clear(why);
  return n;
}

void local_cache::set_removal_sink(removal_sink* sink) {
  for (auto& t : tables_)
    t->set_removal_sink(sink);
}

node_stats local_cache::stats() const {
  node_stats result;
  for (auto& t : tables_) {
    result.shards.push_back(t->stats());
    result.total += result.shards.back();
  }
  return result;
}

local_cache::index_sizes local_cache::indexes() const {
  index_sizes x;
  for (auto& t : tables_) {
    auto s = t->indexes();
    x.tables.entries += s.entries;
    x.tables.ordered += s.ordered;
    x.tables.live_tags += s.live_tags;
    x.tables.dead_tags += s.dead_tags;
    x.tables.tag_links += s.tag_links;
    x.tables.buckets += s.buckets;
  }
  x.dependency_edges = graph_.edges();
  x.dependency_parents = graph_.parents();
  return x;
}

} // namespace cachebus
