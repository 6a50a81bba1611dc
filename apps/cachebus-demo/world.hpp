// The seed's world for the demo: accounts and posts in a system of record
// (SQLite in a temporary file by default, or PostgreSQL), and a counter of
// store loads so every section can say how often the database was hit.
// Thread-safe (the stores are internally locked).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "cachebus/actors/flight/fetch_options.hpp"
#include "cachebus/stores/record_store.hpp"

#include "cachebus/apps/common/temp_dir.hpp"

namespace cachebus::demo {

class world {
 public:
  /// Opens the store (empty `postgres`: SQLite in a temporary directory) and
  /// seeds `accounts` accounts and `posts` posts.
  static caf::expected<std::unique_ptr<world>>
  open(const std::string& postgres, size_t accounts, size_t posts);

  ~world();

  /// Loads a record and renders it as the cached value; counts a load.
  caf::expected<loaded> load(const std::string& resource,
                             const std::string& id);

  stores::record_store& store() { return *store_; }

  const std::shared_ptr<stores::record_store>& shared_store() const {
    return store_;
  }

  /// A directory for files the demo needs (the write-back journal).
  std::string scratch_dir() const { return tmp_dir_.path().string(); }

  size_t loads() const { return loads_.load(); }

  const std::string& description() const { return description_; }

 private:
  world() = default;
  std::shared_ptr<stores::record_store> store_;
  app::temp_dir tmp_dir_{"cachebus-demo"};
  std::string description_;
  std::atomic<size_t> loads_{0};
};

} // namespace cachebus::demo
