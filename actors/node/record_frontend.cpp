#include "cachebus/actors/node/record_frontend.hpp"

#include <vector>

#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

// -- workers: the blocking record calls
// ------------------------------------------

using record_worker_actor = record_calls_actor;

record_worker_actor::behavior_type record_worker(record_worker_actor::pointer,
                                                 record_cache* rc) {
  return {
    [rc](caf::update_atom, std::string& resource, std::string& id,
         stores::field_map& fields) -> caf::result<uint64_t> {
      auto v
        = rc->update(std::move(resource), std::move(id), std::move(fields));
      if (!v)
        return std::move(v.error());
      return *v;
    },
    [rc](queue_update_atom, std::string& resource, std::string& id,
         stores::field_map& fields) -> caf::result<caf::ok_atom> {
      if (auto err = rc->queue_update(std::move(resource), std::move(id),
                                      std::move(fields)))
        return err;
      return caf::ok_atom_v;
    },
    [rc](record_atom, const std::string& resource,
         const std::string& id) -> caf::result<stores::field_map, uint64_t> {
      auto r = rc->load(resource, id);
      if (!r)
        return std::move(r.error());
      return {std::move(r->fields), r->version};
    },
  };
}

// -- the frontend
// ---------------------------------------------------------------------

struct frontend_state {
  node_frontend_actor inner;
  std::vector<record_worker_actor> workers;
  size_t next = 0;
  size_t alive = 0;
  caf::error exit_reason;
  static inline const char* name = "cachebus.record_frontend";
};

using frontend_ptr = record_frontend_actor::stateful_pointer<frontend_state>;

caf::error no_store() {
  return make_error(errc::invalid_config,
                    "this node has no system of record: set cachebus.store");
}

record_frontend_actor::behavior_type
record_frontend(frontend_ptr self, node* n, record_cache* rc, size_t workers) {
  auto& st = self->state;
  st.inner = spawn_node_frontend(self->system(), n);
  self->monitor(st.inner);
  if (rc != nullptr)
    for (size_t i = 0; i < std::max(size_t{1}, workers); ++i) {
      st.workers.push_back(
        self->spawn<caf::detached + caf::monitored>(record_worker, rc));
    }
  st.alive = 1 + st.workers.size();
  // However this actor ends, its children end too.
  auto children
    = std::vector<caf::actor>{caf::actor_cast<caf::actor>(st.inner)};
  for (auto& w : st.workers)
    children.push_back(caf::actor_cast<caf::actor>(w));
  self->attach_functor([children](const caf::error&) {
    for (auto& c : children)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  });
  // An exit message ends the children first; we go when the last is down,
  // so that no record call runs once we are gone.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.exit_reason)
      return;
    st.exit_reason
      = msg.reason ? msg.reason : caf::error{caf::exit_reason::normal};
    self->send_exit(st.inner, st.exit_reason);
    for (auto& w : st.workers)
      self->send_exit(w, st.exit_reason);
  });
  self->set_down_handler([self](caf::down_msg&) {
    auto& st = self->state;
    if (--st.alive == 0 || !st.exit_reason) {
      // The last child is down, or a child died on its own: either way
      // this frontend cannot serve any more.
      self->quit(st.exit_reason ? st.exit_reason
                                : caf::error{caf::exit_reason::unknown});
    }
  });
  auto worker = [self]() -> const record_worker_actor& {
    auto& st = self->state;
    return st.workers[st.next++ % st.workers.size()];
  };
  return with_event_handlers<record_frontend_actor::behavior_type>(
    [self](auto& ev) {
      return self->delegate(self->state.inner, std::move(ev));
    },
    [self](caf::get_atom, std::string& key) {
      return self->delegate(self->state.inner, caf::get_atom_v, std::move(key));
    },
    [self](fetch_atom, std::string& key) {
      return self->delegate(self->state.inner, fetch_atom_v, std::move(key));
    },
    [self](caf::put_atom, put_request& req) {
      return self->delegate(self->state.inner, caf::put_atom_v, std::move(req));
    },
    [self](stats_atom) {
      return self->delegate(self->state.inner, stats_atom_v);
    },
    [self](lock_stats_atom) {
      return self->delegate(self->state.inner, lock_stats_atom_v);
    },
    [self, worker](caf::update_atom, std::string& resource, std::string& id,
                   stores::field_map& fields) -> caf::result<uint64_t> {
      if (self->state.workers.empty())
        return no_store();
      return self->delegate(worker(), caf::update_atom_v, std::move(resource),
                            std::move(id), std::move(fields));
    },
    [self, worker](queue_update_atom, std::string& resource, std::string& id,
                   stores::field_map& fields) -> caf::result<caf::ok_atom> {
      if (self->state.workers.empty())
        return no_store();
      return self->delegate(worker(), queue_update_atom_v, std::move(resource),
                            std::move(id), std::move(fields));
    },
    [self, worker](record_atom, std::string& resource, std::string& id)
      -> caf::result<stores::field_map, uint64_t> {
      if (self->state.workers.empty())
        return no_store();
      return self->delegate(worker(), record_atom_v, std::move(resource),
                            std::move(id));
    });
}

} // namespace

record_frontend_actor spawn_record_frontend(caf::actor_system& sys, node* n,
                                            record_cache* rc, size_t workers) {
  return sys.spawn(record_frontend, n, rc, workers);
}

} // namespace cachebus
