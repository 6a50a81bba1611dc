#include "cachebus/actors/cache/tag_index.hpp"

namespace cachebus {

void tag_index::link(member& m, std::vector<std::string> tags) {
  m.tags.clear();
  m.tag_bytes = 0;
  m.tags.resize(tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    auto found = live_.find(tags[i]);
    if (found == live_.end()) {
      auto state = std::make_unique<tag_state>();
      state->name = std::move(tags[i]);
      std::string_view name = state->name;
      found = live_.emplace(name, std::move(state)).first;
    }
    auto* state = found->second.get();
    auto& link = m.tags[i];
    link.state = state;
    link.owner = &m;
    link.prev = nullptr;
    link.next = state->head;
    if (state->head)
      state->head->prev = &link;
    state->head = &link;
    ++state->members;
    ++links_;
    m.tag_bytes += state->name.size() + sizeof(tag_link);
  }
}

void tag_index::unlink(member& m) noexcept {
  for (auto& link : m.tags) {
    auto* state = link.state;
    if (link.prev)
      link.prev->next = link.next;
    else
      state->head = link.next;
    if (link.next)
      link.next->prev = link.prev;
    --state->members;
    --links_;
    // A live state without members goes; retired ones go in next_dead().
    if (state->members == 0 && state->dead_below == 0)
      live_.erase(std::string_view{state->name});
  }
  m.tags.clear();
  m.tag_bytes = 0;
}

void tag_index::relink(member& m) {
  std::vector<std::string> names;
  for (auto& l : m.tags)
    names.emplace_back(l.state->name);
  unlink(m);
  link(m, std::move(names));
}

const tag_index::tag_state* tag_index::invalidate(std::string_view tag,
                                                  uint64_t version) {
  auto it = live_.find(tag);
  if (it == live_.end())
    return nullptr;
  auto state = std::move(it->second);
  live_.erase(it);
  state->dead_below = version;
  dead_.push_back(std::move(state));
  return dead_.back().get();
}

tag_index::member* tag_index::next_dead(uint64_t& dead_below) {
  while (!dead_.empty()) {
    auto& state = *dead_.front();
    if (state.head) {
      dead_below = state.dead_below;
      return state.head->owner;
    }
    dead_.pop_front();
  }
  return nullptr;
}

} // namespace cachebus
