// The bridge's sessions: accepting handshakes (ours answered, theirs
// received), learning members from them, heartbeats both ways and losing
// peers (their bridge down, or silent for the peer timeout).
#include <chrono>
#include <utility>

#include "caf/actor_cast.hpp"
#include "caf/delegated.hpp"
#include "caf/system_messages.hpp"

#include "cachebus/bus/bridge_internal.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::bridge_detail {

namespace {

using steady = std::chrono::steady_clock;

void broadcast_members(bridge_pointer self) {
  auto& st = self->state;
  auto list = st.peers.members();
  for (auto& [name, p] : st.peers.peers())
    if (p.state == peer_state::connected)
      self->send(st.links[name].handle, bridge_members_atom_v, list);
}

/// Ends the session with `name` (a connected peer) and arms its redial.
void lose(bridge_pointer self, const std::string& name, std::string reason) {
  auto& st = self->state;
  auto next = st.peers.lose(name, reason);
  auto& p = *st.peers.find(name);
  session_lost(self, name, p.inbound.last(), p.incarnation, std::move(reason));
  arm_redial(self, next);
}

} // namespace

bridge_handshake make_handshake(bridge_pointer self) {
  auto& st = self->state;
  auto& me = st.peers.self();
  return {bridge_protocol_version,
          me.name,
          st.incarnation,
          me.host,
          me.port,
          st.outbound.next(),
          st.peers.members(),
          st.opts.endpoint};
}

caf::error accept(bridge_pointer self, const bridge_handshake& h,
                  const bridge_actor& handle) {
  auto& st = self->state;
  using sender = peer_directory::sender;
  auto link = st.links.find(h.name);
  auto from = !handle ? sender::nobody
              : link != st.links.end() && link->second.handle == handle
                ? sender::current_bridge
                : sender::other_bridge;
  if (auto why = st.peers.refusal(h, from))
    return refusal(std::move(*why));
  auto s = st.peers.start_session(h, from, steady::now());
  auto& l = st.links[h.name];
  if (l.handle != handle) {
    if (l.handle)
      st.by_handle.erase(l.handle.address());
    l.handle = handle;
  }
  st.by_handle[handle.address()] = h.name;
  // Monitoring twice yields two down messages; once per remote bridge.
  if (st.monitored.insert(handle.address()).second)
    self->monitor(handle);
  if (s.gap)
    missing_up_to(self, h.name, s.previous_last, h.next_sequence - 1,
                  "repeated handshake: peer is at sequence "
                    + std::to_string(h.next_sequence) + ", last received "
                    + std::to_string(s.previous_last),
                  true);
  l.endpoint = h.endpoint;
  if (s.started) {
    session_started(self, h, s.rejoined, s.previous_last, l.endpoint);
    broadcast_members(self);
  }
  learn(self, h.members);
  return {};
}

void learn(bridge_pointer self, const std::vector<bridge_member>& list) {
  for (auto& d : self->state.peers.learn(list))
    dial_member(self, d);
}

const peer_directory::peer* sender_peer(bridge_pointer self) {
  auto& st = self->state;
  auto addr = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto i = st.by_handle.find(addr);
  if (i == st.by_handle.end())
    return nullptr;
  return st.peers.find(i->second);
}

caf::result<bridge_handshake> on_hello(bridge_pointer self,
                                       const bridge_handshake& h) {
  if (!self->current_message_id().is_request())
    return caf::delegated<bridge_handshake>{};
  auto sender = caf::actor_cast<bridge_actor>(self->current_sender());
  if (auto err = accept(self, h, sender))
    return err;
  return make_handshake(self);
}

void on_beat(bridge_pointer self, uint64_t next) {
  auto& st = self->state;
  auto* p = sender_peer(self);
  if (!p)
    return;
  if (p->state != peer_state::connected) {
    // Alive after all (we gave up on it while it was slow): reconnect
    // now instead of after the backoff.
    if (!p->dialing)
      dial_peer(self, p->name);
    return;
  }
  st.peers.heard(p->name, steady::now());
  if (auto last = st.peers.sent_up_to(p->name, next))
    missing_up_to(self, p->name, *last, next - 1,
                  "heartbeat: peer sent up to sequence "
                    + std::to_string(next - 1) + ", last received "
                    + std::to_string(*last));
}

void on_members(bridge_pointer self, const std::vector<bridge_member>& list) {
  if (auto* p = sender_peer(self); p && p->state == peer_state::connected)
    self->state.peers.heard(p->name, steady::now());
  learn(self, list);
}

void on_tick(bridge_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.opts.heartbeat_interval, bridge_tick_atom::value);
  auto now = steady::now();
  for (auto& name : st.peers.silent_since(now - st.opts.peer_timeout))
    lose(self, name,
         "nothing arrived for more than " + ms(st.opts.peer_timeout)
           + " (peer timeout)");
  for (auto& [name, p] : st.peers.peers())
    if (p.state == peer_state::connected)
      self->send(st.links[name].handle, bridge_beat_atom_v, st.outbound.next());
}

void on_bridge_down(bridge_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  st.monitored.erase(dm.source);
  auto i = st.by_handle.find(dm.source);
  if (i == st.by_handle.end())
    return;
  auto name = std::move(i->second);
  st.by_handle.erase(i);
  auto& l = st.links[name];
  if (l.handle.address() == dm.source)
    l.handle = nullptr;
  if (st.peers.connected(name))
    lose(self, name, "its bridge is down: " + describe(self, dm.reason));
}

} // namespace cachebus::bridge_detail
