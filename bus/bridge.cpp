#include "cachebus/bus/bridge.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
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

#include "cachebus/bus/event_handlers.hpp"
#include "cachebus/bus/event_route.hpp"
#include "cachebus/bus/peer_address.hpp"
#include "cachebus/bus/reorder_buffer.hpp"
#include "cachebus/bus/sequence_tracker.hpp"
#include "cachebus/bus/tls_credentials.hpp"
#include "cachebus/bus/topic.hpp"
#include "cachebus/bus/transport.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus {

namespace {

using steady = std::chrono::steady_clock;

// Private to one bridge (never on the wire): its start signal and timers.
using bridge_start_atom = caf::atom_constant<caf::atom("br_start")>;
using bridge_tick_atom = caf::atom_constant<caf::atom("br_tick")>;
using bridge_dial_atom = caf::atom_constant<caf::atom("br_dial")>;
using bridge_reorder_atom = caf::atom_constant<caf::atom("br_reorder")>;

// -- state --------------------------------------------------------------------

struct peer_record {
  std::string name;
  std::string host;
  uint16_t port = 0;
  peer_state state = peer_state::connecting;
  uint64_t incarnation = 0;
  /// Its bridge in the current or last session. Kept after a loss so that a
  /// heartbeat from a peer we gave up on is recognized (and redialed at once).
  caf::actor handle;
  /// What it advertised for direct talk in its last handshake.
  caf::actor endpoint;
  sequence_tracker inbound;
  bool ever_connected = false;
  steady::time_point last_heard;
  caf::timespan backoff{0};
  /// Identifies the current dial attempt or dial timer; anything carrying an
  /// older number is stale and ignored.
  uint64_t attempt = 0;
  bool dialing = false;
  uint64_t events_in = 0;
  std::string last_error;
};

struct seed_record {
  peer_address address;
  caf::timespan backoff{0};
  uint64_t attempt = 0;
  /// Reached once: from then on the member is dialed by name.
  bool resolved = false;
  bool refused = false;
  std::string last_error;
};

/// What a dial is for: a seed (by index) or a named member.
struct dial_target {
  std::optional<size_t> seed;
  std::string name;
  uint64_t attempt = 0;
};

struct bridge_state {
  bridge_options opts;
  bus_actor bus;
  /// Dials go through the middleman actor of opts.transport.
  caf::io::middleman_actor mm;
  uint64_t incarnation = 0;
  uint16_t port = 0;
  std::string advertised_host;
  std::map<std::string, peer_record> peers;
  std::map<caf::actor_addr, std::string> by_handle;
  std::set<caf::actor_addr> monitored;
  /// Bridges we sent a hello and await the reply from, with the number of
  /// such hellos in flight. We forward own events to them already: the
  /// responder starts tracking at our hello's next_sequence, so anything we
  /// published while the reply travels must follow the hello.
  std::map<caf::actor_addr, std::pair<caf::actor, int>> handshaking;
  std::vector<seed_record> seeds;
  reorder_buffer outbound;
  /// The sequence a pending reorder timer waits for, if one is pending.
  std::optional<uint64_t> reorder_armed;
  /// Scratch buffer for events the reorder buffer releases.
  std::vector<caf::message> ready;
  bridge_stats counters;
  static inline const char* name = "cachebus.bridge";
};

using bridge_pointer = caf::stateful_actor<bridge_state>*;

// -- helpers ------------------------------------------------------------------

caf::error refusal(std::string reason) {
  return caf::make_error(caf::sec::invalid_argument, std::move(reason));
}

std::string ms(caf::timespan x) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(x).count())
         + " ms";
}

/// The refusals we make carry one readable sentence; other errors (CAF's)
/// read best through the system's renderer.
std::string describe(bridge_pointer self, const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return self->system().render(err);
}

uint64_t new_incarnation() {
  std::random_device rd;
  std::mt19937_64 gen{
    (uint64_t{rd()} << 32) ^ rd()
    ^ static_cast<uint64_t>(steady::now().time_since_epoch().count())};
  uint64_t result = 0;
  while (result == 0)
    result = gen();
  return result;
}

void publish_peer_event(bridge_pointer self, std::string peer,
                        peer_event_kind kind, uint64_t last_sequence,
                        uint64_t incarnation, std::string reason,
                        caf::actor endpoint = {}, uint64_t resumes_after = 0) {
  caf::anon_send(self->state.bus, caf::publish_atom_v, std::string{peers_topic},
                 caf::make_message(peer_event{
                   std::move(peer), kind, last_sequence, incarnation,
                   std::move(reason), std::move(endpoint), resumes_after}));
}

/// This node and every peer in session: what newcomers should dial.
std::vector<bridge_member> members(bridge_pointer self) {
  auto& st = self->state;
  std::vector<bridge_member> result;
  result.push_back({st.opts.node, st.advertised_host, st.port});
  for (auto& [name, p] : st.peers)
    if (p.state == peer_state::connected)
      result.push_back({name, p.host, p.port});
  return result;
}

bridge_handshake make_handshake(bridge_pointer self) {
  auto& st = self->state;
  return {bridge_protocol_version, st.opts.node,    st.incarnation,
          st.advertised_host,      st.port,         st.outbound.next(),
          members(self),           st.opts.endpoint};
}

void broadcast_members(bridge_pointer self) {
  auto list = members(self);
  for (auto& [name, p] : self->state.peers)
    if (p.state == peer_state::connected)
      self->send(p.handle, bridge_members_atom_v, list);
}

/// The peer whose bridge sent the current message, if we know it.
peer_record* sender_peer(bridge_pointer self) {
  auto& st = self->state;
  auto addr = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto i = st.by_handle.find(addr);
  if (i == st.by_handle.end())
    return nullptr;
  auto j = st.peers.find(i->second);
  return j != st.peers.end() ? &j->second : nullptr;
}

// -- dialing ------------------------------------------------------------------

caf::error accept(bridge_pointer self, const bridge_handshake& h,
                  const caf::actor& handle);

void learn(bridge_pointer self, const std::vector<bridge_member>& list);

void schedule_dial(bridge_pointer self, peer_record& p) {
  auto& st = self->state;
  ++p.attempt;
  p.dialing = false;
  self->delayed_send(self, p.backoff, bridge_dial_atom::value, p.name,
                     p.attempt);
  p.backoff = std::min(p.backoff * 2, st.opts.reconnect_max);
}

void schedule_seed(bridge_pointer self, size_t index) {
  auto& st = self->state;
  auto& s = st.seeds[index];
  ++s.attempt;
  self->delayed_send(self, s.backoff, bridge_dial_atom::value,
                     static_cast<uint64_t>(index), s.attempt);
  s.backoff = std::min(s.backoff * 2, st.opts.reconnect_max);
}

void dial_failed(bridge_pointer self, const dial_target& t,
                 const caf::error& err) {
  auto& st = self->state;
  // Only the peer's deliberate refusal is invalid_argument; everything else
  // (cannot connect, timeout, not a bridge) may pass with time.
  auto refused = err == caf::sec::invalid_argument;
  auto text = describe(self, err);
  if (t.seed) {
    auto& s = st.seeds[*t.seed];
    if (s.resolved || s.attempt != t.attempt)
      return;
    s.last_error = text;
    if (refused && !s.refused)
      publish_peer_event(self, to_string(s.address), peer_event_kind::refused,
                         0, 0, text);
    s.refused = refused;
    schedule_seed(self, *t.seed);
    return;
  }
  auto i = st.peers.find(t.name);
  if (i == st.peers.end())
    return;
  auto& p = i->second;
  if (p.attempt != t.attempt || p.state == peer_state::connected)
    return;
  p.last_error = text;
  if (refused) {
    if (p.state != peer_state::refused)
      publish_peer_event(self, p.name, peer_event_kind::refused,
                         p.inbound.last(), p.incarnation, text);
    p.state = peer_state::refused;
  } else {
    p.state = p.ever_connected ? peer_state::down : peer_state::connecting;
  }
  schedule_dial(self, p);
}

void dial_succeeded(bridge_pointer self, const dial_target& t,
                    const caf::actor& handle, const bridge_handshake& h) {
  auto& st = self->state;
  if (auto err = accept(self, h, handle)) {
    dial_failed(self, t, err);
    return;
  }
  if (t.seed) {
    auto& s = st.seeds[*t.seed];
    s.resolved = true;
    s.last_error.clear();
  } else if (t.name != h.name) {
    // The address now belongs to another node; keep looking for ours.
    dial_failed(
      self, t,
      caf::make_error(caf::sec::cannot_connect_to_node,
                      "its address is now held by node \"" + h.name + "\""));
  }
}

/// Connects to host:port through the middleman and shakes hands, without
/// blocking: every step is a request with a timeout.
void dial(bridge_pointer self, dial_target t, const std::string& host,
          uint16_t port) {
  auto timeout = self->state.opts.connect_timeout;
  self->request(self->state.mm, timeout, caf::connect_atom_v, host, port)
    .then(
      [=](const caf::node_id& nid, caf::strong_actor_ptr& ptr,
          const std::set<std::string>&) {
        if (nid == self->node()) {
          // A seed list often names the node itself: nothing to join.
          if (t.seed && self->state.seeds[*t.seed].attempt == t.attempt)
            self->state.seeds[*t.seed].resolved = true;
          else
            dial_failed(self, t,
                        caf::make_error(caf::sec::cannot_connect_to_node,
                                        "the address is this node's own"));
          return;
        }
        if (!ptr) {
          dial_failed(self, t,
                      caf::make_error(caf::sec::no_actor_published_at_port,
                                      "no bridge listens there"));
          return;
        }
        auto peer = caf::actor_cast<caf::actor>(std::move(ptr));
        auto& entry = self->state.handshaking[peer.address()];
        entry.first = peer;
        ++entry.second;
        auto done = [=] {
          auto i = self->state.handshaking.find(peer.address());
          if (i != self->state.handshaking.end() && --i->second.second == 0)
            self->state.handshaking.erase(i);
        };
        self->request(peer, timeout, bridge_hello_atom_v, make_handshake(self))
          .then(
            [=](const bridge_handshake& h) {
              done();
              dial_succeeded(self, t, peer, h);
            },
            [=](caf::error& err) {
              done();
              dial_failed(self, t, err);
            });
      },
      [=](caf::error& err) { dial_failed(self, t, err); });
}

void start_dial(bridge_pointer self, peer_record& p) {
  ++p.attempt;
  p.dialing = true;
  if (p.state == peer_state::down)
    p.state = peer_state::reconnecting;
  dial(self, dial_target{std::nullopt, p.name, p.attempt}, p.host, p.port);
}

void start_seed(bridge_pointer self, size_t index) {
  auto& s = self->state.seeds[index];
  ++s.attempt;
  dial(self, dial_target{index, {}, s.attempt}, s.address.host, s.address.port);
}

// -- sessions -----------------------------------------------------------------

/// Starts (or confirms) a session with the peer that sent `h` from `handle`.
/// Refuses, changing nothing, when the name cannot be ours to accept.
caf::error accept(bridge_pointer self, const bridge_handshake& h,
                  const caf::actor& handle) {
  auto& st = self->state;
  if (h.protocol != bridge_protocol_version)
    return refusal("bridge protocol " + std::to_string(h.protocol)
                   + " is not this node's "
                   + std::to_string(bridge_protocol_version));
  if (auto err = check_node_name(h.name))
    return err;
  if (h.name == st.opts.node)
    return refusal("node name \"" + h.name
                   + "\" is already taken: it is the name of the node at "
                   + st.advertised_host + ":" + std::to_string(st.port)
                   + "; every node needs a unique name");
  if (h.incarnation == 0 || h.port == 0 || h.host.empty())
    return refusal("handshake of \"" + h.name
                   + "\" lacks an incarnation or an address");
  if (!handle)
    return refusal("handshake of \"" + h.name + "\" came from nobody");
  auto i = st.peers.find(h.name);
  if (i != st.peers.end() && i->second.state == peer_state::connected
      && i->second.handle != handle)
    return refusal("node name \"" + h.name
                   + "\" is already taken by a connected node at "
                   + i->second.host + ":" + std::to_string(i->second.port)
                   + "; every node needs a unique name");
  if (i == st.peers.end()) {
    i = st.peers.emplace(h.name, peer_record{}).first;
    i->second.name = h.name;
  }
  auto& p = i->second;
  auto same_session = p.state == peer_state::connected && p.handle == handle
                      && p.incarnation == h.incarnation;
  auto previous_last = p.inbound.last();
  auto was_known = p.ever_connected;
  p.host = h.host;
  p.port = h.port;
  if (p.handle != handle) {
    if (p.handle)
      st.by_handle.erase(p.handle.address());
    p.handle = handle;
  }
  st.by_handle[handle.address()] = h.name;
  // Monitoring twice yields two down messages; once per remote bridge.
  if (st.monitored.insert(handle.address()).second)
    self->monitor(handle);
  if (!same_session) {
    p.inbound.reset(h.next_sequence);
  } else if (p.inbound.sent_up_to(h.next_sequence)) {
    // A repeated handshake within a session (a redial it made while we
    // were slow, or both sides dialing at once): everything it forwarded
    // reached us in order on one connection, so a higher position means it
    // stopped forwarding to us for a while.
    ++st.counters.gaps_detected;
    publish_peer_event(self, p.name, peer_event_kind::gap, previous_last,
                       h.incarnation,
                       "repeated handshake: peer is at sequence "
                         + std::to_string(h.next_sequence) + ", last received "
                         + std::to_string(previous_last));
  }
  p.state = peer_state::connected;
  p.incarnation = h.incarnation;
  p.endpoint = h.endpoint;
  p.ever_connected = true;
  p.last_heard = steady::now();
  p.backoff = st.opts.reconnect_initial;
  ++p.attempt; // cancels pending dial timers and outcomes
  p.dialing = false;
  p.last_error.clear();
  if (!same_session) {
    if (was_known)
      publish_peer_event(self, p.name, peer_event_kind::rejoined, previous_last,
                         h.incarnation,
                         "new session; tracking restarts at sequence "
                           + std::to_string(h.next_sequence),
                         p.endpoint, h.next_sequence - 1);
    else
      publish_peer_event(self, p.name, peer_event_kind::joined,
                         h.next_sequence - 1, h.incarnation, {}, p.endpoint,
                         h.next_sequence - 1);
    broadcast_members(self);
  }
  learn(self, h.members);
  return {};
}

/// Dials every member of `list` this bridge is not in session with.
void learn(bridge_pointer self, const std::vector<bridge_member>& list) {
  auto& st = self->state;
  for (auto& m : list) {
    if (m.name == st.opts.node || check_node_name(m.name) || m.port == 0
        || m.host.empty())
      continue;
    auto i = st.peers.find(m.name);
    if (i == st.peers.end()) {
      auto& p = st.peers[m.name];
      p.name = m.name;
      p.host = m.host;
      p.port = m.port;
      p.backoff = st.opts.reconnect_initial;
      start_dial(self, p);
      continue;
    }
    auto& p = i->second;
    if (p.state == peer_state::connected)
      continue;
    // A peer in session with it has its current address: try there now.
    p.host = m.host;
    p.port = m.port;
    if (!p.dialing)
      start_dial(self, p);
  }
}

void lose(bridge_pointer self, peer_record& p, std::string reason) {
  auto& st = self->state;
  p.state = peer_state::down;
  p.last_error = reason;
  publish_peer_event(self, p.name, peer_event_kind::lost, p.inbound.last(),
                     p.incarnation, std::move(reason));
  p.backoff = st.opts.reconnect_initial;
  schedule_dial(self, p);
}

// -- events -------------------------------------------------------------------

/// True if `addr` is the bridge of a peer in session.
bool in_session(bridge_pointer self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto i = st.by_handle.find(addr);
  if (i == st.by_handle.end())
    return false;
  auto& p = st.peers[i->second];
  return p.state == peer_state::connected && p.handle.address() == addr;
}

void forward(bridge_pointer self, const caf::message& ev) {
  auto& st = self->state;
  for (auto& [name, p] : st.peers)
    if (p.state == peer_state::connected)
      self->send(p.handle, bridge_event_atom_v, ev);
  for (auto& [addr, entry] : st.handshaking)
    if (!in_session(self, addr))
      self->send(entry.first, bridge_event_atom_v, ev);
  ++st.counters.events_out;
}

void arm_reorder_timer(bridge_pointer self) {
  auto& st = self->state;
  if (!st.outbound.holding() || st.reorder_armed == st.outbound.next())
    return;
  st.reorder_armed = st.outbound.next();
  self->delayed_send(self, st.opts.reorder_timeout, bridge_reorder_atom::value,
                     st.outbound.next());
}

/// An event from the local bus: forward it if this node originated it.
void on_local(bridge_pointer self, const std::string& origin,
              uint64_t sequence) {
  auto& st = self->state;
  // Peers' events come back from the bus after we publish them: never
  // forward those (full mesh, no relaying, no loops).
  if (origin != st.opts.node)
    return;
  auto ev = self->current_mailbox_element()->copy_content_to_message();
  if (sequence == 0) {
    forward(self, ev);
    return;
  }
  st.ready.clear();
  st.outbound.push(sequence, std::move(ev), st.ready);
  for (auto& x : st.ready)
    forward(self, x);
  st.ready.clear();
  arm_reorder_timer(self);
}

/// An event from a peer's bridge.
void on_remote(bridge_pointer self, const caf::message& ev) {
  auto& st = self->state;
  auto* p = sender_peer(self);
  if (!p || p->state != peer_state::connected) {
    ++st.counters.rejected;
    return;
  }
  p->last_heard = steady::now();
  auto route = route_of(ev);
  if (!route || route->origin != p->name || route->topic == peers_topic
      || check_topic(route->topic)) {
    ++st.counters.rejected;
    return;
  }
  if (route->sequence != 0) {
    auto last = p->inbound.last();
    switch (p->inbound.observe(route->sequence)) {
    case sequence_tracker::verdict::duplicate:
      ++st.counters.duplicates_dropped;
      return;
    case sequence_tracker::verdict::gap:
      ++st.counters.gaps_detected;
      publish_peer_event(self, p->name, peer_event_kind::gap, last,
                         p->incarnation,
                         "expected sequence " + std::to_string(last + 1)
                           + ", got " + std::to_string(route->sequence));
      break;
    case sequence_tracker::verdict::in_order:
      break;
    }
  }
  caf::anon_send(st.bus, caf::publish_atom_v, std::move(route->topic), ev);
  ++st.counters.events_in;
  ++p->events_in;
}

// -- behavior -----------------------------------------------------------------

caf::behavior running(bridge_pointer self) {
  return with_const_event_handlers<caf::behavior>(
    // From the local bus (anonymous deliveries of "cache:*"), every kind.
    [=](const auto& ev) { on_local(self, ev.origin, ev.sequence); },
    // From peers' bridges.
    [=](bridge_hello_atom,
        const bridge_handshake& h) -> caf::result<bridge_handshake> {
      if (!self->current_message_id().is_request())
        return caf::delegated<bridge_handshake>{};
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (auto err = accept(self, h, sender))
        return err;
      return make_handshake(self);
    },
    [=](bridge_event_atom, const caf::message& ev) { on_remote(self, ev); },
    [=](bridge_beat_atom, uint64_t next) {
      auto* p = sender_peer(self);
      if (!p)
        return;
      if (p->state != peer_state::connected) {
        // Alive after all (we gave up on it while it was slow): reconnect
        // now instead of after the backoff.
        if (!p->dialing)
          start_dial(self, *p);
        return;
      }
      p->last_heard = steady::now();
      auto last = p->inbound.last();
      if (p->inbound.sent_up_to(next)) {
        ++self->state.counters.gaps_detected;
        publish_peer_event(
          self, p->name, peer_event_kind::gap, last, p->incarnation,
          "heartbeat: peer sent up to sequence " + std::to_string(next - 1)
            + ", last received " + std::to_string(last));
      }
    },
    [=](bridge_members_atom, const std::vector<bridge_member>& list) {
      if (auto* p = sender_peer(self); p && p->state == peer_state::connected)
        p->last_heard = steady::now();
      learn(self, list);
    },
    // Timers.
    [=](bridge_tick_atom) {
      auto& st = self->state;
      self->delayed_send(self, st.opts.heartbeat_interval,
                         bridge_tick_atom::value);
      auto now = steady::now();
      for (auto& [name, p] : st.peers) {
        if (p.state != peer_state::connected)
          continue;
        if (now - p.last_heard > st.opts.peer_timeout)
          lose(self, p,
               "nothing arrived for more than " + ms(st.opts.peer_timeout)
                 + " (peer timeout)");
        else
          self->send(p.handle, bridge_beat_atom_v, st.outbound.next());
      }
    },
    [=](bridge_dial_atom, const std::string& name, uint64_t attempt) {
      auto& st = self->state;
      auto i = st.peers.find(name);
      if (i == st.peers.end() || i->second.attempt != attempt
          || i->second.state == peer_state::connected)
        return;
      start_dial(self, i->second);
    },
    [=](bridge_dial_atom, uint64_t index, uint64_t attempt) {
      auto& st = self->state;
      if (index >= st.seeds.size() || st.seeds[index].resolved
          || st.seeds[index].attempt != attempt)
        return;
      start_seed(self, index);
    },
    [=](bridge_reorder_atom, uint64_t awaited) {
      auto& st = self->state;
      if (st.reorder_armed != awaited)
        return;
      st.reorder_armed.reset();
      if (!st.outbound.holding() || st.outbound.next() != awaited)
        return arm_reorder_timer(self);
      st.ready.clear();
      st.counters.own_sequences_skipped += st.outbound.skip(st.ready);
      for (auto& x : st.ready)
        forward(self, x);
      st.ready.clear();
      arm_reorder_timer(self);
    },
    // Local queries.
    [=](bridge_stats_atom) -> caf::result<bridge_stats> {
      if (!self->current_message_id().is_request())
        return caf::delegated<bridge_stats>{};
      auto& st = self->state;
      auto result = st.counters;
      result.node = st.opts.node;
      result.incarnation = st.incarnation;
      result.port = st.port;
      for (auto& [name, p] : st.peers)
        result.peers.push_back({name, p.host, p.port, p.state, p.incarnation,
                                p.inbound.last(), p.events_in, p.last_error});
      for (auto& sd : st.seeds)
        result.seeds.push_back({to_string(sd.address), sd.resolved, sd.refused,
                                sd.resolved ? std::string{} : sd.last_error});
      return result;
    });
}

caf::behavior bridge_impl(bridge_pointer self, bus_actor bus,
                          bridge_options opts,
                          std::vector<peer_address> seeds) {
  auto& st = self->state;
  st.bus = std::move(bus);
  // Dials go through the transport the bridge was published with
  // (spawn_bridge); the final unpublish through CAF's middleman actor (the
  // BASP broker owns the port either way).
  st.mm = opts.transport->actor();
  st.incarnation = new_incarnation();
  st.advertised_host
    = opts.advertised_host.empty() ? opts.host : opts.advertised_host;
  st.outbound = reorder_buffer{opts.first_sequence};
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
    st.monitored.erase(dm.source);
    auto i = st.by_handle.find(dm.source);
    if (i == st.by_handle.end())
      return;
    auto name = std::move(i->second);
    st.by_handle.erase(i);
    auto& p = st.peers[name];
    if (p.handle.address() == dm.source)
      p.handle = nullptr;
    if (p.state == peer_state::connected)
      lose(self, p, "its bridge is down: " + describe(self, dm.reason));
  });
  // A stray error (say, from a peer of another version) must not stop the
  // bridge; our own requests carry their own error handlers.
  self->set_error_handler([](caf::error&) {
    // nop
  });
  // Until it knows its port it cannot introduce itself: keep everything
  // (bus events included) in the mailbox until the start signal.
  self->set_default_handler(caf::skip);
  return {
    [=](bridge_start_atom, uint16_t port) {
      auto& st = self->state;
      st.port = port;
      self->attach_functor([mm = self->system().middleman().actor_handle(),
                            addr = self->address(), port](const caf::error&) {
        // Close the port so that redialing peers fail fast.
        caf::anon_send(mm, caf::unpublish_atom_v, addr, port);
      });
      self->set_default_handler(
        [](caf::scheduled_actor* ptr,
           caf::message_view&) -> caf::result<caf::message> {
          if (ptr->current_message_id().is_request())
            return caf::make_error(caf::sec::unexpected_message);
          return caf::delegated<caf::message>{};
        });
      self->become(running(self));
      self->delayed_send(self, st.opts.heartbeat_interval,
                         bridge_tick_atom::value);
      for (size_t i = 0; i < st.seeds.size(); ++i)
        start_seed(self, i);
    },
  };
}

} // namespace

caf::expected<bridge_handle>
spawn_bridge(caf::actor_system& sys, bus_actor local_bus, bridge_options opts) {
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
  auto bridge
    = sys.spawn(bridge_impl, local_bus, std::move(opts), std::move(seeds));
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
  auto bound = tr->publish(bridge, port, host, true);
  if (!bound)
    return fail(caf::make_error(
      caf::sec::cannot_open_port,
      "bridge cannot listen on " + host + ":" + std::to_string(port)
        + (tls ? " (TLS): " : ": ") + sys.render(bound.error())));
  caf::anon_send(bridge, bridge_start_atom::value, *bound);
  return bridge_handle{bridge, *bound, std::move(tr)};
}

} // namespace cachebus
