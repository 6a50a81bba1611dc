#include "cachebus/actors/invalidation/applied_events.hpp"

#include <algorithm>

#include "cachebus/actors/invalidation/event_source.hpp"

namespace cachebus {

uint64_t event_clock::of(const std::string& origin) const {
  for (size_t i = 0; i < origins.size() && i < sequences.size(); ++i)
    if (origins[i] == origin)
      return sequences[i];
  return 0;
}

bool event_clock::covers(const event_clock& need) const {
  for (size_t i = 0; i < need.origins.size() && i < need.sequences.size(); ++i)
    if (of(need.origins[i]) < need.sequences[i])
      return false;
  return true;
}

applied_events::applied_events(std::shared_ptr<const event_source> self)
    : self_(std::move(self)) {
  // nop
}

void applied_events::applying(const std::string& origin, uint64_t seq) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& x = applying_[origin];
  x = std::max(x, seq);
}

void applied_events::applied(const std::string& origin, uint64_t seq) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& x = applied_[origin];
  x = std::max(x, seq);
}

void applied_events::reset(const std::string& origin, uint64_t seq) {
  std::lock_guard<std::mutex> guard{mtx_};
  applying_[origin] = seq;
  applied_[origin] = seq;
}

void applied_events::begin_local() noexcept {
  local_.fetch_add(1, std::memory_order_acq_rel);
}

void applied_events::end_local() noexcept {
  local_.fetch_sub(1, std::memory_order_acq_rel);
}

event_clock
applied_events::snapshot(const std::map<std::string, uint64_t>& seqs,
                         uint64_t own) const {
  event_clock out;
  for (auto& [origin, seq] : seqs) {
    out.origins.push_back(origin);
    out.sequences.push_back(seq);
  }
  out.origins.push_back(self_->origin());
  out.sequences.push_back(own);
  return out;
}

event_clock applied_events::needed() const {
  // Read the running count first: an invalidation that begins after this
  // read either published before next_sequence() is read (counted there) or
  // touches the cache after the caller's fill lease began (the lease covers
  // it). Counting a running one that published meanwhile twice only asks
  // for more.
  auto running = local_.load(std::memory_order_acquire);
  auto own = self_->next_sequence() - 1 + running;
  std::lock_guard<std::mutex> guard{mtx_};
  return snapshot(applying_, own);
}

event_clock applied_events::applied() const {
  // Own events are applied before they are published: every published one
  // is applied (nobody can need an unpublished one).
  auto own = self_->next_sequence() - 1;
  std::lock_guard<std::mutex> guard{mtx_};
  return snapshot(applied_, own);
}

} // namespace cachebus
