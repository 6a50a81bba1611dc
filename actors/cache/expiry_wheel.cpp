#include "cachebus/actors/cache/expiry_wheel.hpp"

#include "cachebus/actors/node/options.hpp"

namespace cachebus {

int64_t expiry_wheel::tick_of(int64_t at_ns) const noexcept {
  // Bucket T holds instants in [(T-1)*tick, T*tick); -1 means "no bucket".
  return at_ns == no_expiry ? -1 : at_ns / tick_ns_ + 1;
}

void expiry_wheel::schedule(hook& h, int64_t at_ns) {
  auto tick = tick_of(at_ns);
  if (tick < 0)
    return;
  h.tick = tick;
  auto& head = buckets_[tick];
  h.x_prev = nullptr;
  h.x_next = head;
  if (head)
    head->x_prev = &h;
  head = &h;
}

void expiry_wheel::unschedule(hook& h) noexcept {
  if (h.tick < 0)
    return;
  if (h.x_prev) {
    h.x_prev->x_next = h.x_next;
  } else {
    auto i = buckets_.find(h.tick);
    if (h.x_next)
      i->second = h.x_next;
    else
      buckets_.erase(i);
  }
  if (h.x_next)
    h.x_next->x_prev = h.x_prev;
  h.x_prev = h.x_next = nullptr;
  h.tick = -1;
}

void expiry_wheel::replace(hook& old, hook& now) noexcept {
  now.tick = old.tick;
  now.x_prev = old.x_prev;
  now.x_next = old.x_next;
  if (old.tick >= 0) {
    if (now.x_prev)
      now.x_prev->x_next = &now;
    else
      buckets_.find(old.tick)->second = &now;
    if (now.x_next)
      now.x_next->x_prev = &now;
  }
  old.x_prev = old.x_next = nullptr;
  old.tick = -1;
}

void expiry_wheel::reschedule(hook& h, int64_t at_ns) {
  if (tick_of(at_ns) == h.tick)
    return;
  unschedule(h);
  schedule(h, at_ns);
}

expiry_wheel::hook* expiry_wheel::due(int64_t now_ns) const noexcept {
  if (buckets_.empty())
    return nullptr;
  auto first = buckets_.begin();
  // A bucket is due once its whole span lies in the past: T * tick <= now,
  // compared as T <= floor(now / tick) (the product overflows for expiries
  // near the end of time).
  auto now_tick = now_ns / tick_ns_;
  if (now_ns % tick_ns_ < 0)
    --now_tick;
  if (first->first > now_tick)
    return nullptr;
  return first->second;
}

} // namespace cachebus
