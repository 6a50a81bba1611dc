#include "cachebus/bus/peer_directory.hpp"

#include <algorithm>
#include <utility>

#include "cachebus/bus/bridge_options.hpp"

namespace cachebus {

peer_directory::peer_directory(std::string self_name, std::string self_host,
                               duration reconnect_initial,
                               duration reconnect_max)
    : self_{std::move(self_name), std::move(self_host), 0},
      reconnect_initial_(reconnect_initial), reconnect_max_(reconnect_max) {
  // nop
}

// -- lookup -------------------------------------------------------------------

const peer_directory::peer*
peer_directory::find(const std::string& name) const {
  auto i = peers_.find(name);
  return i != peers_.end() ? &i->second : nullptr;
}

bool peer_directory::connected(const std::string& name) const {
  auto* p = find(name);
  return p && p->state == peer_state::connected;
}

bool peer_directory::awaits(const std::string& name, uint64_t attempt) const {
  auto* p = find(name);
  return p && p->attempt == attempt && p->state != peer_state::connected;
}

peer_directory::peer& peer_directory::at(const std::string& name) {
  return peers_.at(name);
}

// -- membership ---------------------------------------------------------------

std::vector<bridge_member> peer_directory::members() const {
  std::vector<bridge_member> result;
  result.push_back(self_);
  for (auto& [name, p] : peers_)
    if (p.state == peer_state::connected)
      result.push_back({name, p.host, p.port});
  return result;
}

std::vector<peer_directory::dial>
peer_directory::learn(const std::vector<bridge_member>& list) {
  std::vector<dial> result;
  for (auto& m : list) {
    if (m.name == self_.name || !node_name_problem(m.name).empty()
        || m.port == 0 || m.host.empty())
      continue;
    auto i = peers_.find(m.name);
    if (i == peers_.end()) {
      auto& p = peers_[m.name];
      p.name = m.name;
      p.host = m.host;
      p.port = m.port;
      p.backoff = reconnect_initial_;
      result.push_back(start_dial(m.name));
      continue;
    }
    auto& p = i->second;
    if (p.state == peer_state::connected)
      continue;
    // A peer in session with it has its current address: try there now.
    p.host = m.host;
    p.port = m.port;
    if (!p.dialing)
      result.push_back(start_dial(m.name));
  }
  return result;
}

std::vector<peer_stats> peer_directory::stats() const {
  std::vector<peer_stats> result;
  for (auto& [name, p] : peers_)
    result.push_back({name, p.host, p.port, p.state, p.incarnation,
                      p.inbound.last(), p.events_in, p.last_error});
  return result;
}

// -- handshakes ---------------------------------------------------------------

std::optional<std::string> peer_directory::refusal(const bridge_handshake& h,
                                                   sender from) const {
  if (h.protocol != bridge_protocol_version)
    return "bridge protocol " + std::to_string(h.protocol)
           + " is not this node's " + std::to_string(bridge_protocol_version);
  if (auto why = node_name_problem(h.name); !why.empty())
    return why;
  if (h.name == self_.name)
    return "node name \"" + h.name
           + "\" is already taken: it is the name of the node at " + self_.host
           + ":" + std::to_string(self_.port)
           + "; every node needs a unique name";
  if (h.incarnation == 0 || h.port == 0 || h.host.empty())
    return "handshake of \"" + h.name + "\" lacks an incarnation or an address";
  if (from == sender::nobody)
    return "handshake of \"" + h.name + "\" came from nobody";
  auto* p = find(h.name);
  if (p && p->state == peer_state::connected && from != sender::current_bridge)
    return "node name \"" + h.name
           + "\" is already taken by a connected node at " + p->host + ":"
           + std::to_string(p->port) + "; every node needs a unique name";
  return std::nullopt;
}

bool peer_directory::same_session(const bridge_handshake& h,
                                  sender from) const {
  auto* p = find(h.name);
  return p && p->state == peer_state::connected
         && from == sender::current_bridge && p->incarnation == h.incarnation;
}

peer_directory::session peer_directory::start_session(const bridge_handshake& h,
                                                      sender from,
                                                      clock::time_point now) {
  session result;
  result.started = !same_session(h, from);
  auto& p = peers_[h.name];
  p.name = h.name;
  result.previous_last = p.inbound.last();
  result.rejoined = p.ever_connected;
  p.host = h.host;
  p.port = h.port;
  if (result.started) {
    p.inbound.reset(h.next_sequence);
  } else {
    // A repeated handshake within a session (a redial it made while we
    // were slow, or both sides dialing at once): everything it forwarded
    // reached us in order on one connection, so a higher position means it
    // stopped forwarding to us for a while.
    result.gap = p.inbound.sent_up_to(h.next_sequence);
  }
  p.state = peer_state::connected;
  p.incarnation = h.incarnation;
  p.ever_connected = true;
  p.last_heard = now;
  p.backoff = reconnect_initial_;
  ++p.attempt; // cancels pending dial timers and outcomes
  p.dialing = false;
  p.last_error.clear();
  return result;
}

// -- dialing ------------------------------------------------------------------

peer_directory::dial peer_directory::start_dial(const std::string& name) {
  auto& p = at(name);
  ++p.attempt;
  p.dialing = true;
  if (p.state == peer_state::down)
    p.state = peer_state::reconnecting;
  return {p.name, p.host, p.port, p.attempt};
}

peer_directory::redial
peer_directory::schedule_redial(const std::string& name) {
  auto& p = at(name);
  ++p.attempt;
  p.dialing = false;
  redial result{p.name, p.backoff, p.attempt};
  p.backoff = std::min(p.backoff * 2, reconnect_max_);
  return result;
}

peer_directory::failure peer_directory::dial_failed(const std::string& name,
                                                    bool refused,
                                                    std::string reason) {
  auto& p = at(name);
  failure result;
  p.last_error = std::move(reason);
  if (refused) {
    result.newly_refused = p.state != peer_state::refused;
    p.state = peer_state::refused;
  } else {
    p.state = p.ever_connected ? peer_state::down : peer_state::connecting;
  }
  result.next = schedule_redial(name);
  return result;
}

// -- liveness -----------------------------------------------------------------

void peer_directory::heard(const std::string& name, clock::time_point now) {
  at(name).last_heard = now;
}

std::vector<std::string>
peer_directory::silent_since(clock::time_point deadline) const {
  std::vector<std::string> result;
  for (auto& [name, p] : peers_)
    if (p.state == peer_state::connected && p.last_heard < deadline)
      result.push_back(name);
  return result;
}

peer_directory::redial peer_directory::lose(const std::string& name,
                                            std::string reason) {
  auto& p = at(name);
  p.state = peer_state::down;
  p.last_error = std::move(reason);
  p.backoff = reconnect_initial_;
  return schedule_redial(name);
}

// -- inbound sequences --------------------------------------------------------

peer_directory::arrival peer_directory::deliver(const std::string& name,
                                                uint64_t seq) {
  auto& p = at(name);
  arrival result{sequence_tracker::verdict::in_order, p.inbound.last()};
  if (seq != 0)
    result.verdict = p.inbound.observe(seq);
  if (result.verdict != sequence_tracker::verdict::duplicate)
    ++p.events_in;
  return result;
}

std::optional<uint64_t> peer_directory::sent_up_to(const std::string& name,
                                                   uint64_t next) {
  auto& p = at(name);
  auto last = p.inbound.last();
  if (p.inbound.sent_up_to(next))
    return last;
  return std::nullopt;
}

} // namespace cachebus
