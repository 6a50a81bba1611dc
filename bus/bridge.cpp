// The bridge actor's assembly: its state set up, its behavior wired to the
// functions of bridge_dialer.cpp, bridge_sessions.cpp and
// bridge_forwarding.cpp (declared in bridge_internal.hpp), and spawn_bridge.
#include "cachebus/bus/bridge.hpp"

#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/middleman_actor.hpp"
#include "caf/message_view.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/sec.hpp"
#include "caf/send.hpp"
#include "caf/skip.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/system_messages.hpp"

#include "cachebus/bus/bridge_internal.hpp"
#include "cachebus/bus/bridge_state.hpp"
#include "cachebus/bus/event_handlers.hpp"
#include "cachebus/bus/peer_address.hpp"
#include "cachebus/bus/tls_credentials.hpp"
#include "cachebus/bus/topic.hpp"
#include "cachebus/bus/transport.hpp"
#include "cachebus/bus/type_ids.hpp"
#include "cachebus/bus/unexpected_messages.hpp"

namespace cachebus {

namespace bridge_detail {

namespace {

uint64_t new_incarnation() {
  std::random_device rd;
  std::mt19937_64 gen{
    (uint64_t{rd()} << 32) ^ rd()
    ^ static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count())};
  uint64_t result = 0;
  while (result == 0)
    result = gen();
  return result;
}

bridge_stats stats_of(const bridge_state& st) {
  auto result = st.counters;
  result.node = st.opts.node;
  result.incarnation = st.incarnation;
  result.port = st.peers.self().port;
  result.peers = st.peers.stats();
  result.log_events = st.log.size();
  result.log_bytes = st.log.bytes();
  result.log_first = st.log.first();
  result.log_trimmed = st.log.trimmed();
  for (auto& sd : st.seeds)
    result.seeds.push_back({to_string(sd.address), sd.resolved, sd.refused,
                            sd.resolved ? std::string{} : sd.last_error});
  return result;
}

/// The behavior after the start signal: one handler per message of
/// bridge_impl_actor (CAF checks the set against the type).
bridge_impl_actor::behavior_type running(bridge_pointer self) {
  return with_const_event_handlers<bridge_impl_actor::behavior_type>(
    // From the local bus (anonymous deliveries of "cache:*"), every kind.
    [=](const auto& ev) { on_local(self, ev.origin, ev.sequence); },
    // From peers' bridges.
    [=](bridge_hello_atom, const bridge_handshake& h)
      -> caf::result<bridge_handshake> { return on_hello(self, h); },
    [=](bridge_event_atom, const caf::message& ev) { on_remote(self, ev); },
    [=](bridge_beat_atom, uint64_t next) { on_beat(self, next); },
    [=](bridge_members_atom, const std::vector<bridge_member>& list) {
      on_members(self, list);
    },
    [=](bridge_replay_atom,
        const replay_request& r) -> caf::result<replay_batch> {
      if (!self->current_message_id().is_request())
        return caf::delegated<replay_batch>{};
      return on_replay_request(self, r);
    },
    // The start signal again: spawn_bridge sends it once, so this never
    // runs (before, the default handler dropped it just the same).
    [=](bridge_start_atom, uint16_t) {
      // nop
    },
    // Timers.
    [=](bridge_tick_atom) { on_tick(self); },
    [=](bridge_dial_atom, const std::string& name, uint64_t attempt) {
      on_dial_timer(self, name, attempt);
    },
    [=](bridge_dial_atom, uint64_t index, uint64_t attempt) {
      on_seed_timer(self, index, attempt);
    },
    [=](bridge_reorder_atom, uint64_t awaited) {
      on_reorder_timer(self, awaited);
    },
    [=](bridge_replay_timeout_atom, const std::string& name, uint64_t run) {
      on_replay_timeout(self, name, run);
    },
    [=](bridge_gone_atom, const std::string& name, uint64_t session) {
      on_gone_timer(self, name, session);
    },
    [=](bridge_pump_atom, const std::string& name) { on_pump(self, name); },
    // Local queries.
    [=](bridge_stats_atom) -> caf::result<bridge_stats> {
      if (!self->current_message_id().is_request())
        return caf::delegated<bridge_stats>{};
      return stats_of(self->state);
    });
}

bridge_impl_actor::behavior_type bridge_impl(bridge_pointer self, bus_actor bus,
                                             bridge_options opts,
                                             std::vector<peer_address> seeds) {
  auto& st = self->state;
  st.bus = std::move(bus);
  // Dials go through the transport the bridge was published with
  // (spawn_bridge); the final unpublish through CAF's middleman actor (the
  // BASP broker owns the port either way).
  st.mm = opts.transport->actor();
  st.incarnation = new_incarnation();
  st.peers = peer_directory{
    opts.node, opts.advertised_host.empty() ? opts.host : opts.advertised_host,
    opts.reconnect_initial, opts.reconnect_max};
  st.outbound = reorder_buffer{opts.first_sequence};
  st.log = origin_log{st.incarnation,
                      {opts.replay_log_events, opts.replay_log_bytes},
                      opts.first_sequence};
  for (auto& addr : seeds) {
    auto& s = st.seeds.emplace_back();
    s.address = std::move(addr);
    s.backoff = opts.reconnect_initial;
  }
  st.opts = std::move(opts);
  // Without its bus the bridge has nothing to do; stop with it.
  self->monitor(st.bus);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.bus.address()) {
      self->quit(dm.reason);
      return;
    }
    on_bridge_down(self, dm);
  });
  // A stray error (say, from a peer of another version) must not stop the
  // bridge; our own requests carry their own error handlers.
  self->set_error_handler([](caf::error&) {
    // nop
  });
  // Until it knows its port it cannot introduce itself: keep everything
  // (bus events included) in the mailbox until the start signal. A typed
  // behavior must handle its whole interface, so this one, which handles
  // the start signal only, is built unchecked (unsafe_init); running() is
  // the checked one.
  self->set_default_handler(caf::skip);
  using behavior_type = bridge_impl_actor::behavior_type;
  return behavior_type{
    behavior_type::unsafe_init{},
    caf::behavior{[=](bridge_start_atom, uint16_t port) {
      auto& st = self->state;
      st.peers.set_port(port);
      self->attach_functor([mm = self->system().middleman().actor_handle(),
                            addr = self->address(), port](const caf::error&) {
        // Close the port so that redialing peers fail fast.
        caf::anon_send(mm, caf::unpublish_atom_v, addr, port);
      });
      self->set_default_handler(refuse_unexpected);
      self->become(running(self));
      self->delayed_send(self, st.opts.heartbeat_interval,
                         bridge_tick_atom::value);
      for (size_t i = 0; i < st.seeds.size(); ++i)
        start_seed(self, i);
    }}};
}

} // namespace

} // namespace bridge_detail

caf::expected<bridge_handle>
spawn_bridge(caf::actor_system& sys, bus_actor local_bus, bridge_options opts) {
  using namespace bridge_detail;
  if (auto err = check_bridge_options(opts))
    return err;
  if (!local_bus)
    return refusal("bridge: no local bus");
  if (!sys.has_middleman())
    return refusal("bridge: the actor system has no middleman; load "
                   "caf::io::middleman in its config");
  auto tls = opts.tls;
  if (tls && !sys.has_openssl_manager())
    return refusal("bridge: TLS needs CAF's OpenSSL module; load "
                   "caf::openssl::manager in the actor system's config");
  if (!opts.transport) {
    transport_options topts;
    if (tls) {
      auto ctx = tls_context::load(tls_credentials_of(sys.config()));
      if (!ctx)
        return std::move(ctx.error());
      topts.tls = std::move(*ctx);
    }
    auto tr = transport::start(sys, std::move(topts));
    if (!tr)
      return std::move(tr.error());
    opts.transport = std::move(*tr);
  } else if (tls && !opts.transport->tls()) {
    return refusal("bridge: TLS needs a transport with TLS credentials");
  }
  auto tr = opts.transport;
  std::vector<peer_address> seeds;
  for (auto& seed : opts.seeds)
    seeds.push_back(*parse_peer_address(seed)); // checked above
  auto host = opts.host;
  auto port = opts.port;
  auto timeout = opts.connect_timeout;
  auto impl
    = opts.hidden
        ? sys.spawn<caf::hidden>(bridge_impl, local_bus, std::move(opts),
                                 std::move(seeds))
        : sys.spawn(bridge_impl, local_bus, std::move(opts), std::move(seeds));
  // The handle users get: the public interface only.
  bridge_actor bridge = impl;
  auto fail = [&](caf::error err) -> caf::expected<bridge_handle> {
    caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
    return err;
  };
  // Subscribed before anything else happens: every own event published
  // after spawn_bridge returns is forwarded.
  caf::error sub_err;
  {
    caf::scoped_actor self{sys};
    self
      ->request(local_bus, timeout, caf::subscribe_atom_v,
                std::string{cache_topic_prefix} + "*",
                caf::actor_cast<caf::strong_actor_ptr>(bridge))
      .receive([](caf::ok_atom) {}, [&](caf::error& err) { sub_err = err; });
  }
  if (sub_err)
    return fail(refusal("bridge: cannot subscribe to the local bus: "
                        + sys.render(sub_err)));
  // SO_REUSEADDR: a restarted node may rebind its fixed port while the old
  // connections linger in TIME_WAIT.
  // Published untyped, as before the bridge had a type: the handshake that
  // CAF's middleman sends every connecting node carries no interface, and
  // peers (which never check it) see the same bytes as from older nodes.
  auto bound
    = tr->publish(caf::actor_cast<caf::actor>(bridge), port, host, true);
  if (!bound)
    return fail(caf::make_error(
      caf::sec::cannot_open_port,
      "bridge cannot listen on " + host + ":" + std::to_string(port)
        + (tls ? " (TLS): " : ": ") + sys.render(bound.error())));
  caf::anon_send(impl, bridge_start_atom::value, *bound);
  return bridge_handle{bridge, *bound, std::move(tr)};
}

} // namespace cachebus
