#include "cachebus/actors/resp/resp_pubsub.hpp"

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/topic.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus {

void resp_pubsub::set_push(resp_push_fn fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  push_ = std::move(fn);
}

bool resp_pubsub::subscribe(uint64_t client, const std::string& channel,
                            bool pattern) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& m = pattern ? patterns_ : channels_;
  auto i = m.find(channel);
  if (i != m.end() && i->second.count(client) > 0)
    return true;
  auto& n = counts_[client];
  if (n >= max_subscriptions)
    return false;
  ++n;
  m[channel].insert(client);
  return true;
}

void resp_pubsub::unsubscribe(uint64_t client, const std::string& channel,
                              bool pattern) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& m = pattern ? patterns_ : channels_;
  auto i = m.find(channel);
  if (i == m.end() || i->second.erase(client) == 0)
    return;
  if (i->second.empty())
    m.erase(i);
  if (auto c = counts_.find(client); c != counts_.end() && --c->second == 0)
    counts_.erase(c);
}

void resp_pubsub::remove(uint64_t client) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (counts_.erase(client) == 0)
    return;
  for (auto* m : {&channels_, &patterns_})
    for (auto i = m->begin(); i != m->end();) {
      i->second.erase(client);
      i = i->second.empty() ? m->erase(i) : std::next(i);
    }
}

size_t resp_pubsub::publish(const std::string& channel,
                            const std::string& payload) {
  resp_push_fn fn;
  resp_push msg;
  std::vector<uint64_t> direct;
  std::vector<std::pair<std::string, std::vector<uint64_t>>> by_pattern;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    fn = push_;
    if (auto i = channels_.find(channel); i != channels_.end())
      direct.assign(i->second.begin(), i->second.end());
    for (auto& [pat, ids] : patterns_)
      if (glob_match(pat, channel))
        by_pattern.emplace_back(pat,
                                std::vector<uint64_t>(ids.begin(), ids.end()));
  }
  size_t n = direct.size();
  for (auto& bp : by_pattern)
    n += bp.second.size();
  if (!fn)
    return n;
  if (!direct.empty()) {
    msg.what = resp_push::kind::message;
    msg.channel = channel;
    msg.payload = payload;
    fn(std::move(direct), msg);
  }
  for (auto& [pat, ids] : by_pattern) {
    resp_push pm;
    pm.what = resp_push::kind::pmessage;
    pm.pattern = pat;
    pm.channel = channel;
    pm.payload = payload;
    fn(std::move(ids), std::move(pm));
  }
  return n;
}

size_t resp_pubsub::receivers(const std::string& channel) const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  if (auto i = channels_.find(channel); i != channels_.end())
    n += i->second.size();
  for (auto& [pat, ids] : patterns_)
    if (glob_match(pat, channel))
      n += ids.size();
  return n;
}

caf::actor spawn_resp_event_relay(caf::actor_system& sys,
                                  std::shared_ptr<resp_pubsub> ps) {
  // `ps` goes in as a spawn argument, not a capture: CAF 0.17 spawns a
  // function without arguments by dereferencing a null tuple pointer
  // (undefined behavior that UBSan reports).
  return sys.spawn<caf::hidden>(
    [](caf::event_based_actor* self,
       std::shared_ptr<resp_pubsub> ps) -> caf::behavior {
      // Events arrive anonymously from the listener; nothing may kill us.
      self->set_default_handler(caf::drop);
      return {
        [ps](const invalidated& ev) {
          ps->publish(resource_topic(ev.resource), ev.id);
        },
        [ps](const tag_invalidated& ev) {
          ps->publish(std::string{tag_invalidated::topic}, ev.tag);
        },
        [ps](const keys_invalidated& ev) {
          for (auto& k : ev.keys)
            ps->publish(std::string{keys_invalidated::topic}, k);
        },
        [ps](const pattern_invalidated& ev) {
          ps->publish(std::string{pattern_invalidated::topic}, ev.glob);
        },
      };
    },
    std::move(ps));
}

} // namespace cachebus
