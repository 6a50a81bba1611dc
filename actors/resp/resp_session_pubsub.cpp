// The session's pub/sub commands and how it renders out-of-band messages
// (resp_session.hpp: the contract; resp_pubsub.hpp: the registry and the
// `cache:` channels).
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_services.hpp"
#include "cachebus/actors/resp/resp_session.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/topic.hpp"

namespace cachebus {

namespace {

constexpr std::string_view tracking_channel = "__redis__:invalidate";

} // namespace

void resp_session::deliver(const resp_push& p) {
  using k = resp_push::kind;
  switch (p.what) {
  case k::invalidate:
  case k::flush:
    if (writer_.protocol() == 3) {
      writer_.push(2);
      writer_.bulk("invalidate");
    } else if (subscribed()) {
      // Redis: a RESP2 redirect target gets them as pub/sub messages.
      writer_.push(3);
      writer_.bulk("message");
      writer_.bulk(tracking_channel);
    } else {
      return; // RESP2 cannot take a push on this connection
    }
    if (p.what == k::flush) {
      writer_.null();
    } else {
      writer_.array(p.keys.size());
      for (auto& key : p.keys)
        writer_.bulk(key);
    }
    break;
  case k::redirect_broken:
    if (writer_.protocol() == 3) {
      writer_.push(2);
      writer_.bulk("tracking-redir-broken");
      writer_.integer(static_cast<int64_t>(p.redirect));
    }
    break;
  case k::message:
    if (channels_.count(p.channel) == 0)
      return; // left meanwhile
    writer_.push(3);
    writer_.bulk("message");
    writer_.bulk(p.channel);
    writer_.bulk(p.payload);
    break;
  case k::pmessage:
    if (patterns_.count(p.pattern) == 0)
      return;
    writer_.push(4);
    writer_.bulk("pmessage");
    writer_.bulk(p.pattern);
    writer_.bulk(p.channel);
    writer_.bulk(p.payload);
    break;
  }
}

void resp_session::subscribe_generic(args_t& a, bool pattern) {
  if (!services_or_error())
    return;
  auto& ps = opts_.services->pubsub();
  auto& mine = pattern ? patterns_ : channels_;
  for (size_t i = 1; i < a.size(); ++i) {
    if (a[i].size() > resp_pubsub::max_name_bytes) {
      writer_.error("ERR cachebus: channel names and patterns are at most "
                    + std::to_string(resp_pubsub::max_name_bytes) + " bytes");
      return;
    }
    if (!ps.subscribe(id_, a[i], pattern)) {
      writer_.error("ERR cachebus: at most "
                    + std::to_string(resp_pubsub::max_subscriptions)
                    + " channels and patterns per connection");
      return;
    }
    mine.insert(a[i]);
    writer_.push(3);
    writer_.bulk(pattern ? "psubscribe" : "subscribe");
    writer_.bulk(a[i]);
    writer_.integer(static_cast<int64_t>(channels_.size() + patterns_.size()));
  }
}

void resp_session::unsubscribe_generic(args_t& a, bool pattern) {
  if (!services_or_error())
    return;
  auto& ps = opts_.services->pubsub();
  auto& mine = pattern ? patterns_ : channels_;
  const char* what = pattern ? "punsubscribe" : "unsubscribe";
  std::vector<std::string> names;
  if (a.size() > 1)
    names.assign(a.begin() + 1, a.end());
  else
    names.assign(mine.begin(), mine.end());
  if (names.empty()) {
    // Redis: one reply with a null channel.
    writer_.push(3);
    writer_.bulk(what);
    writer_.null();
    writer_.integer(static_cast<int64_t>(channels_.size() + patterns_.size()));
    return;
  }
  for (auto& name : names) {
    ps.unsubscribe(id_, name, pattern);
    mine.erase(name);
    writer_.push(3);
    writer_.bulk(what);
    writer_.bulk(name);
    writer_.integer(static_cast<int64_t>(channels_.size() + patterns_.size()));
  }
}

void resp_session::cmd_subscribe(args_t& a) {
  subscribe_generic(a, false);
}

void resp_session::cmd_psubscribe(args_t& a) {
  subscribe_generic(a, true);
}

void resp_session::cmd_unsubscribe(args_t& a) {
  unsubscribe_generic(a, false);
}

void resp_session::cmd_punsubscribe(args_t& a) {
  unsubscribe_generic(a, true);
}

void resp_session::cmd_publish(args_t& a) {
  if (!services_or_error())
    return;
  auto& ps = opts_.services->pubsub();
  const auto& channel = a[1];
  auto& msg = a[2];
  if (channel.rfind(cache_topic_prefix, 0) != 0) {
    writer_.integer(static_cast<int64_t>(ps.publish(channel, msg)));
    return;
  }
  // An invalidation event: its subscribers here hear it from the node's
  // listener once it has been applied (resp_pubsub.hpp).
  auto receivers = static_cast<int64_t>(ps.receivers(channel));
  auto rest = std::string_view{channel}.substr(cache_topic_prefix.size());
  caf::expected<size_t> r{size_t{0}};
  if (channel == tag_invalidated::topic) {
    r = node_.invalidate_tag(msg);
  } else if (channel == keys_invalidated::topic) {
    if (!check_key(msg))
      return;
    r = node_.invalidate(std::vector<std::string>{msg});
  } else if (channel == pattern_invalidated::topic) {
    r = node_.invalidate_pattern(msg);
  } else if (!rest.empty() && rest.front() == '!') {
    writer_.error("ERR cachebus: no event channel '" + channel.substr(0, 128)
                  + "' (cache:!tags, cache:!keys, cache:!patterns, "
                    "cache:<resource>)");
    return;
  } else {
    r = node_.publish_invalidation(std::string{rest}, msg);
  }
  if (!r) {
    reply_node_error(r.error());
    return;
  }
  writer_.integer(receivers);
}

} // namespace cachebus
