// The record handling of a small user service (issue 14's "first hour"),
// written against the byte API as it was before typed values: the record is
// fetched by its cache key with the node's store loader, which returns the
// encoded record, so every read decodes it (decode_record) and parses its
// fields by hand; the derived "card" entry is a hand-made string format.
// Kept next to user_service_new.hpp, which does the same with the typed API;
// typed_records_test.cpp runs both on the same scenario.
#pragma once

#include <charconv>
#include <string>

#include "caf/expected.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"

#include "user_types.hpp"

namespace example::old_api {

class user_service {
 public:
  user_service(cachebus::node& n, cachebus::record_cache& rc)
      : n_(n), rc_(rc) {}

  // Cache-aside read of the record (single flight through the store loader).
  caf::expected<user> get_user(const std::string& id) {
    auto bytes = n_.fetch("user:" + id);
    if (!bytes)
      return std::move(bytes.error());
    auto rec = cachebus::decode_record(*bytes);
    if (!rec)
      return std::move(rec.error());
    return to_user(rec->fields);
  }

  // Write-through: the store, then the cache and the derived keys.
  caf::expected<uint64_t> update_user(const std::string& id, const user& u) {
    return rc_.update(
      "users", id,
      {{"name", u.name}, {"email", u.email}, {"age", std::to_string(u.age)}});
  }

  // A derived entry, cached next to the record and dropped with it.
  caf::expected<card> get_card(const std::string& id) {
    auto bytes = n_.fetch(
      "user:" + id + ":card",
      [&](const std::string&) -> caf::expected<cachebus::loaded> {
        auto raw = n_.fetch("user:" + id);
        if (!raw)
          return std::move(raw.error());
        auto rec = cachebus::decode_record(*raw);
        if (!rec)
          return std::move(rec.error());
        auto u = to_user(rec->fields);
        if (!u)
          return std::move(u.error());
        auto posts = number(rec->fields, "posts");
        if (!posts)
          return std::move(posts.error());
        return cachebus::loaded{card_title(*u) + "\n" + std::to_string(*posts),
                                rec->version};
      });
    if (!bytes)
      return std::move(bytes.error());
    auto nl = bytes->rfind('\n');
    if (nl == std::string::npos)
      return cachebus::make_error(cachebus::errc::invalid_argument,
                                  "a cached card has no newline");
    cachebus::stores::field_map f{{"posts", bytes->substr(nl + 1)}};
    auto posts = number(f, "posts");
    if (!posts)
      return std::move(posts.error());
    return card{bytes->substr(0, nl), *posts};
  }

 private:
  static caf::expected<int64_t> number(const cachebus::stores::field_map& f,
                                       const std::string& name) {
    auto i = f.find(name);
    if (i == f.end())
      return cachebus::make_error(cachebus::errc::invalid_field,
                                  "the record has no field " + name);
    int64_t v = 0;
    auto* first = i->second.data();
    auto* last = first + i->second.size();
    auto [end, ec] = std::from_chars(first, last, v);
    if (ec != std::errc{} || end != last || first == last)
      return cachebus::make_error(cachebus::errc::invalid_argument,
                                  "field " + name + " is not a number");
    return v;
  }

  static caf::expected<user> to_user(const cachebus::stores::field_map& f) {
    auto name = f.find("name");
    auto email = f.find("email");
    if (name == f.end() || email == f.end())
      return cachebus::make_error(cachebus::errc::invalid_field,
                                  "the record lacks name or email");
    auto age = number(f, "age");
    if (!age)
      return std::move(age.error());
    return user{name->second, email->second, static_cast<int>(*age)};
  }

  cachebus::node& n_;
  cachebus::record_cache& rc_;
};

} // namespace example::old_api
