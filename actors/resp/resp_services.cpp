#include "cachebus/actors/resp/resp_services.hpp"

#include "caf/actor_system.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/type_ids.hpp"

namespace cachebus {

resp_services::resp_services(node& n, std::shared_ptr<resp_clients> clients,
                             size_t tracking_max_keys)
    : node_(n), clients_(std::move(clients)),
      tracking_(tracking_max_keys,
                [cs = clients_](uint64_t id) { return cs->get(id).id == id; }),
      pubsub_(std::make_shared<resp_pubsub>()) {
  // nop
}

resp_services::~resp_services() {
  stop();
}

void resp_services::start() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (relay_ || stopped_)
    return;
  relay_ = spawn_resp_event_relay(node_.system(), pubsub_);
  caf::anon_send(node_.listener(), observe_atom_v, relay_, true);
}

void resp_services::attach(resp_push_fn fn) {
  tracking_.set_push(fn);
  pubsub_->set_push(std::move(fn));
}

caf::error resp_services::need_changes() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (listener_ != 0)
    return {};
  // The dropped counter as it stands: drops before tracking began do not
  // concern anyone tracking.
  auto seen = std::make_shared<std::atomic<uint64_t>>(
    node_.removal_listener_stats().dropped);
  auto* n = &node_;
  auto* t = &tracking_;
  auto id = node_.on_change([n, t, seen](const removal& r) {
    auto dropped = n->removal_listener_stats().dropped;
    if (dropped != seen->load(std::memory_order_relaxed)) {
      seen->store(dropped, std::memory_order_relaxed);
      t->flush_all();
    }
    t->changed(r.key, r.writer);
  });
  if (!id)
    return std::move(id.error());
  listener_ = *id;
  return {};
}

void resp_services::stop() {
  uint64_t listener = 0;
  caf::actor relay;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopped_)
      return;
    stopped_ = true;
    listener = listener_;
    listener_ = 0;
    relay = std::move(relay_);
  }
  if (listener != 0)
    node_.remove_removal_listener(listener);
  if (relay) {
    caf::anon_send(node_.listener(), observe_atom_v, relay, false);
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
  }
  attach(nullptr);
}

} // namespace cachebus
