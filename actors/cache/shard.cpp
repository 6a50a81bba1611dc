#include "cachebus/actors/cache/shard.hpp"

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/cache/checked_put.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

struct shard_state {
  size_t index = 0;
  size_t count = 1;
  std::shared_ptr<shard_table> table;
  node_options opts;
  std::shared_ptr<time_source> clk;
  static inline const char* name = "cachebus.shard";
};

caf::error check_owned(const shard_state& st, const std::string& key) {
  if (auto err = st.opts.check_key(key))
    return err;
  auto owner = shard_of(key, st.count);
  if (owner != st.index)
    return make_error(errc::invalid_argument,
                      "key belongs to shard " + std::to_string(owner)
                        + ", not to shard " + std::to_string(st.index));
  return {};
}

shard_actor::behavior_type
shard_impl(shard_actor::stateful_pointer<shard_state> self, size_t index,
           size_t count, std::shared_ptr<shard_table> table, node_options opts,
           std::shared_ptr<time_source> clk) {
  self->state.index = index;
  self->state.count = count;
  self->state.table = std::move(table);
  self->state.opts = opts;
  self->state.clk = std::move(clk);
  self->delayed_send(self, opts.sweep_interval, sweep_atom_v, true);
  return {
    [=](caf::get_atom, const std::string& key) -> caf::result<std::string> {
      auto& st = self->state;
      if (auto err = check_owned(st, key))
        return err;
      std::string out;
      if (st.table->get(key, out))
        return out;
      return make_error(errc::miss);
    },
    [=](caf::put_atom, put_request& req) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (auto err = check_owned(st, req.key))
        return err;
      auto v = checked_put(*st.table, st.opts, st.clk->now_ns(), req.key,
                           std::move(req.value), req.ttl, std::move(req.tags),
                           req.version);
      if (!v)
        return std::move(v.error());
      return *v;
    },
    [=](caf::delete_atom,
        const std::vector<std::string>& keys) -> caf::result<uint64_t> {
      auto& st = self->state;
      for (auto& key : keys)
        if (auto err = check_owned(st, key))
          return err;
      return static_cast<uint64_t>(st.table->erase(keys));
    },
    [=](stats_atom) { return self->state.table->stats(); },
    [=](sweep_atom, bool periodic) {
      auto& st = self->state;
      // Free one batch; if more is due, yield to other messages and continue.
      if (st.table->sweep(st.clk->now_ns(), st.opts.sweep_batch))
        self->send(self, sweep_atom_v, false);
      if (periodic)
        self->delayed_send(self, st.opts.sweep_interval, sweep_atom_v, true);
    },
  };
}

} // namespace

size_t shard_of(std::string_view key, size_t shards) noexcept {
  return shard_of_hash(std::hash<std::string_view>{}(key), shards);
}

size_t shard_of_hash(size_t key_hash, size_t shards) noexcept {
  // Mix the hash so that the shard choice and the table's own slot choice
  // (same std::hash, mixed its own way) are independent.
  uint64_t h = key_hash;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<size_t>(h % shards);
}

shard_actor spawn_shard(caf::actor_system& sys, size_t index, size_t count,
                        std::shared_ptr<shard_table> table, node_options opts,
                        std::shared_ptr<time_source> clk, bool hidden) {
  if (hidden)
    return sys.spawn<caf::hidden>(shard_impl, index, count, std::move(table),
                                  opts, std::move(clk));
  return sys.spawn(shard_impl, index, count, std::move(table), opts,
                   std::move(clk));
}

} // namespace cachebus
