// How a bridge (bridge.hpp) is set up: its node name, where it listens, whom
// it dials first, and its timing. check_bridge_options refuses nonsense with
// `sec::invalid_argument` and a message naming the option and the value, so
// that a misconfigured node fails at start instead of misbehaving later.
// Without TLS a bridge may only listen on loopback.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/timespan.hpp"

namespace cachebus {

class transport;

struct bridge_options {
  /// This node's name: the origin of its events, unique in the cluster.
  /// 1-255 visible ASCII characters.
  std::string node{};
  /// The address to listen on. Without `tls` only a loopback address
  /// (127.0.0.0/8, ::1, localhost) is accepted: across hosts nodes must
  /// authenticate each other.
  std::string host = "127.0.0.1";
  /// 0 lets the OS pick; spawn_bridge returns the port actually bound.
  uint16_t port = 0;
  /// The host other members dial to reach this node; empty means `host`.
  /// Must be set when `host` is a wildcard address (0.0.0.0, ::).
  std::string advertised_host{};
  /// "host:port" of members to join through; one reachable seed is enough.
  std::vector<std::string> seeds{};
  /// How often the bridge sends each peer a heartbeat.
  caf::timespan heartbeat_interval = std::chrono::milliseconds(500);
  /// A connected peer from which nothing arrived for this long is lost.
  /// Must exceed the heartbeat interval (3-10 intervals is sensible).
  caf::timespan peer_timeout = std::chrono::seconds(3);
  /// The first reconnect delay after a loss or a failed dial; doubled after
  /// each failure up to reconnect_max.
  caf::timespan reconnect_initial = std::chrono::milliseconds(100);
  caf::timespan reconnect_max = std::chrono::seconds(10);
  /// Bound on connecting to a peer and on its answer to our handshake.
  caf::timespan connect_timeout = std::chrono::seconds(5);
  /// How long an own event may wait for an earlier sequence before the
  /// bridge gives up on that sequence (reorder_buffer.hpp).
  caf::timespan reorder_timeout = std::chrono::milliseconds(100);
  /// The sequence the node's event source stamps first (1 for event_source).
  uint64_t first_sequence = 1;
  /// Replay instead of drop: keep a log of this node's own events (bounded
  /// by the two limits below; origin_log.hpp) for peers that missed some,
  /// and fetch the events this node missed of a peer (a gap, a rejoin with
  /// the same incarnation) from that peer's log instead of telling the node
  /// to drop its cache (peer_event.hpp). Off: every loss, gap and rejoin
  /// drops (drop_cause::replay_off), and peers' requests are answered
  /// `trimmed`.
  bool replay = true;
  /// Most own events the log holds (1 to 2^24).
  size_t replay_log_events = 65536;
  /// Most bytes of own events the log holds (64 KiB to 1 GiB).
  size_t replay_log_bytes = size_t{16} << 20;
  /// Bound on one replay, from its start to its last event: past it the
  /// replay is given up and the node told to drop (drop_cause::timeout).
  /// Also the bound on each request of it.
  caf::timespan replay_timeout = std::chrono::seconds(2);
  /// A peer lost for this long without a new session is taken to be gone:
  /// the node is told to drop (drop_cause::gone), since what it published
  /// just before it went may never arrive. Shorter outages (a blip, a
  /// paused process) rejoin first and replay instead. With replay off the
  /// loss itself drops.
  caf::timespan replay_gone_after = std::chrono::seconds(10);
  /// Most events, and most bytes, one answer to a replay request carries.
  size_t replay_batch_events = 4096;
  size_t replay_batch_bytes = size_t{1} << 20;
  /// Listen, dial and talk to peers over TLS through CAF's OpenSSL module
  /// (caf::openssl::manager must be loaded). This node presents
  /// `openssl.certificate` with `openssl.key`; every peer must present a
  /// certificate signed by a CA of `openssl.cafile`/`openssl.capath`. Those
  /// options of the actor system's config must be set and usable
  /// (check_tls_credentials, tls_credentials.hpp). A peer without such a
  /// certificate, or one speaking plain TCP, cannot connect. Required for
  /// any `host` other than loopback.
  bool tls = false;
  /// Where the bridge listens and dials (transport.hpp): frame checks and
  /// pre-handshake bounds, and with `tls` the credentials in memory. Null:
  /// spawn_bridge starts one with default limits (and, with `tls`, the
  /// openssl.* credentials of the actor system's config), owned by the
  /// bridge. With `tls` a given transport must have TLS credentials.
  std::shared_ptr<cachebus::transport> transport{};
  /// Advertised to every peer in the handshake, which reports it in its
  /// joined/rejoined peer_events (the node sets its lock manager here).
  caf::actor endpoint{};
  /// The actor system does not wait for the bridge actor when it shuts down:
  /// its owner stops it (a node does, and sets this).
  bool hidden = false;
};

/// Returns an empty error if `opts` are usable.
caf::error check_bridge_options(const bridge_options& opts);

/// Returns an empty error if `name` is a valid node name.
caf::error check_node_name(const std::string& name);

/// The same rule without CAF: why `name` is not a valid node name, or an
/// empty string if it is (check_node_name's message).
std::string node_name_problem(const std::string& name);

} // namespace cachebus
