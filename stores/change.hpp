// A change to a record read from a store's change feed (the PostgreSQL
// outbox, change_listener.hpp): which record, to which version, written or
// deleted. Plain value.
#pragma once

#include <cstdint>
#include <string>

namespace cachebus::stores {

enum class change_kind : uint8_t {
  /// The record was created or its fields changed.
  write,
  /// The record was deleted (or renamed away from this id).
  erase,
};

struct change {
  change_kind kind = change_kind::write;
  std::string resource;
  std::string id;
  /// The record's new version; for an erase, a version newer than any the
  /// record had, so versioned invalidation removes every cached copy.
  uint64_t version = 0;
  /// When the database's trigger ran, in microseconds since the Unix epoch
  /// (its clock); 0 if unknown.
  int64_t at_us = 0;
  /// The change's position in the outbox (increasing in the order the rows
  /// were written; 0 if unknown).
  uint64_t seq = 0;

  /// The same change (what changed; `at_us` and `seq` are when and where,
  /// not what).
  friend bool operator==(const change& x, const change& y) {
    return x.kind == y.kind && x.resource == y.resource && x.id == y.id
           && x.version == y.version;
  }
};

} // namespace cachebus::stores
