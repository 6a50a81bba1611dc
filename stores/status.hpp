// The outcome of a store operation: ok, or an error code with a readable
// message. Errors are values; nothing in stores/ throws across its API.
// A status is a plain value type: copy it, compare its code, print it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace cachebus::stores {

/// What went wrong. Callers branch on the code; the message is for humans.
enum class store_errc : uint8_t {
  ok = 0,
  /// The record does not exist.
  not_found,
  /// An argument is malformed (an empty id, an id that is not UTF-8, ...).
  invalid_argument,
  /// The resource was never declared.
  unknown_resource,
  /// A field name is malformed or not declared for its resource.
  invalid_field,
  /// A value is larger than the store's `max_value_size`.
  value_too_large,
  /// The store cannot be reached (server down, connection lost, database
  /// locked for too long). Nothing was changed unless the message says the
  /// outcome is unknown. Retrying later may succeed.
  unavailable,
  /// The store refused the transaction because of a concurrent one
  /// (serialization failure, deadlock). Nothing was changed; retry.
  conflict,
  /// The store failed the operation (I/O error, a constraint or trigger
  /// raised, unexpected server error). Nothing was changed.
  io_error,
};

/// Returns the symbolic name of `code`, e.g. "unknown_resource".
std::string_view to_string(store_errc code);

/// An error code plus a message; default-constructed it means success.
class [[nodiscard]] status {
 public:
  /// Success.
  status() noexcept = default;

  /// REQUIRES: code != store_errc::ok
  status(store_errc code, std::string message)
      : code_(code), message_(std::move(message)) {}

  bool ok() const noexcept { return code_ == store_errc::ok; }

  store_errc code() const noexcept { return code_; }

  const std::string& message() const noexcept { return message_; }

  /// "ok", or "<code>: <message>", e.g. "unknown_resource: no resource 'x'".
  std::string to_string() const;

 private:
  store_errc code_ = store_errc::ok;
  std::string message_;
};

} // namespace cachebus::stores
