// A throwaway PostgreSQL cluster for the tests: initdb in a fresh temporary
// directory, trust authentication, a free loopback port, fsync off. One
// cluster serves the whole test binary (shared()); it is stopped and deleted
// at exit. Runs the server as the `postgres` OS user when we are root.
// Failures throw std::runtime_error with the server's log, which Catch
// reports as a failed test: missing PostgreSQL binaries never skip silently.
#pragma once

#include <string>
#include <vector>

#include "cachebus/apps/common/temp_dir.hpp"

namespace cachebus::test {

class pg_cluster {
 public:
  /// The cluster of this test binary, started on first use.
  /// Throws if PostgreSQL cannot be started (the error repeats on every call).
  static pg_cluster& shared();

  ~pg_cluster();

  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// Creates a new, empty database and returns its connection string.
  std::string create_database();

  /// The connection string of database `dbname` (over TCP on 127.0.0.1).
  std::string conninfo(const std::string& dbname) const;

  /// Stops the server at once (pg_ctl stop -m immediate): an outage.
  void stop();

  /// Starts the server again on the same port and waits until it accepts
  /// connections (bounded; throws on timeout).
  void start();

  bool running() const noexcept { return running_; }

  int port() const noexcept { return port_; }

 private:
  pg_cluster();

  // Runs a PostgreSQL binary (as the postgres user when root); throws with
  // its output and the server log if it fails.
  void run_tool(const std::string& tool, const std::vector<std::string>& args);

  void wait_until_ready();

  std::string log_tail() const;

  std::string bindir_;
  app::temp_dir dir_; // initdb's data directory, socket, logs
  std::string datadir_;
  int port_ = 0;
  bool running_ = false;
  int databases_ = 0;
};

/// Runs `sql` on its own raw libpq connection, as psql would: for changes
/// made behind a store's back. Throws std::runtime_error on failure.
void run_sql(const std::string& conninfo, const std::string& sql);

/// Runs `sql` on a new connection to `conninfo` and returns the first
/// column of its first row as text (throws if it fails or has no row).
std::string query_value(const std::string& conninfo, const std::string& sql);

} // namespace cachebus::test
