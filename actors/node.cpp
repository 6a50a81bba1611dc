#include "cachebus/actors/node.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/settings.hpp"

#include <cmath>
#include <limits>
#include <random>

#include "cachebus/actors/checked_put.hpp"
#include "cachebus/actors/error.hpp"
#include "cachebus/actors/glob.hpp"
#include "cachebus/actors/node_transport.hpp"
#include "cachebus/actors/option_reader.hpp"
#include "cachebus/actors/tls_setup.hpp"

namespace cachebus {

// -- construction -------------------------------------------------------------

node::node(caf::actor_system& sys, node_options opts)
    : sys_(sys), opts_(std::move(opts)) {
  // nop
}

caf::expected<std::unique_ptr<node>>
node::start(caf::actor_system& sys, node_options opts, node_setup setup) {
  if (auto err = opts.validate())
    return err;
  auto rs = std::make_shared<cachebus::rules>();
  if (setup.rules)
    *rs = std::move(*setup.rules);
  if (auto err = rs->validate())
    return err;
  std::unique_ptr<node> n{new node(sys, opts)};
  n->clock_ = setup.clock ? std::move(setup.clock)
                          : std::make_shared<cachebus::time_source>();
  n->cache_ = std::make_shared<local_cache>(n->opts_, n->clock_.get());
  for (size_t i = 0; i < opts.shards; ++i)
    n->shards_.emplace_back(
      spawn_shard(sys, i, opts.shards, n->cache_->table(i), opts, n->clock_));
  bus_actor bus;
  if (setup.bus) {
    bus = std::move(*setup.bus);
  } else {
    bus = spawn_bus(sys);
    n->owns_bus_ = true;
  }
  n->source_ = std::make_shared<event_source>(opts.name, bus);
  n->applied_ = std::make_shared<applied_events>(n->source_);
  n->inv_ = std::make_shared<invalidator>(n->cache_, rs, opts);
  n->listener_
    = spawn_invalidation_listener(sys, n->inv_, n->source_, n->applied_);
  n->lock_manager_ = spawn_lock_manager(
    sys, n->cache_, opts, n->clock_, setup.loader, setup.pending, n->applied_);
  // The subscription is in the bus's mailbox before start() returns, and a
  // mailbox is FIFO: every event published after this point is delivered to
  // the listener. (No blocking request: that would deadlock under CAF's
  // deterministic test coordinator.)
  caf::anon_send(bus, caf::subscribe_atom_v, std::string{all_cache_topics},
                 caf::actor_cast<caf::strong_actor_ptr>(n->listener_));
  if (setup.cluster) {
    // Peers' lock managers join and leave with their bridges' sessions: the
    // lock manager learns them from the peer events (cluster single flight).
    caf::anon_send(bus, caf::subscribe_atom_v, std::string{peers_topic},
                   caf::actor_cast<caf::strong_actor_ptr>(n->lock_manager_));
    setup.cluster->node = opts.name;
    setup.cluster->endpoint = caf::actor_cast<caf::actor>(n->lock_manager_);
    auto b = spawn_bridge(sys, bus, std::move(*setup.cluster));
    if (!b) {
      n->stop();
      return make_error(errc::invalid_config,
                        "cannot start the cluster bridge: "
                          + describe(b.error()));
    }
    n->bridge_ = std::move(*b);
  }
  return n;
}

caf::expected<std::unique_ptr<node>> node::start(caf::actor_system& sys,
                                                 node_setup setup) {
  auto opts = node_options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  auto& cfg = sys.config();
  bool cluster = false;
  if (auto err = read_option(cfg, "cachebus.cluster", cluster))
    return err;
  if (!setup.cluster && cluster) {
    bridge_options b;
    for (auto err :
         {read_option(cfg, "cachebus.listen-host", b.host),
          read_option(cfg, "cachebus.listen-port", b.port),
          read_option(cfg, "cachebus.seeds", b.seeds),
          read_option(cfg, "cachebus.heartbeat-interval", b.heartbeat_interval),
          read_option(cfg, "cachebus.peer-timeout", b.peer_timeout)})
      if (err)
        return err;
    b.tls = tls_enabled(cfg);
    // spawn_bridge refuses this too, but only this layer can say how to fix
    // it; bad credentials are the bridge's to refuse.
    if (b.tls && !sys.has_openssl_manager())
      return make_error(errc::invalid_config,
                        "cachebus.tls needs CAF's OpenSSL module: call "
                        "cachebus::enable_tls(cfg) after parsing the config "
                        "(cachebus::runtime does)");
    // Frame checks, handshake bounds and TLS credentials read once, from
    // the config (node_transport.hpp); the bridge listens and dials on it.
    auto tr = start_node_transport(sys);
    if (!tr)
      return std::move(tr.error());
    b.transport = std::move(*tr);
    setup.cluster = std::move(b);
  }
  std::string path;
  if (auto err = read_option(cfg, "cachebus.rules", path))
    return err;
  if (!setup.rules && !path.empty()) {
    auto rs = rules::load(path);
    if (!rs)
      return std::move(rs.error());
    setup.rules = std::move(*rs);
  }
  return start(sys, std::move(*opts), std::move(setup));
}

node::~node() {
  stop();
}

void node::stop() {
  if (stopped_.exchange(true, std::memory_order_acq_rel))
    return;
  caf::scoped_actor self{sys_};
  std::vector<caf::actor> all;
  // The bridge first: no more events from other nodes once we stop.
  if (bridge_.actor)
    all.push_back(bridge_.actor);
  for (auto& s : shards_)
    all.push_back(caf::actor_cast<caf::actor>(s));
  if (listener_)
    all.push_back(caf::actor_cast<caf::actor>(listener_));
  if (lock_manager_)
    all.push_back(caf::actor_cast<caf::actor>(lock_manager_));
  if (owns_bus_ && source_)
    all.push_back(caf::actor_cast<caf::actor>(source_->bus()));
  for (auto& a : all)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  self->wait_for(all);
}

caf::error node::check_running() const {
  if (stopped())
    return make_error(errc::stopped, "node is stopped");
  return {};
}

// -- reads and writes ---------------------------------------------------------

size_t node::shard_index(std::string_view key) const noexcept {
  return cache_->shard_index(key);
}

caf::expected<std::string> node::get(std::string_view key) const {
  if (auto err = check_running())
    return err;
  if (auto err = opts_.check_key(key))
    return err;
  std::string out;
  if (cache_->table_for(key).get(key, out))
    return out;
  return make_error(errc::miss);
}

caf::expected<uint64_t> node::set(std::string_view key, std::string value,
                                  const set_options& opts) {
  if (auto err = check_running())
    return err;
  if (auto err = opts_.check_key(key))
    return err;
  return checked_put(cache_->table_for(key), opts_, clock_->now_ns(), key,
                     std::move(value), opts.ttl, opts.tags, opts.version);
}

uint64_t node::begin_install(std::string_view key) {
  return cache_->table_for(key).begin_fill(key);
}

caf::expected<bool> node::install(std::string_view key, uint64_t lease,
                                  std::string value, const set_options& opts) {
  auto& table = cache_->table_for(key);
  auto fail = [&](caf::error err) -> caf::expected<bool> {
    table.cancel_fill(key, lease);
    return err;
  };
  if (auto err = check_running())
    return fail(std::move(err));
  auto expiry
    = check_write(opts_, clock_->now_ns(), value, opts.tags, opts.ttl);
  if (!expiry)
    return fail(std::move(expiry.error()));
  return table.complete_fill(key, lease, std::move(value), *expiry, 0,
                             opts.tags, opts.version, 0);
}

void node::cancel_install(std::string_view key, uint64_t lease) {
  cache_->table_for(key).cancel_fill(key, lease);
}

caf::expected<size_t> node::erase(std::string_view key) {
  return invalidate({std::string{key}});
}

caf::expected<size_t> node::erase(const std::vector<std::string>& keys) {
  return invalidate(keys);
}

// -- cache-aside with single flight
// --------------------------------------------

namespace {

// XFetch: refresh early with a probability that grows as expiry nears and
// with how long the value took to load.
bool xfetch_due(const shard_table::lookup_result& lk, double beta,
                int64_t now) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> u{std::numeric_limits<double>::min(),
                                           1.0};
  auto gap = -static_cast<double>(lk.load_ns) * beta * std::log(u(rng));
  return static_cast<double>(now) + gap >= static_cast<double>(lk.expires_ns);
}

caf::expected<loaded> call_loader(const loader_fn& loader,
                                  const std::string& key) {
  try {
    return loader(key);
  } catch (const std::exception& ex) {
    return make_error(errc::load_failed,
                      "loader of \"" + key + "\" threw: " + ex.what());
  } catch (...) {
    return make_error(errc::load_failed,
                      "loader of \"" + key + "\" threw a non-exception");
  }
}

// A request to the lock manager about `key` failed: its timeout is
// cachebus.request-timeout, anything else passes as it is.
caf::error waited_too_long(caf::error err, const std::string& key) {
  if (err == caf::sec::request_timeout)
    return make_error(errc::timeout, "waited longer than "
                                     "cachebus.request-timeout for \""
                                       + key + "\"");
  return err;
}

} // namespace

caf::expected<fetch_options>
node::resolve_fetch(std::string_view key,
                    const fetch_options& call_opts) const {
  // Per-rule defaults fill what the call leaves at zero.
  fetch_options fo = call_opts;
  if (auto* r = rules().rule_for_key(key)) {
    if (fo.ttl == caf::timespan{0})
      fo.ttl = r->ttl;
    if (fo.stale_while_revalidate == caf::timespan{0})
      fo.stale_while_revalidate = r->stale_while_revalidate;
    if (fo.stale_if_error == caf::timespan{0})
      fo.stale_if_error = r->stale_if_error;
  }
  if (auto err = check_running())
    return err;
  if (auto err = opts_.check_key(key))
    return err;
  if (auto err = opts_.check_tags(fo.tags))
    return err;
  if (auto ttl = opts_.expiry_for(fo.ttl, 0); !ttl)
    return std::move(ttl.error());
  if (!(fo.beta >= 0 && fo.beta < 1e6))
    return make_error(errc::invalid_argument,
                      "fetch_options.beta must be in [0, 1e6)");
  if (fo.stale_while_revalidate < caf::timespan{0}
      || fo.stale_if_error < caf::timespan{0}
      || fo.stale_while_revalidate > opts_.max_ttl
      || fo.stale_if_error > opts_.max_ttl)
    return make_error(errc::invalid_ttl,
                      "stale windows must lie in [0, cachebus.max-ttl]");
  return fo;
}

caf::expected<std::string> node::fetch(std::string_view key,
                                       const fetch_options& call_opts) {
  auto fo = resolve_fetch(key, call_opts);
  if (!fo)
    return std::move(fo.error());
  std::string k{key};
  std::string cached;
  if (cache_->table_for(k).get(k, cached))
    return cached;
  caf::expected<std::string> result{std::string{}};
  caf::scoped_actor self{sys_};
  // The miss is counted above; the lock manager's re-check counts nothing.
  self->request(lock_manager_, opts_.request_timeout, fetch_atom_v, k, *fo)
    .receive([&](std::string& v) { result = std::move(v); },
             [&](caf::error& e) { result = waited_too_long(std::move(e), k); });
  return result;
}

caf::expected<std::string> node::fetch(std::string_view key,
                                       const loader_fn& loader,
                                       const fetch_options& call_opts) {
  auto resolved = resolve_fetch(key, call_opts);
  if (!resolved)
    return std::move(resolved.error());
  auto& fo = *resolved;
  if (!loader)
    return make_error(errc::invalid_argument, "fetch needs a loader");
  std::string k{key};
  std::string cached;
  auto lk = cache_->table_for(k).lookup(k, cached);
  auto now = clock_->now_ns();
  acquire_request req;
  req.key = k;
  if (lk.state == shard_table::lookup_result::fresh) {
    if (fo.beta == 0 || !xfetch_due(lk, fo.beta, now))
      return cached;
    // Early refresh: this caller reloads; nobody waits for it.
    req.wait = false;
    req.refresh = true;
  } else if (lk.state == shard_table::lookup_result::stale
             && now < lk.expires_ns + fo.stale_while_revalidate.count()) {
    // Stale-while-revalidate: one caller refreshes, the others get the old
    // value at once.
    req.wait = false;
    req.refresh = true;
  }
  acquire_reply reply;
  caf::error err;
  {
    caf::scoped_actor self{sys_};
    self->request(lock_manager_, opts_.request_timeout, acquire_atom_v, req)
      .receive([&](acquire_reply& r) { reply = std::move(r); },
               [&](caf::error& e) { err = std::move(e); });
    if (err)
      return waited_too_long(std::move(err), k);
    switch (reply.outcome) {
    case acquire_reply::value:
      return std::move(reply.val);
    case acquire_reply::busy:
      return cached; // fresh (early refresh) or within the SWR window
    default:
      // We hold the key. `self` is the monitored owner: if this thread
      // unwinds without releasing, its death releases the key.
      return load_as_owner(k, std::move(reply), loader, fo, lk, cached);
    }
  }
}

caf::expected<std::string>
node::load_as_owner(const std::string& key, acquire_reply grant,
                    const loader_fn& loader, const fetch_options& fo,
                    const shard_table::lookup_result& old,
                    const std::string& old_value) {
  auto& table = cache_->table_for(key);
  for (;;) {
    auto t0 = clock_->now_ns();
    auto x = call_loader(loader, key);
    auto t1 = clock_->now_ns();
    caf::expected<bool> installed{false};
    if (x) {
      installed
        = checked_fill(table, opts_, t1, key, grant.fill, *x, fo, t1 - t0);
      if (!installed)
        x = std::move(installed.error());
    }
    if (!x) {
      table.cancel_fill(key, grant.fill);
      if (old.state != shard_table::lookup_result::missing
          && t1 < old.expires_ns + fo.stale_if_error.count()) {
        // Stale-if-error: the old value serves this caller for its window,
        // and the waiters too while the table still holds it (an
        // invalidation may have removed it since this caller looked).
        caf::anon_send(lock_manager_, fail_atom_v, key, grant.token, x.error(),
                       old.version);
        return old_value;
      }
      caf::anon_send(lock_manager_, fail_atom_v, key, grant.token, x.error());
      return std::move(x.error());
    }
    if (*installed) {
      caf::anon_send(lock_manager_, release_atom_v, key, grant.token, x->value);
      return std::move(x->value);
    }
    // A write or an invalidation reached the key while we loaded: the lock
    // manager says whether we load again or return a value (the one a write
    // left, or ours: this caller asked before the write, so ours is not
    // stale for it).
    acquire_reply next;
    caf::error err;
    caf::scoped_actor self{sys_};
    self
      ->request(lock_manager_, opts_.request_timeout, superseded_atom_v, key,
                grant.token, *x)
      .receive([&](acquire_reply& r) { next = std::move(r); },
               [&](caf::error& e) { err = std::move(e); });
    if (err || next.outcome != acquire_reply::load)
      return err ? std::move(x->value) : std::move(next.val);
    grant = std::move(next);
  }
}

// -- invalidation -------------------------------------------------------------

caf::expected<size_t> node::invalidate(std::vector<std::string> keys) {
  if (auto err = check_running())
    return err;
  local_invalidation running{*applied_};
  keys_invalidated ev;
  ev.keys = std::move(keys);
  auto n = inv_->apply(ev);
  if (n)
    source_->publish(std::move(ev));
  return n;
}

caf::expected<size_t> node::invalidate_pattern(std::string glob) {
  if (auto err = check_running())
    return err;
  local_invalidation running{*applied_};
  pattern_invalidated ev;
  ev.glob = std::move(glob);
  auto n = inv_->apply(ev);
  if (n)
    source_->publish(std::move(ev));
  return n;
}

caf::expected<size_t> node::invalidate_tag(std::string tag) {
  if (auto err = check_running())
    return err;
  local_invalidation running{*applied_};
  tag_invalidated ev;
  ev.tag = std::move(tag);
  auto n = inv_->apply(ev);
  if (n)
    source_->publish(std::move(ev));
  return n;
}

caf::expected<size_t> node::publish_invalidation(std::string resource,
                                                 std::string id,
                                                 uint64_t version) {
  if (auto err = check_running())
    return err;
  local_invalidation running{*applied_};
  invalidated ev;
  ev.resource = std::move(resource);
  ev.id = std::move(id);
  ev.version = version;
  auto n = inv_->apply(ev);
  if (n)
    source_->publish(std::move(ev));
  return n;
}

caf::error node::track_dependency(const std::string& parent,
                                  const std::string& dependent) {
  if (auto err = check_running())
    return err;
  if (auto err = opts_.check_key(parent))
    return err;
  if (auto err = opts_.check_key(dependent))
    return err;
  if (parent == dependent)
    return make_error(errc::invalid_argument,
                      "a key cannot depend on itself: \"" + parent + "\"");
  if (!cache_->table_for(dependent).attach_parent(dependent, parent))
    return make_error(errc::miss, "dependent \"" + dependent
                                    + "\" is not cached; cache it first");
  return {};
}

size_t node::clear() {
  return inv_->drop_everything();
}

node_stats node::stats() const {
  return cache_->stats();
}

} // namespace cachebus
