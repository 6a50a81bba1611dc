// A system of record: loads a record with its version and applies a batch of
// writes as one transaction. Resources are declared up front; every call is
// validated against the declarations and limits before the backend sees it.
// Thread-safe: all methods may be called concurrently; implementations
// serialize their I/O internally. Calls block on I/O, so run them on a thread
// that may block (a detached actor), never on a shared scheduler worker.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cachebus/stores/record.hpp"
#include "cachebus/stores/result.hpp"
#include "cachebus/stores/schema.hpp"
#include "cachebus/stores/status.hpp"

namespace cachebus::stores {

class record_store {
 public:
  virtual ~record_store();

  record_store(const record_store&) = delete;
  record_store& operator=(const record_store&) = delete;

  // -- schema -----------------------------------------------------------------

  /// Declares `resource` with the fields its records may carry. Declaring a
  /// resource again adds fields. Declarations live in this object only (the
  /// backend's tables are generic), so this never fails for backend reasons.
  /// Refused, declaring nothing: a resource name not matching
  /// [a-z_][a-z0-9_]{0,62} (invalid_argument), such a field name
  /// (invalid_field).
  status declare(std::string_view resource,
                 const std::vector<std::string>& fields);

  /// The declared resources, sorted.
  std::vector<std::string> resources() const;

  /// The declared fields of `resource`, sorted; empty if not declared.
  std::vector<std::string> fields(std::string_view resource) const;

  const store_limits& limits() const noexcept { return limits_; }

  // -- data -------------------------------------------------------------------

  /// Loads the record (resource, id) with all its fields and its version.
  /// Fails with not_found if it does not exist, unknown_resource if the
  /// resource was never declared, invalid_argument unless the id is non-empty
  /// UTF-8 without NUL of at most limits().max_id_size bytes, and with the
  /// backend's errors (unavailable, io_error).
  result<record> load(std::string_view resource, std::string_view id);

  /// Applies `batch` in one transaction: all writes or none. Writes apply in
  /// order; each bumps its record's version, so a record written twice in one
  /// batch gets two versions and ends with the later one's fields merged over
  /// the earlier. Returns the new version of each write, index by index. An
  /// empty batch succeeds and touches nothing.
  /// Before the backend sees anything, the whole batch is checked like load()
  /// plus: every field declared for its resource (invalid_field), every value
  /// at most limits().max_value_size bytes (value_too_large). The first
  /// failing write is named in the message; nothing is applied.
  result<std::vector<uint64_t>> apply(const std::vector<record_write>& batch);

 protected:
  explicit record_store(store_limits limits);

  // Called after validation; `batch` is non-empty.
  virtual result<record> do_load(std::string_view resource, std::string_view id)
    = 0;
  virtual result<std::vector<uint64_t>>
  do_apply(const std::vector<record_write>& batch) = 0;

 private:
  const store_limits limits_;
  mutable std::shared_mutex schema_mtx_;
  schema schema_;
};

} // namespace cachebus::stores
