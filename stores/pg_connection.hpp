// One libpq connection, the building block of postgres_store and
// change_listener: connects with a timeout, runs parameterized statements and
// maps server errors to store_errc. Not synchronized: one owner at a time.
// Owns its PGconn; libpq types stay out of this header (forward declared).
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "cachebus/stores/result.hpp"
#include "cachebus/stores/status.hpp"

struct pg_conn;
struct pg_result;

namespace cachebus::stores {

struct pg_result_deleter {
  void operator()(pg_result* res) const noexcept;
};

using pg_result_ptr = std::unique_ptr<pg_result, pg_result_deleter>;

/// A statement parameter: text, or bytes sent in binary format as bytea.
struct pg_param {
  std::string_view data;
  bool binary = false;
};

class pg_connection {
 public:
  pg_connection() = default;
  ~pg_connection();

  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  /// Closes any current connection and connects anew. `conninfo` is a libpq
  /// connection string or URI. Fails with unavailable if the server cannot
  /// be reached within `timeout`, with invalid_argument if `conninfo` is
  /// malformed.
  status connect(const std::string& conninfo, std::chrono::seconds timeout);

  /// True if the connection is established and not known to be broken.
  bool connected() const noexcept;

  /// Closes the connection (if any).
  void close() noexcept;

  /// Runs one statement. Results come back in binary format if
  /// `binary_results`. Returns the result of a successful statement, else the
  /// mapped error: unavailable for a lost connection or a server shutting
  /// down, conflict for serialization failures and deadlocks, io_error for
  /// anything else the server refuses.
  /// REQUIRES: connected()
  result<pg_result_ptr> exec(const char* sql,
                             std::initializer_list<pg_param> params = {},
                             bool binary_results = false);

  /// Like exec(), for statements whose rows do not matter.
  status run(const char* sql, std::initializer_list<pg_param> params = {});

  /// Runs several `;`-separated statements without parameters in one round
  /// trip (the simple query protocol). Stops at the first error.
  /// REQUIRES: connected()
  status run_script(const char* sql);

  /// The libpq handle; nullptr if never connected.
  pg_conn* native() const noexcept { return conn_; }

 private:
  // Maps the outcome of a statement to a status.
  status check(pg_result* res) const;

  pg_conn* conn_ = nullptr;
};

} // namespace cachebus::stores
