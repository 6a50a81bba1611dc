// Where an attempt of the lock manager runs (lock_state.hpp): the key's
// owner node, chosen by rendezvous hashing over the peers in session, or a
// loader actor here; the owner side of a peer's request; and what peer
// events do to attempts that wait for a peer.
#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/cache/local_cache.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/flight/lock_state.hpp"
#include "cachebus/actors/flight/rendezvous.hpp"
#include "cachebus/actors/invalidation/applied_events.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/writepaths/pending_writes.hpp"

namespace cachebus::lock_detail {

// The owner of a routed key's loads: this node or a peer in session.
const std::string& owner_of(lm_ptr self, const std::string& key) {
  auto& st = self->state;
  auto owner = rendezvous_owner(key, st.members);
  for (auto& m : st.members)
    if (m == owner)
      return m;
  return st.opts.name; // no members known yet
}

// Moves the load of `key` elsewhere (the owner it waited for is gone, or
// the entry must load here): the answer of the old attempt is ignored.
void reroute(lm_ptr self, const std::string& key, bool here) {
  auto& st = self->state;
  auto& e = st.locks[key];
  ++st.stats.rerouted;
  e.local_only = e.local_only || here;
  e.phase = load_phase::loading_here;
  e.forwarded_to.clear();
  // A fresh attempt: the new load starts now, so only invalidations from now
  // on can make it stale (the partition rule that usually comes with a
  // lost owner cancelled the old fill anyway).
  new_attempt(self, key, e);
  start_actor_load(self, key);
}

// Runs the load of `key` through its loader actor (fetch from an actor), or,
// for a routed key that another node owns, asks that node's lock manager.
void start_actor_load(lm_ptr self, const std::string& key) {
  auto& st = self->state;
  auto& entry = st.locks[key];
  unwatch(self, entry.owner);
  entry.owner = nullptr;
  entry.started_ns = st.clk->now_ns();
  auto token = entry.token;
  // A record with writes queued here loads here: its owner's store row
  // lacks them (write-back reads its own writes).
  if (entry.routed && !entry.local_only
      && !(st.pending && st.pending->holds(key))) {
    auto& owner = owner_of(self, key);
    if (owner != st.opts.name) {
      entry.phase = load_phase::forwarded;
      entry.forwarded_to = owner;
      ++st.stats.forwarded;
      self
        ->request(st.peers[owner], st.opts.lease_timeout, owner_fetch_atom_v,
                  key, entry.opts)
        .then(
          [=](owner_reply& r) {
            auto* e = current(self, key, token);
            if (!e)
              return;
            auto& st = self->state;
            if (st.applied && !r.clock.covers(e->needed)) {
              // The owner had not applied an invalidation this node had
              // when its load began: its value may predate it. Load here.
              ++st.stats.owner_behind;
              reroute(self, key, true);
              return;
            }
            loaded_value(self, key, token, r.value);
          },
          [=](caf::error& err) {
            auto* e = current(self, key, token);
            if (!e)
              return;
            if (err.category() == error_category) {
              // The owner answered: its load failed, or it refused.
              failed(self, key, std::move(err));
            } else if (err == caf::sec::request_timeout) {
              ++self->state.stats.expired;
              failed(self, key,
                     make_error(errc::lease_expired,
                                "owner node \"" + e->forwarded_to
                                  + "\" did not load \"" + key
                                  + "\" within cachebus.lease-timeout"));
            } else {
              // The link failed: load here rather than wait for the
              // membership to catch up.
              reroute(self, key, true);
            }
          });
      return;
    }
  }
  entry.phase = load_phase::loading_here;
  entry.owner = caf::actor_cast<caf::actor_addr>(entry.loader);
  watch(self, entry.owner);
  ++st.stats.grants;
  self->request(entry.loader, st.opts.lease_timeout, load_atom_v, key)
    .then([=](loaded& x) { loaded_value(self, key, token, x); },
          [=](caf::error& err) {
            if (!current(self, key, token))
              return;
            if (err == caf::sec::request_timeout) {
              ++self->state.stats.expired;
              err = make_error(errc::lease_expired,
                               "loader of \"" + key
                                 + "\" did not answer "
                                   "within cachebus.lease-timeout");
            } else if (err.category() != error_category) {
              err = make_error(errc::load_failed,
                               "loader of \"" + key
                                 + "\" failed: " + caf::to_string(err));
            }
            failed(self, key, std::move(err));
          });
}

// A peer's lock manager asks this node, the key's owner, for its value.
caf::result<owner_reply> owner_fetch(lm_ptr self, const std::string& key,
                                     fetch_options fo) {
  auto& st = self->state;
  if (auto err = st.opts.check_key(key))
    return err;
  if (auto err = st.opts.check_tags(fo.tags))
    return err;
  if (!st.node_loader)
    return make_error(errc::invalid_config, "node \"" + st.opts.name
                                              + "\" has no node loader to "
                                                "load \""
                                              + key + "\" as its owner");
  ++st.stats.owner_requests;
  owner_reply hit;
  // The clock before the value (see finish_with_cached).
  if (st.applied)
    hit.clock = st.applied->applied();
  if (st.cache->table_for(key).get(key, hit.value.value, hit.value.version))
    return hit;
  auto i = st.locks.find(key);
  if (auto err = check_room(self, key, i))
    return err;
  if (i != st.locks.end()) {
    // A waiter: the rule's tags wait until it loads, if ever.
    auto rp = self->make_response_promise<owner_reply>();
    auto& e = i->second;
    ++st.stats.waits;
    e.remotes.push_back({rp, e.attempt, fo});
    if (e.phase == load_phase::forwarded) {
      // Our entry waits for another node while that node (or a third)
      // waits for us: membership views differ. Asked as owner, we load.
      reroute(self, key, true);
    } else {
      e.local_only = true;
    }
    return rp;
  }
  if (auto err = add_rule_tags(st, key, fo))
    return err;
  auto rp = self->make_response_promise<owner_reply>();
  auto& entry = open_entry(self, key, st.node_loader, fo, true);
  entry.local_only = true;
  entry.remotes.push_back({rp, 0, std::move(fo)});
  start_actor_load(self, key);
  return rp;
}

// Membership from the bridge: peers whose lock managers can own keys.
void on_peer_event(lm_ptr self, const peer_event& ev) {
  auto& st = self->state;
  switch (ev.kind) {
  case peer_event_kind::joined:
  case peer_event_kind::rejoined:
    if (ev.endpoint)
      st.peers[ev.peer] = caf::actor_cast<lock_manager_actor>(ev.endpoint);
    else
      st.peers.erase(ev.peer);
    break;
  case peer_event_kind::lost:
  case peer_event_kind::refused:
    st.peers.erase(ev.peer);
    break;
  case peer_event_kind::gap:
  case peer_event_kind::replaying:
  case peer_event_kind::replayed:
    return;
  }
  st.members.clear();
  st.members.push_back(st.opts.name);
  for (auto& kv : st.peers)
    st.members.push_back(kv.first);
  if (st.peers.count(ev.peer) != 0)
    return;
  // Loads that wait for the departed peer move to the new owner; their
  // waiters stay.
  std::vector<std::string> orphaned;
  for (auto& [key, entry] : st.locks)
    if (entry.phase == load_phase::forwarded && entry.forwarded_to == ev.peer)
      orphaned.push_back(key);
  for (auto& key : orphaned)
    reroute(self, key, false);
}

} // namespace cachebus::lock_detail
