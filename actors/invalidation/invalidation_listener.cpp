#include "cachebus/actors/invalidation/invalidation_listener.hpp"
#include "cachebus/actors/invalidation/event_source.hpp"
#include "cachebus/actors/invalidation/invalidator.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace cachebus {

namespace {

struct listener_state {
  std::shared_ptr<invalidator> inv;
  std::shared_ptr<event_source> source;
  std::shared_ptr<applied_events> applied;
  caf::actor observer;
  std::vector<caf::actor> watchers;
  listener_stats stats;
  std::map<std::string, lag_histogram> lags;
  /// Peers whose missed events are being replayed: the shards are fenced
  /// while this is not empty.
  std::set<std::string> replaying;
  static inline const char* name = "cachebus.invalidation_listener";
};

using listener_ptr
  = invalidation_listener_actor::stateful_pointer<listener_state>;

template <class Event>
caf::result<uint64_t> handle(listener_ptr self, Event& ev) {
  auto& st = self->state;
  auto notify = [&] {
    if (st.observer)
      caf::anon_send(st.observer, applied_atom_v, ev.origin, ev.sequence);
    for (auto& w : st.watchers)
      caf::anon_send(w, ev);
  };
  if (ev.origin.empty()) { // a local actor's request
    std::optional<local_invalidation> running;
    if (st.applied)
      running.emplace(*st.applied);
    auto n = st.inv->apply(ev);
    if (!n)
      return std::move(n.error());
    st.source->publish(ev);
    return static_cast<uint64_t>(*n);
  }
  if (ev.origin == st.source->origin()) {
    ++st.stats.own;
    notify();
    return uint64_t{0};
  }
  if (st.applied)
    st.applied->applying(ev.origin, ev.sequence);
  auto n = st.inv->apply(ev);
  if (st.applied)
    st.applied->applied(ev.origin, ev.sequence);
  if (!n) {
    ++st.stats.rejected;
    notify();
    return std::move(n.error());
  }
  ++st.stats.applied;
  st.stats.removed += *n;
  if (ev.sent_ns > 0) {
    auto& h = st.lags[ev.origin];
    h.source = ev.origin;
    h.record(wall_clock_ns() - ev.sent_ns);
  }
  notify();
  return static_cast<uint64_t>(*n);
}

invalidation_listener_actor::behavior_type
listener_impl(listener_ptr self, std::shared_ptr<invalidator> inv,
              std::shared_ptr<event_source> source,
              std::shared_ptr<applied_events> applied) {
  self->state.inv = std::move(inv);
  self->state.source = std::move(source);
  self->state.applied = std::move(applied);
  // Events arrive anonymously from the bus; nothing they carry may kill us.
  self->set_default_handler(caf::drop);
  return with_event_handlers<invalidation_listener_actor::behavior_type>(
    [=](auto& ev) { return handle(self, ev); },
    [=](peer_event& ev) {
      auto& st = self->state;
      auto unfence = [&] {
        if (st.replaying.erase(ev.peer) > 0 && st.replaying.empty())
          st.inv->fence(false);
        st.stats.replaying_now = st.replaying.size();
      };
      if (ev.kind == peer_event_kind::replaying) {
        // Fenced before any of the missing events, or the live ones behind
        // them, can be applied (the bridge holds those back until then).
        if (st.replaying.empty())
          st.inv->fence(true);
        if (st.replaying.insert(ev.peer).second)
          ++st.stats.replays;
        st.stats.replaying_now = st.replaying.size();
        return;
      }
      if (ev.kind == peer_event_kind::replayed) {
        // Every missing event was applied (they came before this).
        if (st.replaying.count(ev.peer) > 0)
          ++st.stats.replays_completed;
        unfence();
        if (st.observer)
          caf::anon_send(st.observer, applied_atom_v, ev.peer,
                         ev.last_sequence);
        return;
      }
      if (ev.drop == drop_cause::none)
        return;
      // Some of that peer's invalidations will never arrive: any entry may
      // be stale, and so may any value being loaded right now.
      ++st.stats.partitions;
      auto cause = static_cast<size_t>(ev.drop);
      if (cause < st.stats.drops_by_cause.size())
        ++st.stats.drops_by_cause[cause];
      st.stats.dropped
        += st.inv->drop_everything(removal_cause::partition, ev.peer);
      // Emptied: nothing left that a replay could have saved.
      unfence();
      // Nothing cached here predates the drop: the events the new session
      // will not deliver are taken in, and an answer to this node must
      // reflect them too. The clock restarts there, also downward (a
      // restarted peer's sequence restarts at 1; applied_events.hpp).
      if (st.applied
          && (ev.kind == peer_event_kind::joined
              || ev.kind == peer_event_kind::rejoined))
        st.applied->reset(ev.peer, ev.resumes_after);
      if (st.observer)
        caf::anon_send(st.observer, applied_atom_v, ev.peer, ev.last_sequence);
    },
    [=](observe_atom, caf::actor observer) {
      self->state.observer = std::move(observer);
    },
    [=](observe_atom, caf::actor watcher, bool on) {
      auto& ws = self->state.watchers;
      std::erase(ws, watcher);
      if (on && watcher)
        ws.push_back(std::move(watcher));
    },
    [=](stats_atom) {
      auto s = self->state.stats;
      for (auto& kv : self->state.lags)
        s.lag.push_back(kv.second);
      return s;
    });
}

} // namespace

invalidation_listener_actor spawn_invalidation_listener(
  caf::actor_system& sys, std::shared_ptr<invalidator> inv,
  std::shared_ptr<event_source> source, std::shared_ptr<applied_events> applied,
  bool hidden) {
  if (hidden)
    return sys.spawn<caf::hidden>(listener_impl, std::move(inv),
                                  std::move(source), std::move(applied));
  return sys.spawn(listener_impl, std::move(inv), std::move(source),
                   std::move(applied));
}

} // namespace cachebus
