// Replay instead of drop (bridge.hpp): the origin side (own events logged as
// they are forwarded, peers' requests answered from the log) and the
// receiving side (per peer, a replay_cursor decides what is published now,
// what is fetched, and what the node must drop), and the peer_events that
// tell the node.
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_cast.hpp"
#include "caf/send.hpp"

#include "cachebus/bus/bridge_internal.hpp"
#include "cachebus/bus/event_route.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::bridge_detail {

namespace {

void publish_event(bridge_pointer self, std::string topic,
                   const caf::message& ev) {
  caf::anon_send(self->state.bus, caf::publish_atom_v, std::move(topic), ev);
}

/// Gives up the replay of `name` and tells the node to drop.
void fail_replay(bridge_pointer self, const std::string& name, drop_cause why,
                 std::string reason) {
  auto& st = self->state;
  auto& c = st.cursors[name];
  auto last = c.delivered();
  c.give_up();
  ++st.counters.replays_failed;
  auto* p = st.peers.find(name);
  publish_peer_event(
    self, name, peer_event_kind::gap, last, p ? p->incarnation : 0,
    "replay failed (" + to_string(why) + "): " + reason, {}, 0, why);
}

void pump(bridge_pointer self, const std::string& name);

void on_batch(bridge_pointer self, const std::string& name, uint64_t attempt,
              replay_batch& b) {
  auto& st = self->state;
  auto i = st.cursors.find(name);
  if (i == st.cursors.end() || i->second.attempt() != attempt)
    return; // of a replay given up, or of a previous session
  auto& c = i->second;
  std::vector<event_route> routes;
  auto last = c.delivered();
  auto why = c.accept(b, name, routes);
  if (why != drop_cause::none) {
    if (why == drop_cause::malformed)
      ++st.counters.replay_replies_refused;
    // accept() gave up already; fail_replay reports it.
    ++st.counters.replays_failed;
    auto* p = st.peers.find(name);
    publish_peer_event(self, name, peer_event_kind::gap, last,
                       p ? p->incarnation : 0,
                       "replay of sequence " + std::to_string(last + 1)
                         + " failed: " + to_string(why),
                       {}, 0, why);
    return;
  }
  for (size_t k = 0; k < routes.size(); ++k)
    publish_event(self, std::move(routes[k].topic), b.events[k]);
  st.counters.replayed_events_in += routes.size();
  pump(self, name);
}

void pump(bridge_pointer self, const std::string& name) {
  auto& st = self->state;
  auto& c = st.cursors[name];
  auto* p = st.peers.find(name);
  if (!c.pending()) {
    if (c.finish()) {
      ++st.counters.replays_completed;
      publish_peer_event(self, name, peer_event_kind::replayed, c.delivered(),
                         p ? p->incarnation : 0, {});
    }
    return;
  }
  if (!p || p->state != peer_state::connected)
    return;
  if (c.start()) {
    ++st.counters.replays_started;
    publish_peer_event(
      self, name, peer_event_kind::replaying, c.delivered(), p->incarnation,
      "fetching sequences " + std::to_string(c.delivered() + 1) + " to "
        + std::to_string(c.target()) + " from its log",
      {}, c.target());
    self->delayed_send(self, st.opts.replay_timeout,
                       bridge_replay_timeout_atom::value, name, c.run());
  }
  auto req = c.next_request();
  if (!req)
    return;
  auto attempt = c.attempt();
  self
    ->request(st.links[name].handle, st.opts.replay_timeout,
              bridge_replay_atom_v, *req)
    .then([=](replay_batch& b) { on_batch(self, name, attempt, b); },
          [=](caf::error& err) {
            auto& st = self->state;
            auto i = st.cursors.find(name);
            if (i == st.cursors.end() || i->second.attempt() != attempt)
              return;
            fail_replay(self, name,
                        err == caf::sec::request_timeout
                          ? drop_cause::timeout
                          : drop_cause::malformed,
                        describe(self, err));
          });
}

/// Pumps after the current message: a handshake's answer goes out first, so
/// the peer has accepted the session when our replay request reaches it
/// (both travel on one connection, in order); asked before, it would refuse
/// a request from a node it does not consider in session yet.
void pump_later(bridge_pointer self, const std::string& name) {
  self->send(self, bridge_pump_atom::value, name);
}

} // namespace

void on_pump(bridge_pointer self, const std::string& name) {
  pump(self, name);
}

// -- origin side --------------------------------------------------------------

void forward_ready(bridge_pointer self) {
  auto& st = self->state;
  auto seq = st.outbound.next() - st.ready.size();
  for (auto& ev : st.ready) {
    forward(self, ev);
    if (st.opts.replay)
      st.log.append(seq, ev, event_bytes(ev));
    ++seq;
  }
  st.ready.clear();
}

replay_batch on_replay_request(bridge_pointer self, const replay_request& r) {
  auto& st = self->state;
  auto* p = sender_peer(self);
  replay_batch result;
  if (!p || p->state != peer_state::connected) {
    ++st.counters.replay_requests_refused;
    result.status = replay_status::refused;
    result.incarnation = st.incarnation;
    return result;
  }
  st.peers.heard(p->name, std::chrono::steady_clock::now());
  if (!st.opts.replay) {
    ++st.counters.replay_requests_refused;
    result.status = replay_status::trimmed;
    result.incarnation = st.incarnation;
    return result;
  }
  result = st.log.read(r.incarnation, r.from, r.to, st.opts.replay_batch_events,
                       st.opts.replay_batch_bytes);
  if (result.status == replay_status::ok)
    ++st.counters.replay_requests_served;
  else
    ++st.counters.replay_requests_refused;
  return result;
}

// -- receiving side -----------------------------------------------------------

void deliver_live(bridge_pointer self, const std::string& peer,
                  const caf::message& ev, std::string topic, uint64_t seq) {
  auto& st = self->state;
  if (seq == 0 || st.cursors[peer].live(seq)) {
    publish_event(self, std::move(topic), ev);
    ++st.counters.events_in;
    return;
  }
  ++st.counters.live_events_deferred;
  pump(self, peer);
}

void session_started(bridge_pointer self, const bridge_handshake& h,
                     bool rejoined, uint64_t previous_last,
                     const caf::actor& endpoint) {
  auto& st = self->state;
  auto resumes_after = h.next_sequence - 1;
  auto kind = rejoined ? peer_event_kind::rejoined : peer_event_kind::joined;
  auto last = rejoined ? previous_last : resumes_after;
  std::string reason;
  if (rejoined)
    reason = "new session; tracking restarts at sequence "
             + std::to_string(h.next_sequence);
  if (!st.opts.replay) {
    auto drop = rejoined            ? drop_cause::replay_off
                : resumes_after > 0 ? drop_cause::history
                                    : drop_cause::none;
    publish_peer_event(self, h.name, kind, last, h.incarnation,
                       std::move(reason), endpoint, resumes_after, drop);
    return;
  }
  auto& c = st.cursors[h.name];
  bool was_active = c.active();
  if (rejoined)
    last = c.delivered();
  auto drop = c.begin_session(h.incarnation, resumes_after);
  if (was_active && !c.active())
    ++st.counters.replays_failed;
  publish_peer_event(self, h.name, kind, last, h.incarnation, std::move(reason),
                     endpoint, resumes_after, drop);
  pump_later(self, h.name);
}

void missing_up_to(bridge_pointer self, const std::string& name,
                   uint64_t last_delivered, uint64_t last, std::string why,
                   bool from_handshake) {
  auto& st = self->state;
  ++st.counters.gaps_detected;
  if (!st.opts.replay) {
    auto* p = st.peers.find(name);
    publish_peer_event(self, name, peer_event_kind::gap, last_delivered,
                       p ? p->incarnation : 0, std::move(why), {}, 0,
                       drop_cause::replay_off);
    return;
  }
  st.cursors[name].sent_up_to(last);
  if (from_handshake)
    pump_later(self, name);
  else
    pump(self, name);
}

void session_lost(bridge_pointer self, const std::string& name,
                  uint64_t last_delivered, uint64_t incarnation,
                  std::string reason) {
  auto& st = self->state;
  auto drop = drop_cause::replay_off;
  if (st.opts.replay) {
    auto& c = st.cursors[name];
    last_delivered = c.delivered();
    drop = c.end_session();
    if (drop != drop_cause::none) {
      ++st.counters.replays_failed;
      reason += "; the replay that ran is given up";
    }
  }
  publish_peer_event(self, name, peer_event_kind::lost, last_delivered,
                     incarnation, std::move(reason), {}, 0, drop);
  if (st.opts.replay)
    self->delayed_send(self, st.opts.replay_gone_after, bridge_gone_atom::value,
                       name, st.cursors[name].sessions());
}

void on_gone_timer(bridge_pointer self, const std::string& name,
                   uint64_t session) {
  auto& st = self->state;
  if (st.peers.connected(name) || st.cursors[name].sessions() != session)
    return;
  auto* p = st.peers.find(name);
  publish_peer_event(self, name, peer_event_kind::gap,
                     st.cursors[name].delivered(), p ? p->incarnation : 0,
                     "lost for more than " + ms(st.opts.replay_gone_after)
                       + ": what it sent last may never arrive",
                     {}, 0, drop_cause::gone);
}

void on_replay_timeout(bridge_pointer self, const std::string& name,
                       uint64_t run) {
  auto& st = self->state;
  auto i = st.cursors.find(name);
  if (i == st.cursors.end() || !i->second.active() || i->second.run() != run)
    return;
  fail_replay(self, name, drop_cause::timeout,
              "not complete after " + ms(st.opts.replay_timeout));
}

} // namespace cachebus::bridge_detail
