// A record of a system of record, and a write to one. A record is identified
// by (resource, id) and carries named fields and a version. Plain values:
// copy them freely, share them across threads like any std::map.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace cachebus::stores {

using field_map = std::map<std::string, std::string>;

/// One record as a store holds it.
struct record {
  /// The declared resource, e.g. "users".
  std::string resource;
  /// The record's id within its resource: non-empty UTF-8 without NUL bytes.
  std::string id;
  /// Field name -> value. Values are byte strings, stored exactly.
  field_map fields;
  /// Strictly increasing with every write to this record, also across a
  /// deletion and re-creation: versions come from one store-wide counter, so
  /// they are not consecutive. 0 means "absent"; stored records have >= 1.
  uint64_t version = 0;

  friend bool operator==(const record&, const record&) = default;
};

/// Sets `fields` on the record (resource, id), creating it if absent. Fields
/// not named keep their values; a named field is overwritten (last write wins).
/// (Not called `write`: under a using-directive it would clash with POSIX
/// write().)
struct record_write {
  std::string resource;
  std::string id;
  field_map fields;

  friend bool operator==(const record_write&, const record_write&) = default;
};

} // namespace cachebus::stores
