// A node's system of record, opened from its configuration. `cachebus.store`
// names the store:
//
//   sqlite:PATH                 an SQLite file, created if missing; several
//                               node processes may share one file
//   postgresql:CONNINFO         a libpq keyword string, e.g.
//                               postgresql:host=/run/pg dbname=app
//   postgresql://... or postgres://...
//                               a libpq URI, passed to libpq as is
//
// Empty (the default): no store. The schema comes from the rules file
// (`cachebus.rules`, rules.hpp): every rule with a `fields = a, b` line
// declares its resource in the store with those fields. A stored resource
// must have a store-valid name ([a-z_][a-z0-9_]*) and a first key template
// with exactly one `{id}` (its records' canonical key, see record_cache.hpp).
//
// Everything is checked before anything is opened or started: a malformed
// spec, a store without any declared resource, a bad field name or a stored
// resource without a canonical key template is invalid_config (or the
// store's own error for a file or server it cannot open) and opens nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "caf/actor_system_config.hpp"
#include "caf/expected.hpp"

#include "cachebus/actors/invalidation/rules.hpp"
#include "cachebus/stores/record_store.hpp"

namespace cachebus {

/// A parsed `cachebus.store` value.
struct store_spec {
  enum class kind_t { sqlite, postgresql };
  kind_t kind = kind_t::sqlite;
  /// The SQLite path or the libpq connection string / URI.
  std::string target;
};

/// Parses a `cachebus.store` value; invalid_config with the accepted forms
/// if it is none of them (an empty value included).
caf::expected<store_spec> parse_store_spec(std::string_view text);

/// invalid_config unless `rs` declares a usable schema (see above).
caf::error check_schema(const rules& rs);

/// Opens the store of `spec` and declares the resources of `rs` in it.
caf::expected<std::shared_ptr<stores::record_store>>
open_store(const store_spec& spec, const rules& rs);

/// A store opened from a configuration, with the rules it was declared from
/// and the `cachebus.store` value it was opened from.
struct configured_store {
  std::shared_ptr<stores::record_store> store;
  cachebus::rules rules;
  store_spec spec;
};

/// Opens the store named by `cachebus.store` of `cfg` with the rules of
/// `cachebus.rules`; std::nullopt if `cachebus.store` is not set.
caf::expected<std::optional<configured_store>>
open_store(const caf::actor_system_config& cfg);

} // namespace cachebus
