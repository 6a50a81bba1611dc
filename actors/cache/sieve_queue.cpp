#include "cachebus/actors/cache/sieve_queue.hpp"

namespace cachebus {

void sieve_queue::push(hook& h) noexcept {
  h.older = head_;
  h.newer = nullptr;
  if (head_)
    head_->newer = &h;
  head_ = &h;
  if (!tail_)
    tail_ = &h;
}

void sieve_queue::unlink(hook& h) noexcept {
  if (hand_ == &h)
    hand_ = h.newer;
  if (h.newer)
    h.newer->older = h.older;
  else
    head_ = h.older;
  if (h.older)
    h.older->newer = h.newer;
  else
    tail_ = h.newer;
  h.newer = h.older = nullptr;
}

void sieve_queue::replace(hook& old, hook& now) noexcept {
  now.newer = old.newer;
  now.older = old.older;
  now.visited.store(old.visited.load(std::memory_order_relaxed),
                    std::memory_order_relaxed);
  if (now.newer)
    now.newer->older = &now;
  else
    head_ = &now;
  if (now.older)
    now.older->newer = &now;
  else
    tail_ = &now;
  if (hand_ == &old)
    hand_ = &now;
  old.newer = old.older = nullptr;
}

sieve_queue::hook& sieve_queue::victim() noexcept {
  // Walk from the hand (or the tail) toward the head, clearing visited bits,
  // and stop at the first unvisited entry; wrap to the tail at the head.
  auto* obj = hand_ ? hand_ : tail_;
  while (obj->visited.load(std::memory_order_relaxed)) {
    obj->visited.store(false, std::memory_order_relaxed);
    obj = obj->newer ? obj->newer : tail_;
  }
  hand_ = obj->newer;
  return *obj;
}

} // namespace cachebus
