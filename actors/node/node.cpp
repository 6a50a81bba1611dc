#include "cachebus/actors/node/node.hpp"

#include <algorithm>
#include <utility>

#include "caf/actor_system_config.hpp"
#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/settings.hpp"

#include "cachebus/actors/cache/checked_put.hpp"
#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/actors/node/cluster_options.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_state.hpp"
#include "cachebus/actors/node/node_transport.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/tls_setup.hpp"

namespace cachebus {

// -- construction -------------------------------------------------------------

node::node(caf::actor_system& sys, node_options opts)
    : s_(std::make_shared<node_state>(sys, std::move(opts))) {
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
  // The node's actors are hidden: ~actor_system does not wait for them
  // (which, with the node still running, would be forever). Instead the
  // guard notices a system that shuts down under a running node and says so.
  n->s_->guard = std::make_unique<shutdown_guard>(
    sys,
    "cachebus: the caf::actor_system is shutting down while cachebus::node \""
      + opts.name
      + "\" still runs in it. Stop or destroy the node before its actor "
        "system: a class holding both must declare the actor_system member "
        "before the node (members are destroyed in reverse order), or call "
        "node::stop() first. Aborting instead of hanging.");
  n->s_->clock = setup.clock ? std::move(setup.clock)
                             : std::make_shared<cachebus::time_source>();
  n->s_->cache = std::make_shared<local_cache>(n->s_->opts, n->s_->clock.get());
  for (size_t i = 0; i < opts.shards; ++i)
    n->s_->shards.emplace_back(spawn_shard(
      sys, i, opts.shards, n->s_->cache->table(i), opts, n->s_->clock, true));
  bus_actor bus;
  if (setup.bus) {
    bus = std::move(*setup.bus);
  } else {
    bus = spawn_bus(sys, true);
    n->s_->owns_bus = true;
  }
  n->s_->source = std::make_shared<event_source>(opts.name, bus);
  n->s_->applied = std::make_shared<applied_events>(n->s_->source);
  n->s_->inv = std::make_shared<invalidator>(n->s_->cache, rs, opts);
  n->s_->listener = spawn_invalidation_listener(sys, n->s_->inv, n->s_->source,
                                                n->s_->applied, true);
  n->s_->lock_manager
    = spawn_lock_manager(sys, n->s_->cache, opts, n->s_->clock, setup.loader,
                         setup.pending, n->s_->applied, rs, true);
  // The subscription is in the bus's mailbox before start() returns, and a
  // mailbox is FIFO: every event published after this point is delivered to
  // the listener. (No blocking request: that would deadlock under CAF's
  // deterministic test coordinator.)
  caf::anon_send(bus, caf::subscribe_atom_v, std::string{all_cache_topics},
                 caf::actor_cast<caf::strong_actor_ptr>(n->s_->listener));
  if (setup.cluster) {
    // Peers' lock managers join and leave with their bridges' sessions: the
    // lock manager learns them from the peer events (cluster single flight).
    caf::anon_send(bus, caf::subscribe_atom_v, std::string{peers_topic},
                   caf::actor_cast<caf::strong_actor_ptr>(n->s_->lock_manager));
    setup.cluster->node = opts.name;
    setup.cluster->endpoint = caf::actor_cast<caf::actor>(n->s_->lock_manager);
    setup.cluster->hidden = true;
    auto b = spawn_bridge(sys, bus, std::move(*setup.cluster));
    if (!b) {
      n->stop();
      return make_error(errc::invalid_config,
                        "cannot start the cluster bridge: "
                          + describe(b.error()));
    }
    n->s_->bridge = std::move(*b);
  }
  return n;
}

caf::expected<std::unique_ptr<node>> node::start(caf::actor_system& sys,
                                                 node_setup setup) {
  auto opts = node_options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  auto& cfg = sys.config();
  // setup.cluster wins over the config (node.hpp).
  bool cluster = false;
  if (!setup.cluster)
    if (auto err = read_cluster_flag(cfg, cluster))
      return err;
  if (!setup.cluster && cluster) {
    auto opts_of = cluster_options_from(cfg);
    if (!opts_of)
      return std::move(opts_of.error());
    auto b = std::move(*opts_of);
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
  if (s_->stopped.exchange(true, std::memory_order_acq_rel))
    return;
  if (s_->guard)
    s_->guard->disarm();
  // Async loads first: running ones finish (and release their keys),
  // queued ones fail; the lock manager is still there for both.
  std::shared_ptr<task_pool> pool;
  {
    std::lock_guard<std::mutex> guard{s_->async_mtx};
    pool = s_->async_loaders;
  }
  if (pool)
    pool->stop();
  caf::scoped_actor self{s_->sys};
  std::vector<caf::actor> all;
  // The bridge first: no more events from other nodes once we stop.
  if (s_->bridge.actor)
    all.push_back(caf::actor_cast<caf::actor>(s_->bridge.actor));
  for (auto& s : s_->shards)
    all.push_back(caf::actor_cast<caf::actor>(s));
  if (s_->listener)
    all.push_back(caf::actor_cast<caf::actor>(s_->listener));
  if (s_->lock_manager)
    all.push_back(caf::actor_cast<caf::actor>(s_->lock_manager));
  if (s_->owns_bus && s_->source)
    all.push_back(caf::actor_cast<caf::actor>(s_->source->bus()));
  for (auto& a : all)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  self->wait_for(all);
  // Then the transport the bridge dialed through, waiting until nothing it
  // sent is left in the middleman (transport.hpp): else ~actor_system can
  // hang on its thread.
  if (s_->bridge.transport)
    s_->bridge.transport->stop();
  // No table reports any more (each unset under its table's lock), then
  // what was queued is delivered.
  removal_sink* sink = nullptr;
  {
    std::lock_guard<std::mutex> guard{s_->removals_mtx};
    sink = s_->removals.get();
    if (sink)
      s_->cache->set_removal_sink(nullptr);
  }
  // Not under removals_mtx: a listener may call remove_removal_listener.
  if (sink)
    sink->stop();
}

// -- handles and properties ---------------------------------------------------

const std::vector<shard_actor>& node::shards() const noexcept {
  return s_->shards;
}

const shard_actor& node::shard_for(std::string_view key) const noexcept {
  return s_->shards[shard_index(key)];
}

const bus_actor& node::bus() const noexcept {
  return s_->source->bus();
}

uint64_t node::events_published() const noexcept {
  return s_->source->next_sequence() - 1;
}

uint16_t node::cluster_port() const noexcept {
  return s_->bridge.port;
}

const std::shared_ptr<cachebus::transport>& node::transport() const noexcept {
  return s_->bridge.transport;
}

const bridge_actor& node::bridge() const noexcept {
  return s_->bridge.actor;
}

const invalidation_listener_actor& node::listener() const noexcept {
  return s_->listener;
}

const lock_manager_actor& node::lock_manager() const noexcept {
  return s_->lock_manager;
}

const node_options& node::options() const noexcept {
  return s_->opts;
}

const cachebus::rules& node::rules() const noexcept {
  return s_->inv->rule_set();
}

cachebus::time_source& node::time() noexcept {
  return *s_->clock;
}

caf::actor_system& node::system() noexcept {
  return s_->sys;
}

bool node::stopped() const noexcept {
  return s_->stopped.load(std::memory_order_acquire);
}

caf::error node::check_running() const {
  if (stopped())
    return make_error(errc::stopped, "node is stopped");
  return {};
}

// -- reads and writes ---------------------------------------------------------

size_t node::shard_index(std::string_view key) const noexcept {
  return s_->cache->shard_index(key);
}

caf::expected<std::string> node::get(std::string_view key) const {
  std::string out;
  if (auto err = get_into(key, out))
    return err;
  return out;
}

caf::error node::get_into(std::string_view key, std::string& out) const {
  // The hit path checks what check_running() and check_key() check without
  // building their (empty) errors: a hit is ~300 instructions, and those two
  // took ~90 of them.
  if (key.empty() || key.size() > s_->opts.max_key_size || stopped()) {
    if (auto err = check_running())
      return err;
    return s_->opts.check_key(key);
  }
  hashed_key hk{key}; // hashed once: the shard, then the table's slot
  if (std::as_const(*s_->cache).table_for(hk).get(hk, out))
    return caf::none;
  return make_error(errc::miss);
}

caf::expected<uint64_t> node::set(std::string_view key, std::string value,
                                  const set_options& opts) {
  if (auto err = check_running())
    return err;
  if (auto err = s_->opts.check_key(key))
    return err;
  return checked_put(s_->cache->table_for(key), s_->opts, s_->clock->now_ns(),
                     key, std::move(value), opts.ttl, opts.tags, opts.version);
}

caf::expected<caf::timespan> node::ttl(std::string_view key) const {
  if (auto err = check_running())
    return err;
  if (auto err = s_->opts.check_key(key))
    return err;
  int64_t expires = 0;
  if (!std::as_const(*s_->cache).table_for(key).expiry_of(key, expires))
    return make_error(errc::miss);
  if (expires == no_expiry)
    return never_expires;
  // The entry was live a moment ago: at least one nanosecond left.
  return caf::timespan{std::max<int64_t>(expires - s_->clock->now_ns(), 1)};
}

caf::expected<bool> node::expire(std::string_view key, caf::timespan ttl) {
  return expire(key, ttl, expire_condition{});
}

caf::expected<bool> node::expire(std::string_view key, caf::timespan ttl,
                                 expire_condition cond) {
  if (auto err = check_running())
    return err;
  if (auto err = s_->opts.check_key(key))
    return err;
  auto expiry = s_->opts.expiry_for(ttl, s_->clock->now_ns());
  if (!expiry)
    return std::move(expiry.error());
  return s_->cache->table_for(key).set_expiry_if(key, *expiry, cond);
}

caf::expected<put_outcome> node::set_if(std::string_view key, std::string value,
                                        put_condition cond,
                                        const set_options& opts) {
  if (auto err = check_running())
    return err;
  if (auto err = s_->opts.check_key(key))
    return err;
  if (opts.version != 0)
    return make_error(errc::invalid_argument,
                      "set_if writes unsourced values: opts.version must be "
                      "0");
  auto expiry
    = check_write(s_->opts, s_->clock->now_ns(), value, opts.tags, opts.ttl);
  if (!expiry)
    return std::move(expiry.error());
  return s_->cache->table_for(key).put_if(key, std::move(value), *expiry,
                                          opts.tags, cond);
}

uint64_t node::begin_install(std::string_view key) {
  return s_->cache->table_for(key).begin_write(key);
}

caf::expected<bool> node::install(std::string_view key, uint64_t lease,
                                  std::string value, const set_options& opts) {
  auto& table = s_->cache->table_for(key);
  auto fail = [&](caf::error err) -> caf::expected<bool> {
    table.cancel_fill(key, lease);
    return err;
  };
  if (auto err = check_running())
    return fail(std::move(err));
  auto expiry
    = check_write(s_->opts, s_->clock->now_ns(), value, opts.tags, opts.ttl);
  if (!expiry)
    return fail(std::move(expiry.error()));
  return table.complete_write(key, lease, std::move(value), *expiry, opts.tags,
                              opts.version);
}

void node::cancel_install(std::string_view key, uint64_t lease) {
  s_->cache->table_for(key).cancel_fill(key, lease);
}

caf::expected<size_t> node::erase(std::string_view key) {
  return invalidate({std::string{key}});
}

caf::expected<size_t> node::erase(const std::vector<std::string>& keys) {
  return invalidate(keys);
}

// -- invalidation -------------------------------------------------------------

template <class Event>
caf::expected<size_t> node::invalidate_and_publish(Event ev) {
  if (auto err = check_running())
    return err;
  local_invalidation running{*s_->applied};
  auto n = s_->inv->apply(ev);
  if (n)
    s_->source->publish(std::move(ev));
  return n;
}

caf::expected<size_t> node::invalidate(std::vector<std::string> keys) {
  keys_invalidated ev;
  ev.keys = std::move(keys);
  return invalidate_and_publish(std::move(ev));
}

caf::expected<size_t> node::invalidate_pattern(std::string glob) {
  pattern_invalidated ev;
  ev.glob = std::move(glob);
  return invalidate_and_publish(std::move(ev));
}

caf::expected<size_t> node::invalidate_tag(std::string tag) {
  tag_invalidated ev;
  ev.tag = std::move(tag);
  return invalidate_and_publish(std::move(ev));
}

caf::expected<size_t> node::publish_invalidation(std::string resource,
                                                 std::string id,
                                                 uint64_t version) {
  invalidated ev;
  ev.resource = std::move(resource);
  ev.id = std::move(id);
  ev.version = version;
  return invalidate_and_publish(std::move(ev));
}

caf::expected<size_t> node::invalidate_event(invalidation_event ev) {
  return std::visit(
    [this](auto& x) {
      x.origin.clear();
      x.sequence = 0;
      x.sent_ns = 0;
      return invalidate_and_publish(std::move(x));
    },
    ev);
}

caf::error node::track_dependency(const std::string& parent,
                                  const std::string& dependent) {
  if (auto err = check_running())
    return err;
  if (auto err = s_->opts.check_key(parent))
    return err;
  if (auto err = s_->opts.check_key(dependent))
    return err;
  if (parent == dependent)
    return make_error(errc::invalid_argument,
                      "a key cannot depend on itself: \"" + parent + "\"");
  if (!s_->cache->table_for(dependent).attach_parent(dependent, parent))
    return make_error(errc::miss, "dependent \"" + dependent
                                    + "\" is not cached; cache it first");
  return {};
}

size_t node::clear() {
  return s_->inv->drop_everything();
}

node_stats node::stats() const {
  return s_->cache->stats();
}

namespace {

// One bounded request from this plain thread to one of the node's actors.
template <class T, class Handle, class... Ts>
caf::expected<T> ask(node_state& st, const Handle& whom, const char* what,
                     Ts&&... xs) {
  caf::expected<T> result{T{}};
  caf::scoped_actor self{st.sys};
  self->request(whom, st.opts.request_timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) {
               if (err == caf::sec::request_timeout)
                 result = make_error(
                   errc::timeout,
                   std::string{what}
                     + " did not answer within cachebus.request-timeout ("
                     + std::to_string(
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                         st.opts.request_timeout)
                         .count())
                     + " ms)");
               else if (err == caf::sec::request_receiver_down)
                 result = make_error(errc::stopped, "node is stopped");
               else
                 result = std::move(err);
             });
  return result;
}

} // namespace

caf::expected<lock_stats> node::lock_stats() const {
  if (auto err = check_running())
    return err;
  return ask<cachebus::lock_stats>(*s_, s_->lock_manager, "the lock manager",
                                   stats_atom_v);
}

caf::expected<listener_stats> node::listener_stats() const {
  if (auto err = check_running())
    return err;
  return ask<cachebus::listener_stats>(
    *s_, s_->listener, "the invalidation listener", stats_atom_v);
}

// -- removal notifications ----------------------------------------------------

caf::expected<uint64_t> node::on_removal(removal_listener fn) {
  return add_removal_listener(std::move(fn), false);
}

caf::expected<uint64_t> node::on_change(removal_listener fn) {
  return add_removal_listener(std::move(fn), true);
}

caf::expected<uint64_t> node::add_removal_listener(removal_listener fn,
                                                   bool created) {
  if (!fn)
    return make_error(errc::invalid_argument,
                      "on_removal needs a listener function");
  std::lock_guard<std::mutex> guard{s_->removals_mtx};
  // Under the mutex, which stop() takes too: no sink is made after stop().
  if (auto err = check_running())
    return err;
  if (!s_->removals) {
    s_->removals = std::make_unique<removal_sink>(s_->opts.max_queued_removals);
    s_->cache->set_removal_sink(s_->removals.get());
  }
  return s_->removals->add(std::move(fn), created);
}

void node::remove_removal_listener(uint64_t id) {
  removal_sink* sink = nullptr;
  {
    std::lock_guard<std::mutex> guard{s_->removals_mtx};
    sink = s_->removals.get();
  }
  // The sink lives as long as the node; remove() may wait for a listener,
  // which may itself call on_removal: not under removals_mtx.
  if (sink)
    sink->remove(id);
}

bool node::drain_removals(caf::timespan timeout) {
  removal_sink* sink = nullptr;
  {
    std::lock_guard<std::mutex> guard{s_->removals_mtx};
    sink = s_->removals.get();
  }
  return sink == nullptr || sink->drain(timeout);
}

removal_stats node::removal_listener_stats() const {
  std::lock_guard<std::mutex> guard{s_->removals_mtx};
  return s_->removals ? s_->removals->stats() : removal_stats{};
}

} // namespace cachebus
