#include "world.hpp"

#include <exception>

#include "cachebus/actors/node/error.hpp"
#include "cachebus/stores/postgres_store.hpp"
#include "cachebus/stores/sqlite_store.hpp"

namespace cachebus::demo {

namespace {

caf::error store_error(const std::string& what, const stores::status& st) {
  return make_error(errc::invalid_config, what + ": " + st.to_string());
}

} // namespace

caf::expected<std::unique_ptr<world>>
world::open(const std::string& postgres, size_t accounts, size_t posts) {
  std::unique_ptr<world> w;
  try {
    w.reset(new world); // makes tmp_dir_
  } catch (const std::exception& e) {
    return make_error(errc::invalid_config, e.what());
  }
  if (postgres.empty()) {
    auto path = w->tmp_dir_.file("world.db");
    auto s = stores::sqlite_store::open(path);
    if (!s.ok())
      return store_error("cannot open SQLite at " + path, s.error());
    w->store_ = std::move(*s);
    w->description_ = "SQLite " + path;
  } else {
    auto s = stores::postgres_store::open(postgres);
    if (!s.ok())
      return store_error("cannot open PostgreSQL", s.error());
    w->store_ = std::move(*s);
    w->description_ = "PostgreSQL";
  }
  for (auto& [res, fields] : {std::pair<std::string, std::vector<std::string>>{
                                "accounts", {"name", "email"}},
                              {"posts", {"author", "title", "body"}}})
    if (auto st = w->store_->declare(res, fields); !st.ok())
      return store_error("cannot declare " + res, st);
  std::vector<stores::record_write> batch;
  for (size_t i = 1; i <= accounts; ++i)
    batch.push_back({"accounts",
                     std::to_string(i),
                     {{"name", "user" + std::to_string(i)},
                      {"email", "user" + std::to_string(i) + "@example.org"}}});
  for (size_t i = 1; i <= posts; ++i)
    batch.push_back({"posts",
                     std::to_string(i),
                     {{"author", std::to_string(1 + i % accounts)},
                      {"title", "Post " + std::to_string(i)},
                      {"body", "Lorem ipsum " + std::to_string(i)}}});
  if (auto r = w->store_->apply(batch); !r.ok())
    return store_error("cannot seed the store", r.error());
  return w;
}

world::~world() {
  store_.reset(); // closes the SQLite file before tmp_dir_ removes it
}

caf::expected<loaded> world::load(const std::string& resource,
                                  const std::string& id) {
  ++loads_;
  auto r = store_->load(resource, id);
  if (!r.ok())
    return make_error(errc::load_failed, r.error().to_string());
  std::string value = "{";
  for (auto& [k, v] : r->fields)
    value += (value.size() > 1 ? "," : "") + k + "=" + v;
  value += "}";
  return loaded{std::move(value), r->version};
}

} // namespace cachebus::demo
