// A record store in one SQLite file: the embedded default. WAL journal,
// configurable synchronous level and busy timeout; every batch is one
// IMMEDIATE transaction over prepared statements. Thread-safe (one connection
// behind an internal mutex). Several stores, in this or other processes, may
// open the same file; SQLite serializes their writers. SQLite has no change
// feed: edits made with other tools are not announced and bump no versions.
// Every write batch first checks that the path still names the file opened
// at start (device and inode): a file deleted or replaced under a running
// store fails writes with `unavailable` instead of losing them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cachebus/stores/record_store.hpp"

namespace cachebus::stores {

struct sqlite_options {
  /// PRAGMA synchronous. `normal` in WAL mode loses at most the last
  /// transactions on power loss, never consistency; `full` syncs every commit.
  enum class sync_mode { off, normal, full };

  sync_mode synchronous = sync_mode::normal;
  /// How long a call waits for another connection's write lock before it
  /// fails with `unavailable`.
  std::chrono::milliseconds busy_timeout{5000};
  store_limits limits;
};

class sqlite_store final : public record_store {
 public:
  /// Opens (creating if needed) the database file at `path` and its tables.
  /// Fails with io_error if the file cannot be opened or is not a database.
  static result<std::unique_ptr<sqlite_store>>
  open(const std::string& path, sqlite_options options = {});

  ~sqlite_store() override;

  const std::string& path() const noexcept;

 protected:
  result<record> do_load(std::string_view resource,
                         std::string_view id) override;

  result<std::vector<uint64_t>>
  do_apply(const std::vector<record_write>& batch) override;

 private:
  struct impl;

  sqlite_store(std::unique_ptr<impl> ptr, store_limits limits);

  std::unique_ptr<impl> impl_;
};

} // namespace cachebus::stores
