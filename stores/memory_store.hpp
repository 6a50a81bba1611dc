// A record store in memory, for tests and examples. Behaves like the durable
// stores (same validation, store-wide version counter, all-or-nothing
// batches) and can simulate an outage. Thread-safe (one internal mutex).
// Contents die with the object.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "cachebus/stores/record_store.hpp"

namespace cachebus::stores {

class memory_store final : public record_store {
 public:
  explicit memory_store(store_limits limits = {});

  ~memory_store() override;

  /// Simulates an outage: while false, load() and apply() fail with
  /// `unavailable` and change nothing. Validation still runs first, and
  /// declarations are unaffected (they never reach a backend).
  void set_available(bool available) noexcept;

  bool available() const noexcept;

  /// Removes a record as someone behind the application's back would.
  /// Returns false if it did not exist. Works during a simulated outage.
  bool erase(std::string_view resource, std::string_view id);

  /// Number of stored records.
  size_t size() const;

 protected:
  result<record> do_load(std::string_view resource,
                         std::string_view id) override;

  result<std::vector<uint64_t>>
  do_apply(const std::vector<record_write>& batch) override;

 private:
  using id_map = std::map<std::string, record, std::less<>>;

  std::atomic<bool> available_{true};
  mutable std::mutex mtx_;
  std::map<std::string, id_map, std::less<>> records_;
  uint64_t last_version_ = 0;
};

} // namespace cachebus::stores
