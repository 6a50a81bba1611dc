// Private to the bridge's implementation files (bridge*.cpp); nothing else
// includes it. The state of one bridge actor (bridge.hpp): its options, its
// peers (the CAF-free peer_directory plus the CAF handles it leaves out,
// keyed by the same names), its seeds, the handshakes in flight and its
// outbound ordering; and the private messages it sends itself (its start
// signal and timers), which never go on the wire. The actor's own type,
// bridge_impl_actor, is the public bridge_actor extended by those private
// messages: spawn_bridge hands out only the bridge_actor view of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/atom.hpp"
#include "caf/io/middleman_actor.hpp"
#include "caf/message.hpp"
#include "caf/replies_to.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/timespan.hpp"
#include "caf/typed_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/bus/bridge.hpp"
#include "cachebus/bus/bridge_options.hpp"
#include "cachebus/bus/bridge_stats.hpp"
#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/origin_log.hpp"
#include "cachebus/bus/peer_address.hpp"
#include "cachebus/bus/peer_directory.hpp"
#include "cachebus/bus/reorder_buffer.hpp"
#include "cachebus/bus/replay_cursor.hpp"

namespace cachebus::bridge_detail {

// Private to one bridge (never on the wire): its start signal and timers.
using bridge_start_atom = caf::atom_constant<caf::atom("br_start")>;
using bridge_tick_atom = caf::atom_constant<caf::atom("br_tick")>;
using bridge_dial_atom = caf::atom_constant<caf::atom("br_dial")>;
using bridge_reorder_atom = caf::atom_constant<caf::atom("br_reorder")>;
using bridge_replay_timeout_atom = caf::atom_constant<caf::atom("br_rpl_to")>;
using bridge_gone_atom = caf::atom_constant<caf::atom("br_gone")>;
using bridge_pump_atom = caf::atom_constant<caf::atom("br_pump")>;

/// The bridge as it sends itself messages: bridge_actor plus its start
/// signal (the port it listens on) and its timers (heartbeat tick, redial of
/// a peer by name or of a seed by index, reorder timeout, the timeout of a
/// peer's replay run, the wait for a lost peer before it counts as gone) and
/// the deferred step of a replay.
using bridge_impl_actor = bridge_actor::extend<
  caf::reacts_to<bridge_start_atom, uint16_t>, caf::reacts_to<bridge_tick_atom>,
  caf::reacts_to<bridge_dial_atom, std::string, uint64_t>,
  caf::reacts_to<bridge_dial_atom, uint64_t, uint64_t>,
  caf::reacts_to<bridge_reorder_atom, uint64_t>,
  caf::reacts_to<bridge_replay_timeout_atom, std::string, uint64_t>,
  caf::reacts_to<bridge_gone_atom, std::string, uint64_t>,
  caf::reacts_to<bridge_pump_atom, std::string>>;

/// The CAF side of a peer of the directory (same name).
struct peer_link {
  /// Its bridge in the current or last session. Kept after a loss so that a
  /// heartbeat from a peer we gave up on is recognized (and redialed at once).
  bridge_actor handle;
  /// What it advertised for direct talk in its last handshake.
  caf::actor endpoint;
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
  /// Every peer heard of, and this node's own member row (its name,
  /// advertised host and port).
  peer_directory peers;
  /// The handles of the directory's peers, by name.
  std::map<std::string, peer_link> links;
  /// The name of each peer bridge by its address (current handles only).
  std::map<caf::actor_addr, std::string> by_handle;
  std::set<caf::actor_addr> monitored;
  /// Bridges we sent a hello and await the reply from, with the number of
  /// such hellos in flight. We forward own events to them already: the
  /// responder starts tracking at our hello's next_sequence, so anything we
  /// published while the reply travels must follow the hello.
  std::map<caf::actor_addr, std::pair<bridge_actor, int>> handshaking;
  std::vector<seed_record> seeds;
  reorder_buffer outbound;
  /// The sequence a pending reorder timer waits for, if one is pending.
  std::optional<uint64_t> reorder_armed;
  /// Scratch buffer for events the reorder buffer releases.
  std::vector<caf::message> ready;
  /// Own events as forwarded, for peers that missed some (with opts.replay).
  origin_log log;
  /// Per peer name: what was published of its events, and its replay (with
  /// opts.replay; the directory's tracker still drops duplicates).
  std::map<std::string, replay_cursor> cursors;
  bridge_stats counters;
  static inline const char* name = "cachebus.bridge";
};

using bridge_pointer = bridge_impl_actor::stateful_pointer<bridge_state>;

} // namespace cachebus::bridge_detail
