#include "cachebus/actors/cache/fill_leases.hpp"

#include "cachebus/actors/invalidation/glob.hpp"

namespace cachebus {

uint64_t fill_leases::begin(std::string_view key) {
  auto id = next_id_++;
  auto i = leases_.find(key);
  if (i == leases_.end())
    leases_.emplace(std::string{key}, lease{id, tag_epoch_});
  else
    i->second = lease{id, tag_epoch_};
  return id;
}

bool fill_leases::finish(std::string_view key, uint64_t id, bool tagged) {
  auto i = leases_.find(key);
  if (i == leases_.end() || i->second.id != id)
    return false; // cancelled, or replaced by a later lease
  auto epoch = i->second.tag_epoch;
  leases_.erase(i);
  // A tag may have been invalidated while the value was loading.
  return !tagged || epoch == tag_epoch_;
}

void fill_leases::cancel(std::string_view key, uint64_t id) {
  auto i = leases_.find(key);
  if (i != leases_.end() && i->second.id == id)
    leases_.erase(i);
}

void fill_leases::erase_key(std::string_view key) {
  auto i = leases_.find(key);
  if (i != leases_.end())
    leases_.erase(i);
}

void fill_leases::cancel_matching(std::string_view glob) {
  for (auto i = leases_.begin(); i != leases_.end();) {
    if (glob_match(glob, i->first))
      i = leases_.erase(i);
    else
      ++i;
  }
}

} // namespace cachebus
