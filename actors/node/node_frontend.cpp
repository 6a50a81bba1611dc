#include "cachebus/actors/node/node_frontend.hpp"

#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

template <class T>
caf::result<uint64_t> count(caf::expected<T> x) {
  if (!x)
    return std::move(x.error());
  return static_cast<uint64_t>(*x);
}

node_frontend_actor::behavior_type frontend(node_frontend_actor::pointer self,
                                            node* n) {
  return with_event_handlers<node_frontend_actor::behavior_type>(
    [=](auto& ev) { return count(n->invalidate_event(std::move(ev))); },
    [=](caf::get_atom, const std::string& key) -> caf::result<std::string> {
      auto v = n->get(key);
      if (!v)
        return std::move(v.error());
      return std::move(*v);
    },
    [=](fetch_atom, const std::string& key) -> caf::result<std::string> {
      auto fo = n->resolve_fetch(key, {});
      if (!fo)
        return std::move(fo.error());
      auto v = n->get(key);
      if (v || !is(v.error(), errc::miss))
        return v ? caf::result<std::string>{std::move(*v)}
                 : caf::result<std::string>{std::move(v.error())};
      // No blocking here: the lock manager answers the client directly.
      return self->delegate(n->lock_manager(), fetch_atom_v, key,
                            std::move(*fo));
    },
    [=](caf::put_atom, put_request& req) -> caf::result<uint64_t> {
      set_options o;
      o.ttl = req.ttl;
      o.tags = std::move(req.tags);
      o.version = req.version;
      return count(n->set(req.key, std::move(req.value), o));
    },
    [=](stats_atom) { return n->stats().total; },
    [=](lock_stats_atom) -> caf::result<lock_stats> {
      return self->delegate(n->lock_manager(), stats_atom_v);
    });
}

} // namespace

node_frontend_actor spawn_node_frontend(caf::actor_system& sys, node* n) {
  return sys.spawn(frontend, n);
}

} // namespace cachebus
