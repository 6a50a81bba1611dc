// The pub/sub registry of one Redis-protocol server: which connection is
// subscribed to which channel (SUBSCRIBE) and pattern (PSUBSCRIBE), and the
// fan-out of a message to them (PUBLISH, and the node's invalidation
// events on `cache:` channels, which resp_event_relay publishes here).
// Patterns are the node's globs (`*`, `?`, `\`; glob.hpp), not Redis's
// `[...]` classes. Thread-safe (one mutex); messages are handed to a
// resp_push_fn outside it. Each connection may hold at most
// max_subscriptions channels and patterns together, each of at most
// max_name_bytes (the session refuses longer ones): a client cannot make the
// registry grow without bound.
//
// Channels that carry the node's invalidation events (the bus's topics,
// bus/events.hpp), after the event has been applied to this node's cache,
// whichever node it came from:
//   cache:<resource>  the id of each `invalidated` event (the seed's
//                     {:cache_invalidated, resource, id})
//   cache:!tags       each invalidated tag
//   cache:!keys       each key of a multi-key invalidation
//   cache:!patterns   each invalidated glob
// Every other channel is plain pub/sub among this node's RESP connections.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "caf/fwd.hpp"

#include "cachebus/actors/resp/resp_push.hpp"

namespace cachebus {

class resp_pubsub {
 public:
  static constexpr size_t max_subscriptions = 65536;
  /// The longest channel or pattern a connection may subscribe to.
  static constexpr size_t max_name_bytes = 4096;

  resp_pubsub() = default;
  resp_pubsub(const resp_pubsub&) = delete;
  resp_pubsub& operator=(const resp_pubsub&) = delete;

  /// Where messages go from now on (nullptr: nowhere).
  void set_push(resp_push_fn fn);

  /// Adds `channel` (or a pattern) for `client`; false if it already had
  /// max_subscriptions (nothing changes). Idempotent.
  bool subscribe(uint64_t client, const std::string& channel, bool pattern);

  /// Removes it (no-op if absent).
  void unsubscribe(uint64_t client, const std::string& channel, bool pattern);

  /// Removes every subscription of `client` (its connection closed).
  void remove(uint64_t client);

  /// Sends `payload` to every subscriber of `channel` (once per matching
  /// channel or pattern subscription, as Redis does); returns how many
  /// messages it sent.
  size_t publish(const std::string& channel, const std::string& payload);

  /// How many messages publish(channel, ...) would send now.
  size_t receivers(const std::string& channel) const;

 private:
  mutable std::mutex mtx_;
  resp_push_fn push_;
  std::map<std::string, std::set<uint64_t>, std::less<>> channels_;
  std::map<std::string, std::set<uint64_t>, std::less<>> patterns_;
  std::map<uint64_t, size_t> counts_;
};

/// Spawns the actor that turns the node's applied invalidation events into
/// messages on the `cache:` channels of `ps` (register it with the node's
/// invalidation listener: observe(actor, true)). Stop it with an exit
/// message.
caf::actor spawn_resp_event_relay(caf::actor_system& sys,
                                  std::shared_ptr<resp_pubsub> ps);

} // namespace cachebus
