// The bridge's forwarding: own events to every peer in session (and every
// bridge our hello is on the way to), in sequence order through the reorder
// buffer; peers' events checked (sender in session, origin, topic, sequence)
// and republished on the local bus, never onward.
#include <chrono>
#include <utility>

#include "caf/actor_cast.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/send.hpp"

#include "cachebus/bus/bridge_internal.hpp"
#include "cachebus/bus/event_route.hpp"
#include "cachebus/bus/reorder_buffer.hpp"
#include "cachebus/bus/sequence_tracker.hpp"
#include "cachebus/bus/topic.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::bridge_detail {

namespace {

/// True if `addr` is the bridge of a peer in session.
bool in_session(bridge_pointer self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto i = st.by_handle.find(addr);
  if (i == st.by_handle.end())
    return false;
  return st.peers.connected(i->second)
         && st.links[i->second].handle.address() == addr;
}

} // namespace

void forward(bridge_pointer self, const caf::message& ev) {
  auto& st = self->state;
  for (auto& [name, p] : st.peers.peers())
    if (p.state == peer_state::connected)
      self->send(st.links[name].handle, bridge_event_atom_v, ev);
  for (auto& [addr, entry] : st.handshaking)
    if (!in_session(self, addr))
      self->send(entry.first, bridge_event_atom_v, ev);
  ++st.counters.events_out;
}

namespace {

void arm_reorder_timer(bridge_pointer self) {
  auto& st = self->state;
  if (!st.outbound.holding() || st.reorder_armed == st.outbound.next())
    return;
  st.reorder_armed = st.outbound.next();
  self->delayed_send(self, st.opts.reorder_timeout, bridge_reorder_atom::value,
                     st.outbound.next());
}

} // namespace

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
  forward_ready(self);
  arm_reorder_timer(self);
}

void on_remote(bridge_pointer self, const caf::message& ev) {
  auto& st = self->state;
  auto* p = sender_peer(self);
  if (!p || p->state != peer_state::connected) {
    ++st.counters.rejected;
    return;
  }
  st.peers.heard(p->name, std::chrono::steady_clock::now());
  auto route = route_of(ev);
  if (!route || route->origin != p->name || route->topic == peers_topic
      || check_topic(route->topic)) {
    ++st.counters.rejected;
    return;
  }
  auto arrived = st.peers.deliver(p->name, route->sequence);
  switch (arrived.verdict) {
  case sequence_tracker::verdict::duplicate:
    ++st.counters.duplicates_dropped;
    return;
  case sequence_tracker::verdict::gap:
    if (st.opts.replay) {
      ++st.counters.gaps_detected;
      break; // deliver_live fetches the missing ones with this one
    }
    missing_up_to(self, p->name, arrived.last, route->sequence - 1,
                  "expected sequence " + std::to_string(arrived.last + 1)
                    + ", got " + std::to_string(route->sequence));
    break;
  case sequence_tracker::verdict::in_order:
    break;
  }
  if (!st.opts.replay) {
    caf::anon_send(st.bus, caf::publish_atom_v, std::move(route->topic), ev);
    ++st.counters.events_in;
    return;
  }
  deliver_live(self, p->name, ev, std::move(route->topic), route->sequence);
}

void on_reorder_timer(bridge_pointer self, uint64_t awaited) {
  auto& st = self->state;
  if (st.reorder_armed != awaited)
    return;
  st.reorder_armed.reset();
  if (!st.outbound.holding() || st.outbound.next() != awaited)
    return arm_reorder_timer(self);
  st.ready.clear();
  st.counters.own_sequences_skipped += st.outbound.skip(st.ready);
  forward_ready(self);
  arm_reorder_timer(self);
}

} // namespace cachebus::bridge_detail
