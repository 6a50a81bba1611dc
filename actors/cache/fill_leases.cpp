#include "cachebus/actors/cache/fill_leases.hpp"

#include "cachebus/actors/invalidation/glob.hpp"

namespace cachebus {

fill_leases::map_type::iterator fill_leases::slot(std::string_view key) {
  auto i = leases_.find(key);
  if (i == leases_.end())
    i = leases_.emplace(std::string{key}, key_leases{}).first;
  return i;
}

uint64_t fill_leases::begin(std::string_view key) {
  auto id = next_id_++;
  slot(key)->second.load = lease{id, tag_epoch_};
  return id;
}

uint64_t fill_leases::begin_write(std::string_view key) {
  auto id = next_id_++;
  slot(key)->second = key_leases{lease{}, lease{id, tag_epoch_}};
  return id;
}

bool fill_leases::finish(std::string_view key, uint64_t id, bool tagged) {
  auto i = leases_.find(key);
  if (i == leases_.end() || id == 0)
    return false;
  auto& ls = i->second;
  uint64_t epoch = 0;
  if (ls.write.id == id) {
    // The write lands: a load that began during it may have read the
    // source before the write reached it. A tag invalidated meanwhile does
    // not refuse a write, as it does not refuse a put: the value is new,
    // not read from before the invalidation.
    leases_.erase(i);
    return true;
  }
  if (ls.load.id == id) {
    epoch = ls.load.tag_epoch;
    ls.load = lease{};
    if (ls.write.id == 0)
      leases_.erase(i);
  } else {
    return false; // cancelled, or replaced by a later lease
  }
  // A tag may have been invalidated while the value was loading.
  return !tagged || epoch == tag_epoch_;
}

void fill_leases::cancel(std::string_view key, uint64_t id) {
  auto i = leases_.find(key);
  if (i == leases_.end() || id == 0)
    return;
  auto& ls = i->second;
  if (ls.write.id == id) {
    // A write that gives up its install still happened (or may have): a
    // load that began during it may have read the source before it.
    leases_.erase(i);
  } else if (ls.load.id == id) {
    ls.load = lease{};
    if (ls.write.id == 0)
      leases_.erase(i);
  }
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
