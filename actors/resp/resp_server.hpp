// The Redis-protocol port of a node: a CAF io broker that accepts
// connections on resp_options::host:port and runs one resp_session per
// connection. It only moves bytes: each chunk a client sends (at most 64 KiB
// per read) is fed to the connection's session, and the replies it produced
// are written out. Limits: the session's request bounds (a protocol error is
// answered, then the connection closes), resp_options::max_output_bytes of
// unwritten replies (a client that does not read them is disconnected
// without a reply), and resp_options::idle_timeout. One client's garbage or
// slowness costs only its own connection. Other threads reach a connection
// through the broker's mailbox: (resp_push_atom, connection ids, resp_push)
// appends the push as the session renders it, under the same output limit
// (resp_services.hpp says who sends them).
//
// All connections live in one broker, which CAF 0.17 runs on the
// middleman's I/O thread, as it runs every broker: commands never block
// (resp_session.hpp), so one client's command delays others by its own
// cost only. start/stop from a plain thread, never from an actor.
#pragma once

#include <cstdint>
#include <memory>

#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/actors/resp/resp_clients.hpp"
#include "cachebus/actors/resp/resp_options.hpp"

namespace cachebus {

class node;
class tls_context;
class resp_services;

class resp_server {
 public:
  /// Listens on opts.host:opts.port and serves `n`; the record commands
  /// (CB.UPDATE, CB.QUEUE, CB.RECORD) go to `records` (the node's record
  /// frontend; invalid: the node has no system of record). With opts.tls,
  /// every connection speaks TLS with `tls`'s credentials (the node
  /// transport's: cachebus.tls), and a client needs a certificate of its
  /// CAs (invalid_config if `tls` is null). REQUIRES: the middleman is
  /// loaded (cachebus::config does); `n` outlives the server (stop() or
  /// destroy it first).
  static caf::expected<std::unique_ptr<resp_server>>
  start(caf::actor_system& sys, node& n, resp_options opts,
        record_calls_actor records = {},
        std::shared_ptr<tls_context> tls = nullptr);

  /// Stops it.
  ~resp_server();

  resp_server(const resp_server&) = delete;
  resp_server& operator=(const resp_server&) = delete;

  /// The port it listens on.
  uint16_t port() const noexcept { return port_; }

  /// Its connections and counters.
  const resp_clients& clients() const noexcept { return *clients_; }

  /// Its tracking table and pub/sub registry (resp_services.hpp).
  resp_services& services() noexcept { return *services_; }

  /// Closes the port and every connection and waits until no session runs.
  /// Idempotent.
  void stop();

 private:
  resp_server(caf::actor_system& sys) : sys_(sys) {
    // nop
  }

  caf::actor_system& sys_;
  caf::actor broker_;
  uint16_t port_ = 0;
  std::shared_ptr<resp_clients> clients_;
  std::shared_ptr<resp_services> services_;
};

} // namespace cachebus
