#include "cachebus/actors/invalidation/dependency_graph.hpp"

#include <deque>

#include "cachebus/actors/invalidation/glob.hpp"

namespace cachebus {

void dependency_graph::add(const std::string& parent,
                           const std::string& dependent) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& deps = dependents_[parent];
  if (deps.empty())
    parent_names_.insert(parent);
  if (deps.insert(dependent).second) {
    parents_[dependent].insert(parent);
    ++edges_;
  }
}

void dependency_graph::remove_dependent(std::string_view dependent) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = parents_.find(dependent);
  if (i == parents_.end())
    return;
  for (auto& parent : i->second) {
    auto j = dependents_.find(parent);
    if (j == dependents_.end())
      continue;
    if (j->second.erase(i->first) > 0)
      --edges_;
    if (j->second.empty()) {
      parent_names_.erase(parent);
      dependents_.erase(j);
    }
  }
  parents_.erase(i);
}

std::vector<std::string>
dependency_graph::closure(const std::vector<std::string>& roots) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  if (dependents_.empty())
    return out;
  key_set seen{roots.begin(), roots.end()};
  std::deque<std::string_view> todo{roots.begin(), roots.end()};
  while (!todo.empty()) {
    auto key = todo.front();
    todo.pop_front();
    auto i = dependents_.find(key);
    if (i == dependents_.end())
      continue;
    for (auto& dep : i->second)
      if (seen.insert(dep).second) {
        out.push_back(dep);
        todo.push_back(dep);
      }
  }
  return out;
}

std::vector<std::string>
dependency_graph::parents_matching(std::string_view glob) const {
  auto prefix = glob_prefix(glob);
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (auto i = parent_names_.lower_bound(prefix);
       i != parent_names_.end() && i->compare(0, prefix.size(), prefix) == 0;
       ++i)
    if (glob_match(glob, *i))
      out.push_back(*i);
  return out;
}

size_t dependency_graph::edges() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return edges_;
}

size_t dependency_graph::parents() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return dependents_.size();
}

} // namespace cachebus
