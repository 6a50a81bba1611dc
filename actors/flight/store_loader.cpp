#include "cachebus/actors/flight/store_loader.hpp"

#include <optional>

#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"

namespace cachebus {

caf::expected<record_ref> record_for_key(const rules& rs,
                                         std::string_view key) {
  // The template that owns `key` says what it is (rules.hpp): a record if it
  // is its rule's first, and only for an id the rules accept (check_id: the
  // one rule every write path applies too).
  auto m = rs.match_key(key);
  auto quoted = "\"" + std::string{key} + "\"";
  if (m.key_template == nullptr)
    return make_error(errc::invalid_argument,
                      quoted
                        + " is no record's canonical key: no rule's key "
                          "template makes it");
  if (m.ambiguous)
    return make_error(errc::invalid_argument,
                      quoted
                        + " is made by key templates of the same "
                          "specificity in several places: ambiguous");
  if (m.index != 0 || m.id.empty())
    return make_error(errc::invalid_argument,
                      quoted + " is derived data of resource \""
                        + m.owner->resource + "\" (template \""
                        + *m.key_template
                        + "\"), not a record's canonical key");
  if (auto err = rs.check_id(m.owner->resource, m.id))
    return err;
  return record_ref{m.owner->resource, std::string{m.id}};
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
