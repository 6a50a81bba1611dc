#include "cachebus/actors/writepaths/pending_writes.hpp"

#include "cachebus/actors/writepaths/write_back_queue.hpp"

namespace cachebus {

void pending_writes::attach(std::shared_ptr<const write_back_queue> queue) {
  std::lock_guard<std::mutex> guard{mtx_};
  queue_ = std::move(queue);
}

void pending_writes::note(const std::string& key, const std::string& resource,
                          const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  keys_.insert_or_assign(key, std::make_pair(resource, id));
}

bool pending_writes::holds(const std::string& key) const {
  std::pair<std::string, std::string> ref;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = keys_.find(key);
    if (i == keys_.end())
      return false;
    ref = i->second;
  }
  if (unflushed(ref.first, ref.second))
    return true;
  // Flushed since: forget the key (unless it was queued again meanwhile).
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto q = queue_; !q || !q->unflushed(ref.first, ref.second))
    keys_.erase(key);
  return false;
}

std::optional<stores::field_map>
pending_writes::unflushed(const std::string& resource,
                          const std::string& id) const {
  std::shared_ptr<const write_back_queue> q;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    q = queue_;
  }
  if (!q)
    return std::nullopt;
  return q->unflushed(resource, id);
}

} // namespace cachebus
