// The record handling of user_service_old.hpp, with the typed API: the
// record comes from record_cache::fetch as a value (single flight), fields
// are read with field_as<T>, and the derived "card" entry is a typed value
// whose codec is written once (no decode_record, no parsing at call sites).
#pragma once

#include <string>

#include "caf/expected.hpp"

#include "cachebus/actors/node/codec.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/actors/writepaths/record_fields.hpp"

#include "user_types.hpp"

// How a card is cached: "title\nposts".
template <>
struct cachebus::codec<example::card> {
  static caf::expected<std::string> encode(const example::card& c) {
    return c.title + "\n" + std::to_string(c.posts);
  }
  static caf::expected<example::card> decode(std::string_view bytes) {
    auto nl = bytes.rfind('\n');
    if (nl == std::string_view::npos)
      return make_error(errc::decode_failed, "a card has no newline");
    auto posts = codec<int64_t>::decode(bytes.substr(nl + 1));
    if (!posts)
      return std::move(posts.error());
    return example::card{std::string{bytes.substr(0, nl)}, *posts};
  }
};

namespace example::new_api {

class user_service {
 public:
  user_service(cachebus::node& n, cachebus::record_cache& rc)
      : n_(n), rc_(rc) {}

  // Cache-aside read of the record (single flight).
  caf::expected<user> get_user(const std::string& id) {
    auto rec = rc_.fetch("users", id);
    if (!rec)
      return std::move(rec.error());
    return to_user(*rec);
  }

  // Write-through: the store, then the cache and the derived keys.
  caf::expected<uint64_t> update_user(const std::string& id, const user& u) {
    return rc_.update(
      "users", id,
      {{"name", u.name}, {"email", u.email}, {"age", std::to_string(u.age)}});
  }

  // A derived entry, cached next to the record and dropped with it.
  caf::expected<card> get_card(const std::string& id) {
    return n_.fetch_as<card>(
      "user:" + id + ":card",
      [&](const std::string&) -> caf::expected<cachebus::loaded_as<card>> {
        auto rec = rc_.fetch("users", id);
        if (!rec)
          return std::move(rec.error());
        auto u = to_user(*rec);
        auto posts = cachebus::field_as<int64_t>(*rec, "posts");
        if (!u || !posts)
          return u ? std::move(posts.error()) : std::move(u.error());
        return cachebus::loaded_as<card>{{card_title(*u), *posts},
                                         rec->version};
      });
  }

 private:
  static caf::expected<user> to_user(const cachebus::stores::record& rec) {
    auto name = cachebus::field_as<std::string>(rec, "name");
    auto email = cachebus::field_as<std::string>(rec, "email");
    auto age = cachebus::field_as<int>(rec, "age");
    if (!name || !email || !age)
      return !name ? name.error() : !email ? email.error() : age.error();
    return user{*name, *email, *age};
  }

  cachebus::node& n_;
  cachebus::record_cache& rc_;
};

} // namespace example::new_api
