// The three record stores under one shape, so that one test can state a
// contract and run it against each (TEMPLATE_TEST_CASE), plus helpers that
// fail a test with the store's own error message.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "cachebus/stores/memory_store.hpp"
#include "cachebus/stores/postgres_store.hpp"
#include "cachebus/stores/record_store.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/temp_dir.hpp"
#include "pg_cluster.hpp"

namespace Catch {

template <>
struct StringMaker<cachebus::stores::store_errc> {
  static std::string convert(cachebus::stores::store_errc code) {
    return std::string{cachebus::stores::to_string(code)};
  }
};

template <>
struct StringMaker<cachebus::stores::status> {
  static std::string convert(const cachebus::stores::status& st) {
    return st.to_string();
  }
};

} // namespace Catch

namespace cachebus::test {

/// Returns the value of `res`, or fails the test with its error.
template <class T>
T require_ok(stores::result<T> res) {
  if (!res.ok())
    FAIL(res.error().to_string());
  return std::move(res).value();
}

/// Fails the test with `st` unless it is ok.
inline void require_ok(const stores::status& st) {
  if (!st.ok())
    FAIL(st.to_string());
}

/// Declares the resources the tests use.
inline void declare_test_resources(stores::record_store& store) {
  require_ok(store.declare("users", {"name", "email", "bio", "age"}));
  require_ok(store.declare("orders", {"total", "state"}));
}

struct memory_kind {
  std::unique_ptr<stores::record_store> open(stores::store_limits limits = {}) {
    return std::make_unique<stores::memory_store>(limits);
  }
};

struct sqlite_kind {
  app::temp_dir dir;

  std::unique_ptr<stores::record_store> open(stores::store_limits limits = {}) {
    stores::sqlite_options opts;
    opts.limits = limits;
    return require_ok(stores::sqlite_store::open(dir.file("records.db"), opts));
  }
};

struct postgres_kind {
  std::string conninfo = pg_cluster::shared().create_database();

  std::unique_ptr<stores::record_store> open(stores::store_limits limits = {}) {
    stores::postgres_options opts;
    opts.limits = limits;
    return require_ok(stores::postgres_store::open(conninfo, opts));
  }
};

} // namespace cachebus::test
