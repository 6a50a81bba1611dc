// The bridge's dialing: seeds by address until one answers, named members
// (from member lists, or lost peers) by name, each redialed with exponential
// backoff; and what a dial's outcome means for its target.
#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "caf/io/middleman_actor.hpp"
#include "caf/node_id.hpp"
#include "caf/sec.hpp"

#include "cachebus/bus/bridge_internal.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::bridge_detail {

namespace {

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
  if (!st.peers.awaits(t.name, t.attempt))
    return;
  auto failed = st.peers.dial_failed(t.name, refused, text);
  if (failed.newly_refused) {
    auto& p = *st.peers.find(t.name);
    publish_peer_event(self, p.name, peer_event_kind::refused, p.inbound.last(),
                       p.incarnation, text);
  }
  arm_redial(self, failed.next);
}

void dial_succeeded(bridge_pointer self, const dial_target& t,
                    const bridge_actor& handle, const bridge_handshake& h) {
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
        // Whatever is published there is taken for a bridge; the handshake
        // tells (a wrong answer or a timeout fails the dial).
        auto peer = caf::actor_cast<bridge_actor>(std::move(ptr));
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

} // namespace

void start_seed(bridge_pointer self, size_t index) {
  auto& s = self->state.seeds[index];
  ++s.attempt;
  dial(self, dial_target{index, {}, s.attempt}, s.address.host, s.address.port);
}

void dial_member(bridge_pointer self, const peer_directory::dial& d) {
  dial(self, dial_target{std::nullopt, d.name, d.attempt}, d.host, d.port);
}

void dial_peer(bridge_pointer self, const std::string& name) {
  dial_member(self, self->state.peers.start_dial(name));
}

void arm_redial(bridge_pointer self, const peer_directory::redial& r) {
  self->delayed_send(self, r.delay, bridge_dial_atom::value, r.name, r.attempt);
}

void on_dial_timer(bridge_pointer self, const std::string& name,
                   uint64_t attempt) {
  if (self->state.peers.awaits(name, attempt))
    dial_peer(self, name);
}

void on_seed_timer(bridge_pointer self, uint64_t index, uint64_t attempt) {
  auto& st = self->state;
  if (index >= st.seeds.size() || st.seeds[index].resolved
      || st.seeds[index].attempt != attempt)
    return;
  start_seed(self, index);
}

} // namespace cachebus::bridge_detail
