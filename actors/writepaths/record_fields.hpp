// Typed reads of a record's fields: field_as<T>(rec, "age") decodes one
// field with cachebus::codec<T> (codec.hpp), so a service reads a record
// from record_cache::fetch without string plumbing. Pure functions;
// thread-safe. A missing field is errc::invalid_field, a value that does not
// decode as T errc::decode_failed; both name the record and the field.
#pragma once

#include <string>
#include <string_view>

#include "caf/expected.hpp"

#include "cachebus/actors/node/codec.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/stores/record.hpp"

namespace cachebus {

/// Field `name` of `rec`, decoded as T.
template <cacheable T>
caf::expected<T> field_as(const stores::record& rec, std::string_view name) {
  auto what
    = rec.resource + "/" + rec.id + " field \"" + std::string{name} + "\"";
  auto i = rec.fields.find(std::string{name});
  if (i == rec.fields.end())
    return make_error(errc::invalid_field, "record " + what + " is not set");
  return detail::decode_value<T>(i->second, what);
}

/// Field `name` of `rec`, decoded as T, or `fallback` if the record does not
/// set it; a value that does not decode is still decode_failed.
template <cacheable T>
caf::expected<T> field_or(const stores::record& rec, std::string_view name,
                          T fallback) {
  auto i = rec.fields.find(std::string{name});
  if (i == rec.fields.end())
    return fallback;
  return detail::decode_value<T>(i->second, rec.resource + "/" + rec.id
                                              + " field \"" + std::string{name}
                                              + "\"");
}

} // namespace cachebus
