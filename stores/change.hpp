// A change to a record announced by a store's change feed (PostgreSQL
// LISTEN/NOTIFY): which record, to which version, written or deleted.
// Plain value; parse_change() decodes the feed's JSON payload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cachebus/stores/result.hpp"

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
  /// (its clock); 0 if the payload does not say.
  int64_t at_us = 0;

  /// The same change (what changed; `at_us` is when, not what).
  friend bool operator==(const change& x, const change& y) {
    return x.kind == y.kind && x.resource == y.resource && x.id == y.id
           && x.version == y.version;
  }
};

/// Decodes a payload of the form
/// {"op": "write"|"delete", "resource": "...", "id": "...", "version": N,
///  "at": MICROSECONDS} ("at" optional)
/// (keys in any order, unknown keys ignored, JSON string escapes honored).
/// Fails with invalid_argument on anything else.
result<change> parse_change(std::string_view payload);

} // namespace cachebus::stores
