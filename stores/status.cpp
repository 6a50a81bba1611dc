#include "cachebus/stores/status.hpp"

namespace cachebus::stores {

std::string_view to_string(store_errc code) {
  switch (code) {
  case store_errc::ok:
    return "ok";
  case store_errc::not_found:
    return "not_found";
  case store_errc::invalid_argument:
    return "invalid_argument";
  case store_errc::unknown_resource:
    return "unknown_resource";
  case store_errc::invalid_field:
    return "invalid_field";
  case store_errc::value_too_large:
    return "value_too_large";
  case store_errc::unavailable:
    return "unavailable";
  case store_errc::conflict:
    return "conflict";
  case store_errc::io_error:
    return "io_error";
  }
  return "unknown_error";
}

std::string status::to_string() const {
  if (ok())
    return "ok";
  std::string out{stores::to_string(code_)};
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

} // namespace cachebus::stores
