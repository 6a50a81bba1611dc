#include "cachebus/actors/node/codec.hpp"

#include <string>

namespace cachebus::detail {

namespace {

std::string quoted_or_size(std::string_view bytes) {
  if (bytes.size() > 40)
    return std::to_string(bytes.size()) + " bytes";
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  out += bytes;
  out += '"';
  return out;
}

} // namespace

caf::error number_out_of_range(std::string_view bytes, const char* kind,
                               size_t size) {
  std::string msg = quoted_or_size(bytes);
  msg += " is out of range for ";
  msg += kind;
  msg += " of ";
  msg += std::to_string(size);
  msg += " bytes";
  return make_error(errc::decode_failed, std::move(msg));
}

caf::error not_a_number(std::string_view bytes, const char* kind) {
  std::string msg = "expected ";
  msg += kind;
  msg += ", got ";
  msg += quoted_or_size(bytes);
  return make_error(errc::decode_failed, std::move(msg));
}

caf::error not_a_bool(std::string_view bytes) {
  return make_error(errc::decode_failed, "expected \"true\" or \"false\", got "
                                           + std::to_string(bytes.size())
                                           + " other bytes");
}

} // namespace cachebus::detail
