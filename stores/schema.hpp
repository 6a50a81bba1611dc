// The declared resources of a store and the rules every write must pass:
// resource and field names match [a-z_][a-z0-9_]{0,62}, ids are non-empty
// UTF-8 without NUL bytes, values and ids respect the store's limits.
// Not synchronized: the owning record_store guards it.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cachebus/stores/record.hpp"
#include "cachebus/stores/status.hpp"

namespace cachebus::stores {

/// Size limits a store enforces before touching its backend.
struct store_limits {
  /// Largest accepted field value in bytes (default 1 MiB).
  size_t max_value_size = size_t{1} << 20;
  /// Largest accepted id in bytes (default 1 KiB, the cache's key limit).
  size_t max_id_size = 1024;
};

class schema {
 public:
  explicit schema(store_limits limits = {}) : limits_(limits) {}

  /// True if `name` matches [a-z_][a-z0-9_]{0,62}: a valid resource or field
  /// name in every backend (it is also a valid SQL identifier).
  static bool valid_name(std::string_view name);

  /// Declares `resource` with the fields its records may carry. Declaring a
  /// resource again adds `fields` to the ones it has; none is ever removed.
  /// On error nothing is declared.
  status declare(std::string_view resource,
                 const std::vector<std::string>& fields);

  /// The declared resources, sorted.
  std::vector<std::string> resources() const;

  /// The declared fields of `resource`, sorted; empty if not declared.
  std::vector<std::string> fields(std::string_view resource) const;

  /// Checks that (resource, id) may be loaded.
  status check_key(std::string_view resource, std::string_view id) const;

  /// Checks one write against the declarations and the limits.
  status check(const record_write& w) const;

  /// Checks every write of `batch`; the first failure wins and names the
  /// index of the offending write.
  status check(const std::vector<record_write>& batch) const;

  const store_limits& limits() const noexcept { return limits_; }

 private:
  store_limits limits_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>>
    resources_;
};

} // namespace cachebus::stores
