#include "cachebus/actors/node.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/exit_reason.hpp"
#include "caf/settings.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/error.hpp"
#include "cachebus/actors/glob.hpp"

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
    n->shards_.emplace_back(spawn_shard(sys, i, opts.shards,
                                        n->cache_->table(i), opts,
                                        n->clock_));
  bus_actor bus;
  if (setup.bus) {
    bus = std::move(*setup.bus);
  } else {
    bus = spawn_bus(sys);
    n->owns_bus_ = true;
  }
  n->source_ = std::make_shared<event_source>(opts.name, bus);
  n->inv_ = std::make_shared<invalidator>(n->cache_, rs, opts);
  n->listener_ = spawn_invalidation_listener(sys, n->inv_, n->source_);
  // The subscription is in the bus's mailbox before start() returns, and a
  // mailbox is FIFO: every event published after this point is delivered to
  // the listener. (No blocking request: that would deadlock under CAF's
  // deterministic test coordinator.)
  caf::anon_send(bus, caf::subscribe_atom_v, std::string{all_cache_topics},
                 caf::actor_cast<caf::strong_actor_ptr>(n->listener_));
  return n;
}

caf::expected<std::unique_ptr<node>> node::start(caf::actor_system& sys) {
  auto opts = node_options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  node_setup setup;
  auto path = caf::get_or(sys.config(), "cachebus.rules", std::string{});
  if (!path.empty()) {
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
  for (auto& s : shards_)
    all.push_back(caf::actor_cast<caf::actor>(s));
  if (listener_)
    all.push_back(caf::actor_cast<caf::actor>(listener_));
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
  if (auto err = opts_.check_value(value))
    return err;
  if (auto err = opts_.check_tags(opts.tags))
    return err;
  auto expiry = opts_.expiry_for(opts.ttl, clock_->now_ns());
  if (!expiry)
    return std::move(expiry.error());
  return cache_->table_for(key).put(key, std::move(value), *expiry, opts.tags,
                                    opts.version);
}

caf::expected<size_t> node::erase(std::string_view key) {
  return invalidate({std::string{key}});
}

caf::expected<size_t> node::erase(const std::vector<std::string>& keys) {
  return invalidate(keys);
}

// -- invalidation -------------------------------------------------------------

caf::expected<size_t> node::invalidate(std::vector<std::string> keys) {
  if (auto err = check_running())
    return err;
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

node_stats node::stats() const {
  return cache_->stats();
}

} // namespace cachebus
