#include "cachebus/bus/subscription_table.hpp"

#include <algorithm>

#include "cachebus/bus/topic.hpp"

namespace cachebus {

// -- mutation -----------------------------------------------------------------

bool subscription_table::subscribe(const caf::strong_actor_ptr& who,
                                   std::string_view pattern) {
  auto [i, added] = subscribers_.try_emplace(who.get());
  if (added)
    i->second.handle = who;
  if (!i->second.patterns.emplace(pattern).second)
    return false;
  index_add(who.get(), pattern);
  return added;
}

bool subscription_table::unsubscribe(subscriber who, std::string_view pattern) {
  auto i = subscribers_.find(who);
  if (i == subscribers_.end())
    return false;
  auto& patterns = i->second.patterns;
  auto j = patterns.find(pattern);
  if (j == patterns.end())
    return false;
  index_remove(who, pattern);
  patterns.erase(j);
  if (!patterns.empty())
    return false;
  subscribers_.erase(i);
  return true;
}

bool subscription_table::erase(subscriber who) {
  auto i = subscribers_.find(who);
  if (i == subscribers_.end())
    return false;
  for (auto& pattern : i->second.patterns)
    index_remove(who, pattern);
  subscribers_.erase(i);
  return true;
}

// -- queries ------------------------------------------------------------------

void subscription_table::match(std::string_view topic,
                               std::vector<subscriber>& out) const {
  out.clear();
  size_t matched_sets = 0;
  auto add = [&](const subscriber_set& xs) {
    out.insert(out.end(), xs.begin(), xs.end());
    ++matched_sets;
  };
  if (auto i = exact_.find(topic); i != exact_.end())
    add(i->second);
  for (auto [length, count] : prefix_lengths_) {
    if (length > topic.size())
      break;
    if (auto i = prefixes_.find(topic.substr(0, length)); i != prefixes_.end())
      add(i->second);
  }
  // Each set holds a subscriber once; only overlapping sets can repeat one.
  if (matched_sets > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

bool subscription_table::contains(subscriber who,
                                  std::string_view pattern) const {
  auto i = subscribers_.find(who);
  return i != subscribers_.end() && i->second.patterns.contains(pattern);
}

// -- private helpers ----------------------------------------------------------

void subscription_table::index_add(subscriber who, std::string_view pattern) {
  auto& index = is_wildcard(pattern) ? prefixes_ : exact_;
  auto key = pattern_prefix(pattern);
  auto i = index.find(key);
  if (i == index.end()) {
    i = index.emplace(std::string{key}, subscriber_set{}).first;
    if (&index == &prefixes_)
      ++prefix_lengths_[key.size()];
  }
  i->second.insert(who);
}

void subscription_table::index_remove(subscriber who,
                                      std::string_view pattern) {
  auto& index = is_wildcard(pattern) ? prefixes_ : exact_;
  auto key = pattern_prefix(pattern);
  auto i = index.find(key);
  if (i == index.end())
    return;
  i->second.erase(who);
  if (!i->second.empty())
    return;
  index.erase(i);
  if (&index == &prefixes_) {
    auto j = prefix_lengths_.find(key.size());
    if (--j->second == 0)
      prefix_lengths_.erase(j);
  }
}

} // namespace cachebus
