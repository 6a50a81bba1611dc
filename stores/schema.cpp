#include "cachebus/stores/schema.hpp"

#include <cstdint>

namespace cachebus::stores {

namespace {

// Quotes a user-provided string for an error message, shortened so that a
// megabyte of garbage does not end up in a log line.
std::string quoted(std::string_view str) {
  constexpr size_t max_shown = 64;
  std::string out = "'";
  out.append(str.substr(0, max_shown));
  if (str.size() > max_shown)
    out += "...";
  out += "'";
  return out;
}

// RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view str) {
  auto s = reinterpret_cast<const unsigned char*>(str.data());
  size_t n = str.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len)
      return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    constexpr uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

} // namespace

bool schema::valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63)
    return false;
  auto lower_or_underscore
    = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  if (!lower_or_underscore(name.front()))
    return false;
  for (char c : name.substr(1))
    if (!lower_or_underscore(c) && !(c >= '0' && c <= '9'))
      return false;
  return true;
}

status schema::declare(std::string_view resource,
                       const std::vector<std::string>& fields) {
  if (!valid_name(resource))
    return {store_errc::invalid_argument,
            "resource name " + quoted(resource)
              + " does not match [a-z_][a-z0-9_]{0,62}"};
  for (const auto& field : fields)
    if (!valid_name(field))
      return {store_errc::invalid_field,
              "field name " + quoted(field) + " of resource " + quoted(resource)
                + " does not match [a-z_][a-z0-9_]{0,62}"};
  auto i = resources_.find(resource);
  if (i == resources_.end())
    i = resources_.emplace(std::string{resource}, decltype(i->second){}).first;
  i->second.insert(fields.begin(), fields.end());
  return {};
}

std::vector<std::string> schema::resources() const {
  std::vector<std::string> out;
  out.reserve(resources_.size());
  for (const auto& kvp : resources_)
    out.push_back(kvp.first);
  return out;
}

std::vector<std::string> schema::fields(std::string_view resource) const {
  auto i = resources_.find(resource);
  if (i == resources_.end())
    return {};
  return {i->second.begin(), i->second.end()};
}

status schema::check_key(std::string_view resource, std::string_view id) const {
  if (resources_.find(resource) == resources_.end())
    return {store_errc::unknown_resource,
            "resource " + quoted(resource) + " was never declared"};
  if (id.empty())
    return {store_errc::invalid_argument, "empty id"};
  if (id.size() > limits_.max_id_size)
    return {store_errc::invalid_argument,
            "id of " + std::to_string(id.size())
              + " bytes exceeds the limit of "
              + std::to_string(limits_.max_id_size)};
  if (id.find('\0') != std::string_view::npos)
    return {store_errc::invalid_argument, "id contains a NUL byte"};
  if (!valid_utf8(id))
    return {store_errc::invalid_argument, "id is not valid UTF-8"};
  return {};
}

status schema::check(const record_write& w) const {
  if (auto st = check_key(w.resource, w.id); !st.ok())
    return st;
  const auto& declared = resources_.find(w.resource)->second;
  for (const auto& [field, value] : w.fields) {
    if (!valid_name(field))
      return {store_errc::invalid_field,
              "field name " + quoted(field)
                + " does not match [a-z_][a-z0-9_]{0,62}"};
    if (declared.find(field) == declared.end())
      return {store_errc::invalid_field, "field " + quoted(field)
                                           + " is not declared for resource "
                                           + quoted(w.resource)};
    if (value.size() > limits_.max_value_size)
      return {store_errc::value_too_large,
              "value of field " + quoted(field) + " has "
                + std::to_string(value.size()) + " bytes, the limit is "
                + std::to_string(limits_.max_value_size)};
  }
  return {};
}

status schema::check(const std::vector<record_write>& batch) const {
  for (size_t i = 0; i < batch.size(); ++i)
    if (auto st = check(batch[i]); !st.ok())
      return {st.code(),
              "write #" + std::to_string(i) + " of the batch: " + st.message()};
  return {};
}

} // namespace cachebus::stores
