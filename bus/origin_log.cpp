#include "cachebus/bus/origin_log.hpp"

#include <utility>

namespace cachebus {

origin_log::origin_log(uint64_t incarnation, limits lim, uint64_t first)
    : incarnation_(incarnation), lim_(lim), first_(first) {
  // nop
}

void origin_log::append(uint64_t seq, caf::message ev, size_t bytes) {
  if (seq < next())
    return;
  // Holes first: the reorder buffer gave up on those sequences.
  while (next() < seq) {
    slots_.push_back({});
    trim();
  }
  slots_.push_back({std::move(ev), bytes});
  bytes_ += bytes;
  trim();
}

void origin_log::trim() {
  while (!slots_.empty()
         && (slots_.size() > lim_.max_events || bytes_ > lim_.max_bytes)) {
    auto& s = slots_.front();
    if (!s.ev.empty())
      ++trimmed_;
    bytes_ -= s.bytes;
    slots_.pop_front();
    ++first_;
  }
}

replay_batch origin_log::read(uint64_t incarnation, uint64_t from, uint64_t to,
                              size_t max_events, size_t max_bytes) const {
  replay_batch result;
  result.incarnation = incarnation_;
  result.from = from;
  if (incarnation != incarnation_) {
    result.status = replay_status::other_incarnation;
    return result;
  }
  if (from == 0 || from > to || to >= next()) {
    result.status = replay_status::refused;
    return result;
  }
  if (from < first_) {
    result.status = replay_status::trimmed;
    return result;
  }
  size_t bytes = 0;
  for (auto seq = from; seq <= to && result.events.size() < max_events; ++seq) {
    auto& s = slots_[seq - first_];
    if (s.ev.empty()) {
      result.events.clear();
      result.status = replay_status::trimmed;
      return result;
    }
    if (!result.events.empty() && bytes + s.bytes > max_bytes)
      break;
    bytes += s.bytes;
    result.events.push_back(s.ev);
  }
  return result;
}

} // namespace cachebus
