#include "cachebus/stores/record_store.hpp"

#include <mutex>

namespace cachebus::stores {

record_store::record_store(store_limits limits)
    : limits_(limits), schema_(limits) {}

record_store::~record_store() = default;

status record_store::declare(std::string_view resource,
                             const std::vector<std::string>& fields) {
  std::unique_lock guard{schema_mtx_};
  return schema_.declare(resource, fields);
}

std::vector<std::string> record_store::resources() const {
  std::shared_lock guard{schema_mtx_};
  return schema_.resources();
}

std::vector<std::string> record_store::fields(std::string_view resource) const {
  std::shared_lock guard{schema_mtx_};
  return schema_.fields(resource);
}

result<record> record_store::load(std::string_view resource,
                                  std::string_view id) {
  {
    std::shared_lock guard{schema_mtx_};
    if (auto st = schema_.check_key(resource, id); !st.ok())
      return st;
  }
  return do_load(resource, id);
}

result<std::vector<uint64_t>>
record_store::apply(const std::vector<record_write>& batch) {
  {
    std::shared_lock guard{schema_mtx_};
    if (auto st = schema_.check(batch); !st.ok())
      return st;
  }
  if (batch.empty())
    return std::vector<uint64_t>{};
  return do_apply(batch);
}

} // namespace cachebus::stores
