// A value or the status that explains why there is none (like absl::StatusOr).
// Functions that produce something return result<T>; functions that only
// succeed or fail return status. A result is a plain value type.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "cachebus/stores/status.hpp"

namespace cachebus::stores {

template <class T>
class [[nodiscard]] result {
 public:
  /// A successful result holding `value`.
  result(T value) : data_(std::in_place_index<0>, std::move(value)) {}

  /// A failed result.
  /// REQUIRES: !err.ok()
  result(status err) : data_(std::in_place_index<1>, std::move(err)) {
    assert(!std::get<1>(data_).ok());
  }

  bool ok() const noexcept { return data_.index() == 0; }

  /// The error; an ok status if this result holds a value.
  status error() const { return ok() ? status{} : std::get<1>(data_); }

  /// REQUIRES: ok()
  T& value() & {
    assert(ok());
    return std::get<0>(data_);
  }

  /// REQUIRES: ok()
  const T& value() const& {
    assert(ok());
    return std::get<0>(data_);
  }

  /// REQUIRES: ok()
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(data_));
  }

  /// REQUIRES: ok()
  T& operator*() & { return value(); }

  /// REQUIRES: ok()
  const T& operator*() const& { return value(); }

  /// REQUIRES: ok()
  T* operator->() { return &value(); }

  /// REQUIRES: ok()
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, status> data_;
};

} // namespace cachebus::stores
