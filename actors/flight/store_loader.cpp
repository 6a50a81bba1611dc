#include "cachebus/actors/flight/store_loader.hpp"

#include <optional>

#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"

namespace cachebus {

namespace {

constexpr std::string_view placeholder = "{id}";

// The id for which template `t` (exactly one `{id}`) makes `key`, if any.
std::optional<std::string_view> id_in(std::string_view t,
                                      std::string_view key) {
  auto at = t.find(placeholder);
  if (at == std::string_view::npos
      || t.find(placeholder, at + 1) != std::string_view::npos)
    return std::nullopt;
  auto head = t.substr(0, at);
  auto tail = t.substr(at + placeholder.size());
  if (key.size() <= head.size() + tail.size()
      || key.substr(0, head.size()) != head
      || key.substr(key.size() - tail.size()) != tail)
    return std::nullopt;
  return key.substr(head.size(), key.size() - head.size() - tail.size());
}

} // namespace

caf::expected<record_ref> record_for_key(const rules& rs,
                                         std::string_view key) {
  // The longest template that makes `key` says what it is (as for fetch
  // defaults, rules::rule_for_key): a record if it is its rule's first.
  record_ref best;
  const std::string* best_template = nullptr;
  bool first = false;
  bool ambiguous = false;
  for (auto& name : rs.resources()) {
    auto* r = rs.find(name);
    if (r == nullptr)
      continue;
    for (size_t i = 0; i < r->keys.size(); ++i) {
      auto& t = r->keys[i];
      auto id = id_in(t, key);
      if (!id)
        continue;
      if (best_template == nullptr || t.size() > best_template->size()) {
        best = record_ref{name, std::string{*id}};
        best_template = &t;
        first = i == 0;
        ambiguous = false;
      } else if (t.size() == best_template->size()) {
        ambiguous = true;
      }
    }
  }
  auto quoted = "\"" + std::string{key} + "\"";
  if (best_template == nullptr)
    return make_error(errc::invalid_argument,
                      quoted
                        + " is no record's canonical key: no rule's key "
                          "template makes it");
  if (ambiguous)
    return make_error(errc::invalid_argument,
                      quoted
                        + " is made by key templates of the same length "
                          "in several rules: ambiguous");
  if (!first)
    return make_error(errc::invalid_argument,
                      quoted + " is derived data of resource \"" + best.resource
                        + "\" (template \"" + *best_template
                        + "\"), not a record's canonical key");
  return best;
}

namespace {

loader_actor::behavior_type
store_loader(loader_actor::pointer self,
             std::shared_ptr<stores::record_store> store,
             std::shared_ptr<const rules> rs,
             std::shared_ptr<const pending_writes> pending) {
  // Nobody may learn of an error by killing us: errors from strangers are
  // dropped.
  self->set_error_handler([](caf::error&) {});
  return {
    [store, rs, pending](load_atom,
                         const std::string& key) -> caf::result<loaded> {
      auto ref = record_for_key(*rs, key);
      if (!ref)
        return std::move(ref.error());
      // The queue first, then the store (pending_writes.hpp says why).
      std::optional<stores::field_map> queued;
      if (pending)
        queued = pending->unflushed(ref->resource, ref->id);
      auto rec = store->load(ref->resource, ref->id);
      if (!rec.ok()) {
        if (queued && rec.error().code() == stores::store_errc::not_found)
          return loaded{encode_record(*queued, 0), 0};
        return to_error(rec.error());
      }
      if (queued)
        for (auto& [k, v] : *queued)
          rec->fields.insert_or_assign(k, v);
      auto version = rec->version;
      return loaded{encode_record(rec->fields, version), version};
    },
  };
}

} // namespace

loader_actor spawn_store_loader(caf::actor_system& sys,
                                std::shared_ptr<stores::record_store> store,
                                rules rs,
                                std::shared_ptr<const pending_writes> pending) {
  return sys.spawn<caf::detached>(store_loader, std::move(store),
                                  std::make_shared<const rules>(std::move(rs)),
                                  std::move(pending));
}

} // namespace cachebus
