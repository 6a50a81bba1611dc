#include "cachebus/actors/invalidation/change_feed.hpp"

#include <algorithm>

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/stores/change_listener.hpp"

namespace cachebus {

namespace {

struct feed_state {
  node* n = nullptr;
  std::unique_ptr<stores::change_listener> listener;
  change_feed_stats stats;
  std::chrono::milliseconds backoff{50};
  static inline const char* name = "cachebus.change_feed";
};

using feed_ptr = change_feed_actor::stateful_pointer<feed_state>;

change_feed_actor::behavior_type
feed_impl(feed_ptr self, node* n,
          std::shared_ptr<std::unique_ptr<stores::change_listener>> l) {
  self->state.n = n;
  self->state.listener = std::move(*l);
  self->state.stats.connected = true;
  self->send(self, poll_atom_v);
  return {
    [=](poll_atom) {
      auto& st = self->state;
      // A blocking wait is fine: this actor runs on its own thread.
      auto got = st.listener->poll(std::chrono::milliseconds(100));
      if (!got.ok()) {
        if (st.stats.connected) {
          // Notifications sent while we were away are lost for good.
          ++st.stats.failures;
          st.n->clear();
        }
        st.stats.connected = false;
        self->delayed_send(self, st.backoff, poll_atom_v);
        st.backoff = std::min(st.backoff * 2, std::chrono::milliseconds(5000));
        return;
      }
      if (!st.stats.connected) {
        // Back: anything loaded while we were away may be stale already.
        st.n->clear();
        st.stats.connected = true;
        st.backoff = std::chrono::milliseconds(50);
      }
      for (auto& ch : *got) {
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
      self->send(self, poll_atom_v);
    },
    [=](stats_atom) { return self->state.stats; },
  };
}

} // namespace

caf::expected<change_feed_actor> spawn_change_feed(node& n,
                                                   std::string conninfo) {
  auto l = stores::change_listener::open(std::move(conninfo));
  if (!l.ok())
    return make_error(errc::store_unavailable,
                      "change feed: " + l.error().to_string());
  auto holder
    = std::make_shared<std::unique_ptr<stores::change_listener>>(std::move(*l));
  return n.system().spawn<caf::detached>(feed_impl, &n, holder);
}

} // namespace cachebus
