#include "cachebus/actors/invalidation/change_feed.hpp"

#include <algorithm>

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

constexpr auto first_backoff = std::chrono::milliseconds(50);
constexpr auto max_backoff = std::chrono::milliseconds(1000);

struct feed_state {
  node* n = nullptr;
  std::unique_ptr<stores::change_listener> listener;
  change_feed_stats stats;
  std::chrono::milliseconds backoff = first_backoff;

  ~feed_state() {
    // Everything polled was applied in the poll handler.
    if (listener)
      (void)listener->checkpoint();
  }

  static inline const char* name = "cachebus.change_feed";
};

using feed_ptr = change_feed_actor::stateful_pointer<feed_state>;

void apply(feed_state& st, std::vector<stores::change>& changes) {
  for (auto& ch : changes) {
    ++st.stats.changes;
    if (!st.n->rules().contains(ch.resource)) {
      ++st.stats.unknown;
      continue;
    }
    if (st.n->publish_invalidation(ch.resource, ch.id, ch.version)) {
      ++st.stats.applied;
      if (ch.at_us > 0)
        st.stats.lag.record(wall_clock_ns() - ch.at_us * 1000);
    }
  }
}

change_feed_actor::behavior_type
feed_impl(feed_ptr self, node* n,
          std::shared_ptr<std::unique_ptr<stores::change_listener>> l) {
  self->state.n = n;
  self->state.listener = std::move(*l);
  self->state.stats.connected = true;
  self->state.stats.resumed = self->state.listener->resumed();
  self->send(self, poll_atom_v);
  return {
    [=](poll_atom) {
      auto& st = self->state;
      // A blocking wait is fine: this actor runs on its own thread.
      auto got = st.listener->poll(std::chrono::milliseconds(100));
      st.stats.trimmed = st.listener->trimmed();
      if (!got.ok()) {
        // No drop: the listener reads on from its position when it is back.
        if (st.stats.connected)
          ++st.stats.failures;
        st.stats.connected = false;
        self->delayed_send(self, st.backoff, poll_atom_v);
        st.backoff = std::min(st.backoff * 2, max_backoff);
        return;
      }
      st.stats.connected = true;
      st.backoff = first_backoff;
      if (got->lost) {
        // Changes we never read are gone: anything cached may be stale.
        ++st.stats.lost_drops;
        st.n->clear();
      }
      apply(st, got->changes);
      self->send(self, poll_atom_v);
    },
    [=](stats_atom) { return self->state.stats; },
  };
}

} // namespace

caf::expected<change_feed_actor>
spawn_change_feed(node& n, std::string conninfo,
                  stores::change_feed_options opts) {
  if (opts.consumer.empty())
    opts.consumer = n.options().name;
  auto l = stores::change_listener::open(std::move(conninfo), std::move(opts));
  if (!l.ok()) {
    auto code = l.error().code() == stores::store_errc::invalid_argument
                  ? errc::invalid_config
                  : errc::store_unavailable;
    return make_error(code, "change feed: " + l.error().to_string());
  }
  auto holder
    = std::make_shared<std::unique_ptr<stores::change_listener>>(std::move(*l));
  return n.system().spawn<caf::detached>(feed_impl, &n, holder);
}

} // namespace cachebus
