#include "cachebus/actors/node.hpp"

#include <functional>

#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/error.hpp"

namespace cachebus {

// -- construction -------------------------------------------------------------

node::node(caf::actor_system& sys, node_options opts,
           std::shared_ptr<cachebus::clock> clk)
  : sys_(sys), opts_(opts), clock_(std::move(clk)) {
  shard_table::limits lim;
  lim.max_entries = opts_.max_entries / opts_.shards;
  lim.max_bytes = opts_.max_bytes / opts_.shards;
  lim.tick_ns = opts_.sweep_interval.count();
  for (size_t i = 0; i < opts_.shards; ++i) {
    tables_.emplace_back(std::make_shared<shard_table>(lim, clock_.get()));
    shards_.emplace_back(
      spawn_shard(sys_, i, opts_.shards, tables_.back(), opts_, clock_));
  }
}

caf::expected<std::unique_ptr<node>>
node::start(caf::actor_system& sys, node_options opts,
            std::shared_ptr<cachebus::clock> clk) {
  if (auto err = opts.validate())
    return err;
  if (!clk)
    clk = std::make_shared<cachebus::clock>();
  return std::unique_ptr<node>{new node(sys, opts, std::move(clk))};
}

caf::expected<std::unique_ptr<node>> node::start(caf::actor_system& sys) {
  auto opts = node_options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  return start(sys, *opts);
}

node::~node() {
  stop();
}

void node::stop() {
  if (stopped_.exchange(true, std::memory_order_acq_rel))
    return;
  caf::scoped_actor self{sys_};
  for (auto& s : shards_)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  self->wait_for(shards_);
}

// -- blocking API -------------------------------------------------------------

size_t node::shard_index(std::string_view key) const noexcept {
  return shard_of(key, shards_.size());
}

caf::expected<std::string> node::get(std::string_view key) const {
  if (stopped())
    return make_error(errc::stopped, "node is stopped");
  if (auto err = opts_.check_key(key))
    return err;
  std::string out;
  if (tables_[shard_index(key)]->get(key, out))
    return out;
  return make_error(errc::miss);
}

caf::expected<uint64_t> node::set(std::string_view key, std::string value,
                                  const set_options& opts) {
  if (stopped())
    return make_error(errc::stopped, "node is stopped");
  if (auto err = opts_.check_key(key))
    return err;
  if (auto err = opts_.check_value(value))
    return err;
  if (auto err = opts_.check_tags(opts.tags))
    return err;
  auto expiry = opts_.expiry_for(opts.ttl, clock_->now_ns());
  if (!expiry)
    return std::move(expiry.error());
  return tables_[shard_index(key)]->put(key, std::move(value), *expiry,
                                        opts.tags, opts.version);
}

caf::expected<size_t> node::erase(std::string_view key) {
  if (stopped())
    return make_error(errc::stopped, "node is stopped");
  if (auto err = opts_.check_key(key))
    return err;
  return tables_[shard_index(key)]->erase(key);
}

caf::expected<size_t> node::erase(const std::vector<std::string>& keys) {
  if (stopped())
    return make_error(errc::stopped, "node is stopped");
  for (auto& key : keys)
    if (auto err = opts_.check_key(key))
      return err;
  std::vector<std::vector<std::string>> per_shard(shards_.size());
  for (auto& key : keys)
    per_shard[shard_index(key)].push_back(key);
  size_t n = 0;
  for (size_t i = 0; i < per_shard.size(); ++i)
    if (!per_shard[i].empty())
      n += tables_[i]->erase(per_shard[i]);
  return n;
}

node_stats node::stats() const {
  node_stats result;
  for (auto& t : tables_) {
    result.shards.push_back(t->stats());
    result.total += result.shards.back();
  }
  return result;
}

} // namespace cachebus
