#include "cachebus/stores/memory_store.hpp"

namespace cachebus::stores {

namespace {

status outage() {
  return {store_errc::unavailable, "memory store: simulated outage"};
}

} // namespace

memory_store::memory_store(store_limits limits) : record_store(limits) {}

memory_store::~memory_store() = default;

void memory_store::set_available(bool available) noexcept {
  available_ = available;
}

bool memory_store::available() const noexcept {
  return available_;
}

bool memory_store::erase(std::string_view resource, std::string_view id) {
  std::lock_guard guard{mtx_};
  auto i = records_.find(resource);
  if (i == records_.end())
    return false;
  auto j = i->second.find(id);
  if (j == i->second.end())
    return false;
  i->second.erase(j);
  // The next write re-creates the record with a fresh, larger version.
  return true;
}

size_t memory_store::size() const {
  std::lock_guard guard{mtx_};
  size_t n = 0;
  for (const auto& kvp : records_)
    n += kvp.second.size();
  return n;
}

result<record> memory_store::do_load(std::string_view resource,
                                     std::string_view id) {
  std::lock_guard guard{mtx_};
  if (!available_)
    return outage();
  if (auto i = records_.find(resource); i != records_.end())
    if (auto j = i->second.find(id); j != i->second.end())
      return j->second;
  return status{store_errc::not_found,
                "no record " + std::string{resource} + "/" + std::string{id}};
}

result<std::vector<uint64_t>>
memory_store::do_apply(const std::vector<record_write>& batch) {
  std::lock_guard guard{mtx_};
  if (!available_)
    return outage();
  // The batch passed validation, so nothing below can fail but allocation.
  // Merging happens on copies, so the store changes only once all of the
  // batch has been merged.
  std::vector<uint64_t> versions;
  versions.reserve(batch.size());
  std::map<std::pair<std::string, std::string>, record> touched;
  auto version = last_version_;
  for (const auto& w : batch) {
    auto key = std::make_pair(w.resource, w.id);
    auto i = touched.find(key);
    if (i == touched.end()) {
      record rec;
      if (auto r = records_.find(w.resource); r != records_.end())
        if (auto j = r->second.find(w.id); j != r->second.end())
          rec = j->second;
      rec.resource = w.resource;
      rec.id = w.id;
      i = touched.emplace(std::move(key), std::move(rec)).first;
    }
    for (const auto& [field, value] : w.fields)
      i->second.fields[field] = value;
    i->second.version = ++version;
    versions.push_back(version);
  }
  for (auto& [key, rec] : touched)
    records_[key.first][key.second] = std::move(rec);
  last_version_ = version;
  return versions;
}

} // namespace cachebus::stores
