#include "cachebus/actors/writepaths/store_setup.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/stores/postgres_store.hpp"
#include "cachebus/stores/schema.hpp"
#include "cachebus/stores/sqlite_store.hpp"

namespace cachebus {

namespace {

constexpr std::string_view forms
  = "sqlite:PATH, postgresql:CONNINFO or a postgresql:// URI";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

caf::error bad(std::string why) {
  return make_error(errc::invalid_config, std::move(why));
}

size_t placeholders(const std::string& t) {
  size_t n = 0;
  for (auto at = t.find("{id}"); at != std::string::npos;
       at = t.find("{id}", at + 1))
    ++n;
  return n;
}

} // namespace

// -- parsing and checking
// -------------------------------------------------------

caf::expected<store_spec> parse_store_spec(std::string_view text) {
  store_spec out;
  if (starts_with(text, "postgresql://") || starts_with(text, "postgres://")) {
    out.kind = store_spec::kind_t::postgresql;
    out.target = std::string{text};
  } else if (starts_with(text, "postgresql:")) {
    out.kind = store_spec::kind_t::postgresql;
    out.target = std::string{text.substr(11)};
  } else if (starts_with(text, "sqlite:")) {
    out.kind = store_spec::kind_t::sqlite;
    out.target = std::string{text.substr(7)};
  } else {
    return bad("cachebus.store must be " + std::string{forms} + ", got \""
               + std::string{text} + "\"");
  }
  if (out.target.find_first_not_of(" \t") == std::string::npos)
    return bad(
      "cachebus.store \"" + std::string{text} + "\" names no "
      + (out.kind == store_spec::kind_t::sqlite ? "file" : "database"));
  return out;
}

caf::error check_schema(const rules& rs) {
  size_t stored = 0;
  for (auto& name : rs.resources()) {
    auto* r = rs.find(name);
    if (r == nullptr || r->fields.empty())
      continue;
    ++stored;
    auto where = "rule \"" + name + "\"";
    if (!stores::schema::valid_name(name))
      return bad(where
                 + " declares fields, so its resource name must be a "
                   "store name ([a-z_][a-z0-9_]*, at most 63 characters)");
    for (auto& f : r->fields)
      if (!stores::schema::valid_name(f))
        return bad(where + ": field \"" + f
                   + "\" is not a store name "
                     "([a-z_][a-z0-9_]*, at most 63 characters)");
    if (r->keys.empty() || placeholders(r->keys.front()) != 1)
      return bad(where
                 + " declares fields, so its first key template (its "
                   "records' canonical key) must contain {id} exactly once");
  }
  if (stored == 0)
    return bad("cachebus.store is set but no rule declares the fields of a "
               "stored resource: add `fields = a, b` to the rules "
               "(cachebus.rules) of each resource the store holds");
  return {};
}

// -- opening
// --------------------------------------------------------------------

caf::expected<std::shared_ptr<stores::record_store>>
open_store(const store_spec& spec, const rules& rs) {
  if (auto err = check_schema(rs))
    return err;
  std::shared_ptr<stores::record_store> store;
  if (spec.kind == store_spec::kind_t::sqlite) {
    auto s = stores::sqlite_store::open(spec.target);
    if (!s.ok())
      return make_error(errc::store_unavailable,
                        "cachebus.store: cannot open SQLite file \""
                          + spec.target + "\": " + s.error().to_string());
    store = std::move(s).value();
  } else {
    auto s = stores::postgres_store::open(spec.target);
    if (!s.ok())
      return make_error(s.error().code() == stores::store_errc::invalid_argument
                          ? errc::invalid_config
                          : errc::store_unavailable,
                        "cachebus.store: cannot connect to PostgreSQL: "
                          + s.error().to_string());
    store = std::move(s).value();
  }
  for (auto& name : rs.resources())
    if (auto* r = rs.find(name); r && !r->fields.empty())
      if (auto st = store->declare(name, r->fields); !st.ok())
        return bad("cachebus.store: cannot declare resource \"" + name
                   + "\": " + st.to_string());
  return store;
}

caf::expected<std::optional<configured_store>>
open_store(const caf::actor_system_config& cfg) {
  std::string text;
  if (auto err = read_option(cfg, "cachebus.store", text))
    return err;
  if (text.empty())
    return std::optional<configured_store>{};
  auto spec = parse_store_spec(text);
  if (!spec)
    return std::move(spec.error());
  std::string path;
  if (auto err = read_option(cfg, "cachebus.rules", path))
    return err;
  if (path.empty())
    return bad("cachebus.store needs cachebus.rules: the rules file declares "
               "the stored resources (`fields = ...`) and their keys");
  auto rs = rules::load(path);
  if (!rs)
    return std::move(rs.error());
  auto store = open_store(*spec, *rs);
  if (!store)
    return std::move(store.error());
  return std::optional<configured_store>{
    configured_store{std::move(*store), std::move(*rs), std::move(*spec)}};
}

} // namespace cachebus
