// One node of an in-process test cluster at the actors layer: its own actor
// system (with the middleman), a node with the given rules and node loader,
// and, when `seeds` is given, a bridge on an ephemeral loopback port with fast
// timing (heartbeat 100 ms, peer timeout 1 s, reconnect 50-400 ms) so that
// losses and rejoins happen within a test. Destroying it stops the node, then
// the loader (a detached loader's thread ends only once its last handle is
// gone, and the system waits for that thread), then the system. An optional
// tweak changes the bridge options last.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

namespace cachebus::test {

struct cluster_member {
  using loader_factory = std::function<loader_actor(caf::actor_system&)>;
  using bridge_tweak = std::function<void(bridge_options&)>;

  std::string name;
  config cfg;
  std::unique_ptr<caf::actor_system> sys;
  loader_actor loader;
  std::unique_ptr<node> n;

  /// `seeds`: nullopt for a node outside any cluster, else the members to
  /// join through (empty: the first member). `make_loader` (optional) makes
  /// the node loader in the member's system.
  cluster_member(std::string node_name,
                 std::optional<std::vector<std::string>> seeds,
                 std::optional<rules> rs = std::nullopt,
                 loader_factory make_loader = {}, bridge_tweak tweak = {})
      : name(std::move(node_name)) {
    using namespace std::chrono_literals;
    cfg.set("middleman.workers", size_t{0});
    sys = std::make_unique<caf::actor_system>(cfg);
    if (make_loader)
      loader = make_loader(*sys);
    node_options opts;
    opts.name = name;
    opts.shards = 2;
    opts.lease_timeout = 30s;
    opts.request_timeout = 30s;
    node_setup setup;
    setup.rules = std::move(rs);
    setup.loader = loader;
    if (seeds) {
      bridge_options b;
      b.seeds = std::move(*seeds);
      b.heartbeat_interval = 100ms;
      b.peer_timeout = 1s;
      b.reconnect_initial = 50ms;
      b.reconnect_max = 400ms;
      if (tweak)
        tweak(b);
      setup.cluster = b;
    }
    auto started = node::start(*sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
  }

  ~cluster_member() {
    n.reset();
    if (loader)
      caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
    loader = nullptr;
    sys.reset();
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(n->cluster_port());
  }

  /// The node's single-flight counters.
  lock_stats locks() {
    caf::scoped_actor self{*sys};
    lock_stats out;
    self->request(n->lock_manager(), std::chrono::seconds(5), stats_atom_v)
      .receive([&](lock_stats& x) { out = x; },
               [](caf::error& err) { FAIL(describe(err)); });
    return out;
  }
};

} // namespace cachebus::test
