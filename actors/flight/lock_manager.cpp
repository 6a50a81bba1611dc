#include "cachebus/actors/flight/lock_manager.hpp"
#include "cachebus/actors/cache/local_cache.hpp"
#include "cachebus/actors/flight/lock_state.hpp"
#include "cachebus/actors/writepaths/pending_writes.hpp"

#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/cache/checked_put.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/invalidation/rules.hpp"
#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace lock_detail {

void watch(lm_ptr self, const caf::actor_addr& who) {
  if (!who)
    return;
  if (self->state.monitored[who]++ == 0)
    self->monitor(who);
}

void unwatch(lm_ptr self, const caf::actor_addr& who) {
  if (!who)
    return;
  auto i = self->state.monitored.find(who);
  if (i == self->state.monitored.end())
    return;
  if (--i->second == 0) {
    self->demonitor(who);
    self->state.monitored.erase(i);
  }
}

// Delivers `value` to every waiter of `key` and forgets the lock. Peers get
// `version` too (0 when unknown: their copy then yields to any versioned
// invalidation).
void finish(lm_ptr self, const std::string& key, const std::string& value,
            uint64_t version = 0,
            const std::optional<event_clock>& clock = std::nullopt) {
  auto& st = self->state;
  auto i = st.locks.find(key);
  if (i == st.locks.end())
    return;
  auto entry = std::move(i->second);
  // The value is as fresh as the attempt that loaded it, unless the caller
  // found it cached now.
  auto& answer_clock = clock ? *clock : entry.clock;
  st.locks.erase(i);
  unwatch(self, entry.owner);
  for (auto& w : entry.acquirers) {
    acquire_reply r;
    r.outcome = acquire_reply::value;
    r.val = value;
    w.promise.deliver(std::move(r));
  }
  for (auto& w : entry.fetchers)
    w.promise.deliver(value);
  for (auto& w : entry.remotes)
    w.promise.deliver(owner_reply{loaded{value, version}, answer_clock});
  st.stats.served += entry.waiters();
}

// Begins a new attempt of `key`'s entry: a fresh token (answers of older
// attempts are ignored) and a fresh fill lease (only writes and
// invalidations from now on can make it stale).
void new_attempt(lm_ptr self, const std::string& key, lock_entry& e) {
  auto& st = self->state;
  auto& table = st.cache->table_for(key);
  if (e.fill != 0)
    table.cancel_fill(key, e.fill);
  e.token = st.next_token++;
  e.fill = table.begin_fill(key);
  ++e.attempt;
  if (st.applied) {
    e.needed = st.applied->needed();
    e.clock = st.applied->applied();
  }
}

// Runs the next attempt of `key`'s entry for the waiters it still has: a
// blocked caller becomes the loader, or the first actor waiter's loader runs,
// or the node loader here if only peers wait (they asked this node as owner).
void load_for_waiters(lm_ptr self, const std::string& key) {
  auto& st = self->state;
  auto i = st.locks.find(key);
  auto& entry = i->second;
  unwatch(self, entry.owner);
  entry.owner = nullptr;
  entry.forwarded_to.clear();
  // An actor or a peer that loads next loads with its own options plus the
  // rule's tags, which only the waiter that loads needs (so they are made
  // now, not when it joined); one they would make too many is refused.
  std::optional<fetch_options> next_opts;
  if (entry.acquirers.empty()) {
    auto take = [&](auto& queue) {
      while (!next_opts && !queue.empty()) {
        auto fo = queue.front().opts;
        if (auto err = add_rule_tags(st, key, fo)) {
          queue.front().promise.deliver(std::move(err));
          queue.pop_front();
        } else {
          next_opts = std::move(fo);
        }
      }
    };
    take(entry.fetchers);
    take(entry.remotes);
    if (!next_opts) { // every waiter was refused
      if (entry.fill != 0)
        st.cache->table_for(key).cancel_fill(key, entry.fill);
      st.locks.erase(i);
      return;
    }
  }
  new_attempt(self, key, entry);
  if (!entry.acquirers.empty()) {
    auto w = std::move(entry.acquirers.front());
    entry.acquirers.pop_front();
    entry.phase = load_phase::thread_holds;
    entry.owner = caf::actor_cast<caf::actor_addr>(w.who);
    watch(self, entry.owner);
    acquire_reply r;
    r.outcome = acquire_reply::load;
    r.token = entry.token;
    r.fill = entry.fill;
    self->delayed_send(self, st.opts.lease_timeout, lease_atom_v, key,
                       entry.token);
    ++st.stats.grants;
    w.promise.deliver(std::move(r));
    return;
  }
  entry.phase = load_phase::loading_here;
  entry.opts = std::move(*next_opts);
  if (!entry.fetchers.empty()) {
    auto& next = entry.fetchers.front();
    entry.loader = next.loader;
    entry.routed = next.routed;
  } else {
    // Only peers wait (they asked this node as owner): load with the node
    // loader and their options (an entry a plain thread opened has none).
    entry.loader = st.node_loader;
    entry.routed = true;
  }
  entry.local_only = entry.local_only || !entry.remotes.empty();
  start_actor_load(self, key);
}

// The holder of `key` failed: by policy, pass the error on or let the first
// waiter load.
void failed(lm_ptr self, const std::string& key, caf::error err) {
  auto& st = self->state;
  auto i = st.locks.find(key);
  if (i == st.locks.end())
    return;
  auto& entry = i->second;
  st.cache->table_for(key).cancel_fill(key, entry.fill);
  entry.fill = 0;
  unwatch(self, entry.owner);
  entry.owner = nullptr;
  ++st.stats.failures;
  bool actor_path = entry.phase != load_phase::thread_holds;
  if (entry.phase == load_phase::forwarded)
    entry.phase = load_phase::loading_here;
  entry.forwarded_to.clear();
  if (actor_path && !entry.fetchers.empty()) {
    // The fetcher whose loader failed gets that failure; a retry uses the
    // next waiter's loader, so a dead loader cannot loop.
    entry.fetchers.front().promise.deliver(err);
    entry.fetchers.pop_front();
  } else if (actor_path && !entry.remotes.empty()) {
    entry.remotes.front().promise.deliver(err);
    entry.remotes.pop_front();
  }
  bool retry = st.opts.loader_error_retry && entry.waiters() > 0;
  if (!retry) {
    auto dead = std::move(entry);
    st.locks.erase(i);
    for (auto& w : dead.acquirers)
      w.promise.deliver(err);
    for (auto& w : dead.fetchers)
      w.promise.deliver(err);
    for (auto& w : dead.remotes)
      w.promise.deliver(err);
    return;
  }
  load_for_waiters(self, key);
}

// Attempts one entry may begin for the same waiters after its value was
// refused, before the waiters that joined too late for an attempt wait for
// another one instead.
constexpr uint64_t reloads_for_all = 2;

// If the table holds a live value of `key` now (a write left it, or a
// holder's install is still there), every waiter gets it, as fresh as this
// node's applied events now, and `out` (may be null) too; returns whether it
// did.
bool finish_with_cached(lm_ptr self, const std::string& key,
                        loaded* out = nullptr) {
  auto& st = self->state;
  // The clock before the value: an event applied between the two reads
  // would be claimed by the clock while the value may predate it.
  std::optional<event_clock> now;
  if (st.applied)
    now = st.applied->applied();
  loaded cached;
  if (!st.cache->table_for(key).peek(key, cached.value, cached.version))
    return false;
  finish(self, key, cached.value, cached.version, now);
  if (out)
    *out = std::move(cached);
  return true;
}

// Who runs the next attempt when an attempt's value cannot serve its waiters.
enum class reloader {
  /// The holder that asks (superseded): it gets a new grant.
  holder,
  /// A waiter, if any: the holder is gone (it returned its value already).
  waiter,
};

// The value `x` of `key`'s current attempt cannot serve the waiters: the
// table refused it (a write or an invalidation reached the key after the
// attempt began), or a holder on a plain thread installed it but it is gone
// by the time its release arrives (an invalidation, eviction or expiry came
// in between, and a waiter that joined after it must not get the old value).
// If a write left a fresh value, everyone gets it (returns false).
// Otherwise, up to reloads_for_all times, a new attempt begins for everyone,
// run by `who` (returns true iff the holder must run it). After that, the
// waiters that joined before the attempt began get `x` (their reads began
// before its load, so it is not stale for them) and the others wait for a
// new attempt, which begins after they joined (returns false).
bool superseded(lm_ptr self, const std::string& key, loaded& x,
                reloader who = reloader::holder) {
  auto& st = self->state;
  auto i = st.locks.find(key);
  if (i == st.locks.end())
    return false;
  ++st.stats.stale_fills;
  if (finish_with_cached(self, key, &x))
    return false;
  auto& e = i->second;
  e.fill = 0; // complete_fill ended it
  ++st.stats.reloads;
  if (e.attempt <= reloads_for_all) {
    if (who == reloader::holder) {
      new_attempt(self, key, e);
      return true;
    }
  } else {
    auto early = [&](const auto& w) { return w.joined < e.attempt; };
    size_t served = 0;
    auto serve = [&](auto& queue, auto&& deliver) {
      for (auto w = queue.begin(); w != queue.end();) {
        if (early(*w)) {
          deliver(*w);
          w = queue.erase(w);
          ++served;
        } else {
          ++w;
        }
      }
    };
    serve(e.acquirers, [&](acquire_waiter& w) {
      acquire_reply r;
      r.outcome = acquire_reply::value;
      r.val = x.value;
      w.promise.deliver(std::move(r));
    });
    serve(e.fetchers, [&](fetch_waiter& w) { w.promise.deliver(x.value); });
    serve(e.remotes, [&](remote_waiter& w) {
      w.promise.deliver(owner_reply{x, e.clock});
    });
    st.stats.served += served;
  }
  if (e.waiters() == 0) {
    unwatch(self, e.owner);
    st.locks.erase(i);
    return false;
  }
  load_for_waiters(self, key);
  return false;
}

// A holder on a plain thread installed `value` (release). Peers that asked
// this node as owner get that value with the attempt's clock: it was read
// after the attempt began, so the clock is true of it, and each peer's own
// fill lease and `needed` clock decide whether it may install it. (The table's
// current value would not do for them: a put that lost a race with a newer
// event may hold an older version than the clock claims.) This node's
// waiters get what the table holds now, never the released value blindly:
// an invalidation may have removed it since, and a waiter that joined after
// that invalidation completed must not get it; if nothing is cached, a new
// attempt runs for them.
void released(lm_ptr self, const std::string& key, std::string value) {
  auto& st = self->state;
  auto& e = st.locks[key];
  for (auto& w : e.remotes)
    w.promise.deliver(owner_reply{loaded{value, 0}, e.clock});
  st.stats.served += e.remotes.size();
  e.remotes.clear();
  if (e.waiters() == 0) {
    finish(self, key, value); // nobody else to serve: forget the lock
    return;
  }
  if (finish_with_cached(self, key))
    return;
  loaded x{std::move(value), 0};
  superseded(self, key, x, reloader::waiter);
}

// A holder on a plain thread failed to load, but the entry it found
// (version `fallback`) may serve everyone until its stale-if-error window
// ends: the waiters get a fresh value a write left meanwhile, else that very
// entry if the table still holds it; otherwise (an invalidation removed it)
// they get `err` by the loader-error policy, never a value that an
// invalidation they came after removed.
void failed_with_fallback(lm_ptr self, const std::string& key, caf::error err,
                          uint64_t fallback) {
  if (finish_with_cached(self, key)) // a write came meanwhile
    return;
  std::string old;
  if (self->state.cache->table_for(key).still_holds(key, fallback, old)) {
    finish(self, key, old);
    return;
  }
  failed(self, key, std::move(err));
}

// The entry of `key` if the attempt `token` is still its current one (not
// released, failed or routed again meanwhile), else nullptr.
lock_entry* current(lm_ptr self, const std::string& key, uint64_t token) {
  auto i = self->state.locks.find(key);
  if (i == self->state.locks.end() || i->second.token != token)
    return nullptr;
  return &i->second;
}

// A value for `key` arrived (from the loader, or from the owner node).
void loaded_value(lm_ptr self, const std::string& key, uint64_t token,
                  loaded& x) {
  auto& st = self->state;
  auto* found = current(self, key, token);
  if (!found)
    return;
  auto& e = *found;
  e.phase = load_phase::loading_here;
  e.forwarded_to.clear();
  auto now = st.clk->now_ns();
  auto installed = checked_fill(st.cache->table_for(key), st.opts, now, key,
                                e.fill, x, e.opts, now - e.started_ns);
  if (!installed) {
    failed(self, key, std::move(installed.error()));
    return;
  }
  if (*installed) {
    finish(self, key, x.value, x.version);
    return;
  }
  if (superseded(self, key, x))
    start_actor_load(self, key); // a new attempt for everyone
}

// The waiter bound of cachebus.max-waiters: an error if `key`'s entry `i`
// (or none) has no room for one more waiter.
caf::error check_room(lm_ptr self, const std::string& key,
                      std::unordered_map<std::string, lock_entry>::iterator i) {
  auto& st = self->state;
  if (i == st.locks.end() || i->second.waiters() < st.opts.max_waiters)
    return {};
  ++st.stats.rejected;
  return make_error(errc::too_many_waiters, std::to_string(i->second.waiters())
                                              + " callers already wait for \""
                                              + key
                                              + "\" (cachebus.max-waiters)");
}

caf::error add_rule_tags(const lock_state& st, const std::string& key,
                         fetch_options& fo) {
  if (!st.rule_set)
    return {};
  auto n = fo.tags.size();
  st.rule_set->add_key_tags(key, fo.tags);
  if (fo.tags.size() == n)
    return {};
  return st.opts.check_tags(fo.tags);
}

// A new entry for `key` whose load runs through `loader` (an actor path).
// Its first attempt begins; waiters pushed now joined before it (0).
lock_entry& open_entry(lm_ptr self, const std::string& key, loader_actor loader,
                       fetch_options fo, bool routed) {
  auto& entry = self->state.locks[key];
  new_attempt(self, key, entry);
  entry.phase = load_phase::loading_here;
  entry.routed = routed;
  entry.loader = std::move(loader);
  entry.opts = std::move(fo);
  return entry;
}

// fetch(key, loader, options) and fetch(key, options): a hit answers at
// once; otherwise the caller waits for the key's one load.
caf::result<std::string> fetch_with(lm_ptr self, const std::string& key,
                                    loader_actor loader, fetch_options fo,
                                    bool routed) {
  auto& st = self->state;
  if (auto err = st.opts.check_key(key))
    return err;
  if (auto err = st.opts.check_tags(fo.tags))
    return err;
  if (!loader)
    return make_error(errc::invalid_argument, "fetch needs a loader");
  // A routed fetch comes from callers that checked the cache already (and
  // counted the miss): re-check without counting.
  std::string value;
  auto& table = st.cache->table_for(key);
  if (routed ? table.peek(key, value) : table.get(key, value))
    return value;
  auto i = st.locks.find(key);
  if (auto err = check_room(self, key, i))
    return err;
  if (i != st.locks.end()) {
    // A waiter: the rule's tags wait until it loads, if ever
    // (load_for_waiters).
    ++st.stats.waits;
    auto rp = self->make_response_promise<std::string>();
    auto joined = i->second.attempt;
    i->second.fetchers.push_back(
      {rp, std::move(loader), std::move(fo), routed, joined});
    return rp;
  }
  if (auto err = add_rule_tags(st, key, fo))
    return err;
  auto rp = self->make_response_promise<std::string>();
  open_entry(self, key, loader, fo, routed)
    .fetchers.push_back({rp, std::move(loader), std::move(fo), routed, 0});
  start_actor_load(self, key);
  return rp;
}

lock_manager_actor::behavior_type
lock_manager_impl(lm_ptr self, std::shared_ptr<local_cache> cache,
                  node_options opts, std::shared_ptr<time_source> clk,
                  loader_actor node_loader,
                  std::shared_ptr<const pending_writes> pending,
                  std::shared_ptr<const applied_events> applied,
                  std::shared_ptr<const rules> rs) {
  self->state.rule_set = std::move(rs);
  self->state.pending = std::move(pending);
  self->state.applied = std::move(applied);
  self->state.cache = std::move(cache);
  self->state.opts = opts;
  self->state.clk = std::move(clk);
  self->state.node_loader = std::move(node_loader);
  self->state.members.push_back(opts.name);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    st.monitored.erase(dm.source);
    std::vector<std::string> orphaned;
    for (auto& [key, entry] : st.locks)
      if (entry.owner == dm.source)
        orphaned.push_back(key);
    for (auto& key : orphaned) {
      ++st.stats.owner_deaths;
      // The monitor is gone already; don't demonitor it again.
      st.locks[key].owner = nullptr;
      failed(self, key,
             make_error(errc::load_failed, "the loader of \"" + key
                                             + "\" died before it "
                                               "finished"));
    }
  });
  return {
    [=](acquire_atom, acquire_request& req) -> caf::result<acquire_reply> {
      auto& st = self->state;
      if (auto err = st.opts.check_key(req.key))
        return err;
      auto& table = st.cache->table_for(req.key);
      if (!req.refresh) {
        // The value may have been installed after the caller missed (that
        // miss is counted already: peek counts nothing).
        std::string value;
        if (table.peek(req.key, value)) {
          acquire_reply r;
          r.outcome = acquire_reply::value;
          r.val = std::move(value);
          return r;
        }
      }
      auto i = st.locks.find(req.key);
      if (i != st.locks.end()) {
        if (!req.wait)
          return acquire_reply{};
        if (auto err = check_room(self, req.key, i))
          return err;
        ++st.stats.waits;
        auto rp = self->make_response_promise<acquire_reply>();
        i->second.acquirers.push_back(
          {rp, self->current_sender(), i->second.attempt});
        return rp;
      }
      auto& entry = st.locks[req.key];
      new_attempt(self, req.key, entry);
      entry.phase = load_phase::thread_holds;
      entry.owner = caf::actor_cast<caf::actor_addr>(self->current_sender());
      watch(self, entry.owner);
      self->delayed_send(self, st.opts.lease_timeout, lease_atom_v, req.key,
                         entry.token);
      ++st.stats.grants;
      acquire_reply r;
      r.outcome = acquire_reply::load;
      r.token = entry.token;
      r.fill = entry.fill;
      return r;
    },
    [=](release_atom, const std::string& key, uint64_t token,
        std::string& value) {
      if (current(self, key, token))
        released(self, key, std::move(value));
    },
    [=](fail_atom, const std::string& key, uint64_t token, caf::error& err) {
      if (current(self, key, token))
        failed(self, key, std::move(err));
    },
    [=](fail_atom, const std::string& key, uint64_t token, caf::error& err,
        uint64_t fallback) {
      if (current(self, key, token))
        failed_with_fallback(self, key, std::move(err), fallback);
    },
    [=](superseded_atom, const std::string& key, uint64_t token,
        loaded& x) -> acquire_reply {
      // A caller on a plain thread loaded `x` but could not install it: it
      // gets a value to return, or a new attempt to run.
      acquire_reply r;
      auto* e = current(self, key, token);
      if (e && superseded(self, key, x)) {
        r.outcome = acquire_reply::load;
        r.token = e->token;
        r.fill = e->fill;
        self->delayed_send(self, self->state.opts.lease_timeout, lease_atom_v,
                           key, e->token);
        return r;
      }
      r.outcome = acquire_reply::value;
      r.val = std::move(x.value);
      return r;
    },
    [=](fetch_atom, const std::string& key, loader_actor& loader,
        fetch_options& fo) -> caf::result<std::string> {
      return fetch_with(self, key, std::move(loader), std::move(fo), false);
    },
    [=](fetch_atom, const std::string& key,
        fetch_options& fo) -> caf::result<std::string> {
      auto& st = self->state;
      if (!st.node_loader)
        return make_error(errc::invalid_config,
                          "fetch without a loader needs the node loader "
                          "(node_setup::loader)");
      return fetch_with(self, key, st.node_loader, std::move(fo), true);
    },
    [=](owner_fetch_atom, const std::string& key,
        fetch_options& fo) -> caf::result<owner_reply> {
      return owner_fetch(self, key, std::move(fo));
    },
    [=](const peer_event& ev) { on_peer_event(self, ev); },
    [=](lease_atom, const std::string& key, uint64_t token) {
      auto& st = self->state;
      auto i = st.locks.find(key);
      if (i == st.locks.end() || i->second.token != token
          || i->second.phase != load_phase::thread_holds)
        return;
      ++st.stats.expired;
      failed(self, key,
             make_error(errc::lease_expired, "the loader of \"" + key
                                               + "\" held it longer than "
                                                 "cachebus.lease-timeout"));
    },
    [=](stats_atom) {
      auto& st = self->state;
      auto s = st.stats;
      s.held = st.locks.size();
      s.waiting = 0;
      for (auto& kv : st.locks)
        s.waiting += kv.second.waiters();
      s.members = st.members.size();
      return s;
    },
  };
}

} // namespace lock_detail

using lock_detail::lock_manager_impl;

lock_manager_actor
spawn_lock_manager(caf::actor_system& sys, std::shared_ptr<local_cache> cache,
                   node_options opts, std::shared_ptr<time_source> clk,
                   loader_actor node_loader,
                   std::shared_ptr<const pending_writes> pending,
                   std::shared_ptr<const applied_events> applied,
                   std::shared_ptr<const rules> rs, bool hidden) {
  if (hidden)
    return sys.spawn<caf::hidden>(lock_manager_impl, std::move(cache),
                                  std::move(opts), std::move(clk),
                                  std::move(node_loader), std::move(pending),
                                  std::move(applied), std::move(rs));
  return sys.spawn(lock_manager_impl, std::move(cache), std::move(opts),
                   std::move(clk), std::move(node_loader), std::move(pending),
                   std::move(applied), std::move(rs));
}

} // namespace cachebus
