// What the sessions of one Redis-protocol server share beyond the client
// registry: the tracking table (resp_tracking.hpp) and the pub/sub registry
// (resp_pubsub.hpp), and their links to the node: the change listener that
// feeds the tracking table (node::on_change, registered by the first CLIENT
// TRACKING ON, so a server nobody tracks costs the cache nothing; once
// registered it stays until stop(), and each write of a new key costs one
// notification), and the relay that puts the node's applied invalidation
// events on the `cache:` channels (started with the services). Pushes go
// wherever attach() says (the server's broker; a test's own function).
//
// Lost notifications: the node's removal queue is bounded and drops when
// full (cachebus.max-queued-removals). The change listener compares the
// node's dropped counter on every notification it gets; a drop always
// leaves at least one notification queued behind it (the queue was full),
// so the listener sees the counter move no later than that notification,
// and then flushes every tracking client (resp_tracking::flush_all) before
// it goes on. No tracking client stays stale.
//
// Thread-safe. start() and stop() from a plain thread (stop() waits for a
// change listener call in progress), never from an actor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "caf/actor.hpp"

#include "cachebus/actors/resp/resp_clients.hpp"
#include "cachebus/actors/resp/resp_pubsub.hpp"
#include "cachebus/actors/resp/resp_push.hpp"
#include "cachebus/actors/resp/resp_tracking.hpp"

namespace cachebus {

class node;

class resp_services {
 public:
  /// REQUIRES: `n` outlives the services (or stop() was called).
  resp_services(node& n, std::shared_ptr<resp_clients> clients,
                size_t tracking_max_keys);

  /// Calls stop().
  ~resp_services();

  resp_services(const resp_services&) = delete;
  resp_services& operator=(const resp_services&) = delete;

  /// Starts the event relay of the `cache:` channels.
  void start();

  /// Pushes go to `fn` from now on (nullptr: nowhere).
  void attach(resp_push_fn fn);

  /// Registers the change listener unless it is (CLIENT TRACKING ON calls
  /// it before it turns tracking on); an error if the node refuses.
  caf::error need_changes();

  /// Unregisters the listener, stops the relay, detaches. Idempotent.
  void stop();

  resp_tracking& tracking() noexcept { return tracking_; }
  resp_pubsub& pubsub() noexcept { return *pubsub_; }
  resp_clients& clients() noexcept { return *clients_; }

 private:
  node& node_;
  std::shared_ptr<resp_clients> clients_;
  resp_tracking tracking_;
  std::shared_ptr<resp_pubsub> pubsub_;
  std::mutex mtx_;
  uint64_t listener_ = 0;
  caf::actor relay_;
  bool stopped_ = false;
};

} // namespace cachebus
