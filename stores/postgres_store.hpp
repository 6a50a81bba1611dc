// A record store in PostgreSQL (libpq), in two generic tables:
// cachebus_records (resource, id, version) and cachebus_fields (resource, id,
// field, value bytea). Versions come from a sequence; a trigger bumps them
// when anyone else (psql) edits fields. Thread-safe: one connection behind an
// internal mutex. A lost connection fails the call with `unavailable`; the
// next call reconnects.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "cachebus/stores/record_store.hpp"

namespace cachebus::stores {

struct postgres_options {
  /// Bound on establishing a connection (libpq connect_timeout); a setting
  /// in the connection string wins.
  std::chrono::seconds connect_timeout{5};
  store_limits limits;
};

class postgres_store final : public record_store {
 public:
  /// The NOTIFY channel of the change feed.
  static constexpr std::string_view channel = "cachebus";

  /// Connects to `conninfo` (a libpq connection string or URI) and creates
  /// the tables if they do not exist. Fails with unavailable if the server
  /// cannot be reached, invalid_argument if `conninfo` is malformed.
  static result<std::unique_ptr<postgres_store>>
  open(std::string conninfo, postgres_options options = {});

  ~postgres_store() override;

  /// Creates the change feed's tables and (or replaces) the trigger that
  /// records every insert, update and delete of a record, whoever makes it,
  /// in the outbox table cachebus_changes, in the writer's transaction, and
  /// wakes readers with NOTIFY on the channel `cachebus`
  /// (change_listener.hpp reads it). Idempotent; safe to call from several
  /// processes.
  status install_change_feed();

 protected:
  result<record> do_load(std::string_view resource,
                         std::string_view id) override;

  result<std::vector<uint64_t>>
  do_apply(const std::vector<record_write>& batch) override;

 private:
  struct impl;

  postgres_store(std::unique_ptr<impl> ptr, store_limits limits);

  std::unique_ptr<impl> impl_;
};

} // namespace cachebus::stores
