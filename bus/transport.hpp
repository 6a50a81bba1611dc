// cachebus's own transport under CAF's BASP broker: a middleman actor that
// listens and dials like CAF's (plain TCP, or TLS from a tls_context), but
// whose connections check every BASP frame before CAF sees it
// (frame_gate.hpp) and bound what a peer may cost before its handshake: at
// most max_pending connections without a completed BASP handshake (a new
// one evicts the oldest of the port holding the most of them, so a flood
// on one port never cuts off a handshake in flight on another), each
// closed if it has not completed the handshake within handshake_timeout. TLS
// connections hold their outgoing bytes until the TLS handshake is done, so a
// stalled handshake never keeps the multiplexer spinning on a writable socket
// (CAF's OpenSSL module does), and take their credentials from memory, never
// from the files after start. Publish and dial through it; unpublish through
// CAF's middleman (the BASP broker owns the ports of both).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/io/middleman_actor.hpp"
#include "caf/timespan.hpp"

#include "cachebus/bus/frame_gate.hpp"
#include "cachebus/bus/tls_context.hpp"

namespace cachebus {

struct transport_options {
  frame_limits frames;
  /// Accepted connections without a completed BASP handshake, all ports
  /// together (dialed ones are neither counted nor evicted). A new one
  /// evicts the oldest of the port that holds the most of them.
  size_t max_pending = 64;
  /// Longest time from accept (or dial) to the peer's BASP handshake,
  /// TLS handshake included.
  caf::timespan handshake_timeout = std::chrono::seconds(5);
  /// TLS credentials; nullptr: plain TCP.
  std::shared_ptr<tls_context> tls;
};

/// Returns an empty error if `opts` are usable (sec::invalid_argument and a
/// sentence otherwise).
caf::error check_transport_options(const transport_options& opts);

struct transport_stats {
  uint64_t accepted = 0;
  uint64_t dialed = 0;
  /// Connections closed for a frame the gate refused.
  uint64_t refused_frames = 0;
  /// Pending connections evicted to admit a newer one.
  uint64_t evicted = 0;
  /// Connections closed for missing the handshake deadline.
  uint64_t expired = 0;
  /// Connections without a completed handshake now.
  uint64_t pending = 0;
  /// Why the gate refused the last frame it refused.
  std::string last_refusal;
};

class transport {
 public:
  /// Starts the transport's actors in `sys`. REQUIRES: the middleman is
  /// loaded. REQUIRES: every handle of the transport and of its actor() is
  /// gone before `sys` is destroyed: its middleman actor has a thread of its
  /// own (a TCP connect blocks), and the actor system waits for that thread,
  /// which ends only with the actor's last handle.
  static caf::expected<std::shared_ptr<transport>>
  start(caf::actor_system& sys, transport_options opts);

  /// Stops its actors and waits until they are gone and the BASP broker has
  /// taken every message they sent it. Call it before the actor system
  /// shuts down, from a thread that is not an actor's (it blocks); the
  /// destructor does not wait. Why: a connect that the middleman actor
  /// hands the broker while the middleman stops stays in the broker's
  /// mailbox (CAF 0.17's brokers never drain theirs), and with it a
  /// reference to our detached actor, whose thread ~actor_system then
  /// waits for forever. Published ports stay open until unpublished.
  /// Idempotent; dials after it fail at once.
  void stop();

  /// Stops its actors without waiting for them (see stop()).
  ~transport();

  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// The middleman actor to dial (connect_atom) through.
  const caf::io::middleman_actor& actor() const noexcept { return actor_; }

  /// The TLS credentials, nullptr for plain TCP.
  const std::shared_ptr<tls_context>& tls() const noexcept { return tls_; }

  /// Publishes `whom` on host:port (0: any free port), like
  /// caf::io::publish. Blocks the calling thread: not from inside an actor.
  template <class Handle>
  caf::expected<uint16_t> publish(const Handle& whom, uint16_t port,
                                  const std::string& host,
                                  bool reuse_addr = false) {
    return publish_impl(caf::actor_cast<caf::strong_actor_ptr>(whom),
                        sys_.message_types(whom), port, host, reuse_addr);
  }

  transport_stats stats() const;

  struct state; // shared with its connections

 private:
  transport(caf::actor_system& sys) : sys_(sys) {
    // nop
  }

  caf::expected<uint16_t> publish_impl(caf::strong_actor_ptr whom,
                                       std::set<std::string> sigs,
                                       uint16_t port, const std::string& host,
                                       bool reuse_addr);

  caf::actor_system& sys_;
  std::shared_ptr<state> state_;
  std::shared_ptr<tls_context> tls_;
  caf::io::middleman_actor actor_;
  caf::actor reaper_;
  std::atomic<bool> stopped_{false};
};

} // namespace cachebus
