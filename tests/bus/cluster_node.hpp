// One node of an in-process test cluster: its own actor system with the
// middleman, a bus, a bridge on an ephemeral loopback port, and an inbox (a
// scoped actor subscribed to "cache:*") that records every event and
// peer_event reaching the bus. Several nodes in one process talk over real
// TCP on 127.0.0.1. The destructor stops the bridge and the bus before the
// actor system waits for its actors, so stopping a node is just destroying it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"

#include "cachebus/bus/bridge.hpp"
#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/peer_event.hpp"
#include "cachebus/bus/topic.hpp"
#include "cachebus/bus/transport.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::test {

using namespace std::chrono_literals;

/// The generous bound of every wait in the cluster tests.
constexpr auto cluster_patience = std::chrono::seconds(10);

struct node_config : caf::actor_system_config {
  node_config() {
    load<caf::io::middleman>();
    add_bus_types(*this);
    set("scheduler.max-threads", size_t{2});
    // The middleman's multiplexer runs in its own thread either way; extra
    // BASP workers buy nothing on 2 cores (0 and 1 both work).
    set("middleman.workers", size_t{0});
  }
};

/// Fast timing so that losses and reconnects happen within a test.
inline bridge_options fast_options(std::string node,
                                   std::vector<std::string> seeds = {}) {
  bridge_options opts;
  opts.node = std::move(node);
  opts.seeds = std::move(seeds);
  opts.heartbeat_interval = 100ms;
  opts.peer_timeout = 1s;
  opts.reconnect_initial = 50ms;
  opts.reconnect_max = 400ms;
  opts.connect_timeout = 2s;
  opts.reorder_timeout = 100ms;
  // These tests pin the gap detection itself (gaps reported as they are
  // found); replay_test.cpp turns replay on.
  opts.replay = false;
  return opts;
}

class cluster_node {
 public:
  /// `config`: the system's configuration (a node_config, or one derived
  /// from it, e.g. with TLS credentials).
  explicit cluster_node(std::string name, std::unique_ptr<node_config> config
                                          = std::make_unique<node_config>())
      : cfg(std::move(config)), sys(*cfg), name_(std::move(name)) {
    bus = spawn_bus(sys);
    inbox_.emplace(sys);
    bool subscribed = false;
    inbox()
      ->request(bus, cluster_patience, caf::subscribe_atom_v,
                std::string{"cache:*"})
      .receive([&](caf::ok_atom) { subscribed = true; }, [](caf::error&) {});
    REQUIRE(subscribed);
  }

  ~cluster_node() {
    if (bridge.actor) {
      inbox()->send_exit(bridge.actor, caf::exit_reason::user_shutdown);
      inbox()->wait_for(bridge.actor);
    }
    // As node::stop does: nothing the transport handed the middleman may
    // be left there when the actor system shuts down (transport.hpp).
    if (bridge.transport)
      bridge.transport->stop();
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    // A scoped actor counts as running: it must go before ~actor_system.
    inbox_.reset();
  }

  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  caf::expected<bridge_handle> start(bridge_options opts) {
    auto result = spawn_bridge(sys, bus, std::move(opts));
    if (result)
      bridge = *result;
    return result;
  }

  const std::string& name() const { return name_; }

  /// This node's address, for other nodes' seed lists.
  std::string address() const {
    return "127.0.0.1:" + std::to_string(bridge.port);
  }

  caf::scoped_actor& inbox() { return *inbox_; }

  /// Publishes an invalidation as this node's event source would: this
  /// node's origin, its next sequence, on the resource's topic.
  invalidated publish(std::string resource, std::string id) {
    invalidated ev{std::move(resource), std::move(id), 0, name_, next_seq_++};
    publish_raw(ev);
    return ev;
  }

  /// Publishes `ev` unchanged (any origin and sequence).
  void publish_raw(const invalidated& ev) {
    caf::anon_send(bus, caf::publish_atom_v, resource_topic(ev.resource),
                   caf::make_message(ev));
  }

  bridge_stats stats() {
    bridge_stats result;
    bool ok = false;
    inbox()
      ->request(bridge.actor, cluster_patience, bridge_stats_atom_v)
      .receive(
        [&](bridge_stats& x) {
          result = std::move(x);
          ok = true;
        },
        [](caf::error&) {});
    REQUIRE(ok);
    return result;
  }

  /// The stats row of `peer`, if the bridge knows it.
  std::optional<peer_stats> peer(const std::string& peer_name) {
    for (auto& row : stats().peers)
      if (row.name == peer_name)
        return row;
    return std::nullopt;
  }

  // -- the inbox --------------------------------------------------------------

  /// Everything the inbox received so far, in arrival order.
  const std::vector<caf::message>& log() const { return log_; }

  /// The index in log() of the first message at or after `from` that
  /// satisfies `pred`, waiting up to `wait` for it to arrive.
  std::optional<size_t>
  await(const std::function<bool(const caf::message&)>& pred, size_t from = 0,
        std::chrono::milliseconds wait = cluster_patience) {
    for (auto i = from; i < log_.size(); ++i)
      if (pred(log_[i]))
        return i;
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return std::nullopt;
      auto left
        = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      std::optional<caf::message> msg;
      inbox()->receive(
        caf::others >> [&](caf::message_view& x) -> caf::result<caf::message> {
          msg = x.copy_content_to_message();
          return caf::delegated<caf::message>{};
        },
        caf::after(left) >>
          [] {
            // nop
          });
      if (!msg)
        return std::nullopt;
      log_.push_back(std::move(*msg));
      if (log_.size() - 1 >= from && pred(log_.back()))
        return log_.size() - 1;
    }
  }

  /// Waits for a peer_event about `peer` of `kind`; returns its index.
  std::optional<size_t> await_peer(const std::string& peer,
                                   peer_event_kind kind, size_t from = 0) {
    return await(
      [&](const caf::message& msg) {
        if (!msg.match_elements<peer_event>())
          return false;
        auto& ev = msg.get_as<peer_event>(0);
        return ev.peer == peer && ev.kind == kind;
      },
      from);
  }

  /// Waits for the event of `origin` with `sequence`; returns its index.
  std::optional<size_t> await_event(const std::string& origin,
                                    uint64_t sequence, size_t from = 0) {
    return await(
      [&](const caf::message& msg) {
        if (!msg.match_elements<invalidated>())
          return false;
        auto& ev = msg.get_as<invalidated>(0);
        return ev.origin == origin && ev.sequence == sequence;
      },
      from);
  }

  const peer_event& peer_event_at(size_t index) const {
    return log_.at(index).get_as<peer_event>(0);
  }

  /// The sequences of `origin`'s events in the log, in arrival order.
  std::vector<uint64_t> sequences_of(const std::string& origin) const {
    std::vector<uint64_t> result;
    for (auto& msg : log_)
      if (msg.match_elements<invalidated>()
          && msg.get_as<invalidated>(0).origin == origin)
        result.push_back(msg.get_as<invalidated>(0).sequence);
    return result;
  }

  /// Names of the peers this bridge is in session with.
  std::vector<std::string> connected_peers() {
    std::vector<std::string> result;
    for (auto& p : stats().peers)
      if (p.state == peer_state::connected)
        result.push_back(p.name);
    return result;
  }

  /// How many peer events about `peer` of `kind` are in the log.
  size_t count_peer_events(const std::string& peer,
                           peer_event_kind kind) const {
    size_t result = 0;
    for (auto& msg : log_)
      if (msg.match_elements<peer_event>()
          && msg.get_as<peer_event>(0).peer == peer
          && msg.get_as<peer_event>(0).kind == kind)
        ++result;
    return result;
  }

  std::unique_ptr<node_config> cfg;
  caf::actor_system sys;
  bus_actor bus;
  bridge_handle bridge;

 private:
  std::string name_;
  uint64_t next_seq_ = 1;
  std::optional<caf::scoped_actor> inbox_;
  std::vector<caf::message> log_;
};

/// A node with a running bridge (the test fails if it cannot start).
inline std::unique_ptr<cluster_node> start_node(bridge_options opts) {
  auto node = std::make_unique<cluster_node>(opts.node);
  auto started = node->start(std::move(opts));
  INFO((started ? std::string{} : node->sys.render(started.error())));
  REQUIRE(started);
  REQUIRE(started->port != 0);
  return node;
}

inline std::vector<uint64_t> iota_sequences(uint64_t first, uint64_t last) {
  std::vector<uint64_t> result;
  for (auto i = first; i <= last; ++i)
    result.push_back(i);
  return result;
}

} // namespace cachebus::test
