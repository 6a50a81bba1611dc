#include "cachebus/bus/reorder_buffer.hpp"

#include <utility>

namespace cachebus {

reorder_buffer::outcome reorder_buffer::push(uint64_t seq, caf::message msg,
                                             std::vector<caf::message>& out) {
  if (seq < next_)
    return outcome::stale;
  if (seq > next_) {
    // A repeat of a held sequence keeps the first copy.
    held_.emplace(seq, std::move(msg));
    if (held_.size() > capacity_)
      skip(out);
    return outcome::held;
  }
  out.push_back(std::move(msg));
  ++next_;
  release_run(out);
  return outcome::released;
}

uint64_t reorder_buffer::skip(std::vector<caf::message>& out) {
  if (held_.empty())
    return 0;
  auto skipped = held_.begin()->first - next_;
  next_ = held_.begin()->first;
  release_run(out);
  return skipped;
}

void reorder_buffer::release_run(std::vector<caf::message>& out) {
  auto i = held_.begin();
  while (i != held_.end() && i->first == next_) {
    out.push_back(std::move(i->second));
    ++next_;
    i = held_.erase(i);
  }
}

} // namespace cachebus
