// Receives the change feed of a PostgreSQL record store (see
// postgres_store::install_change_feed) on its own connection: LISTEN on the
// channel "cachebus", then poll() for changes, made by anyone. Not
// thread-safe: one thread owns a listener (the actor layer wraps it).
// Notifications sent while the connection is down are lost: after poll()
// failed, treat everything cached from this database as possibly stale.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachebus/stores/change.hpp"
#include "cachebus/stores/pg_connection.hpp"
#include "cachebus/stores/result.hpp"

namespace cachebus::stores {

class change_listener {
 public:
  /// Connects to `conninfo` and starts listening. Fails with unavailable if
  /// the server cannot be reached, invalid_argument if `conninfo` is
  /// malformed.
  static result<std::unique_ptr<change_listener>>
  open(std::string conninfo,
       std::chrono::seconds connect_timeout = std::chrono::seconds{5});

  ~change_listener();

  change_listener(const change_listener&) = delete;
  change_listener& operator=(const change_listener&) = delete;

  /// Waits up to `timeout` for changes and returns those that arrived, in
  /// commit order; returns early as soon as there is at least one, and an
  /// empty vector on timeout. Fails with unavailable if the connection is
  /// lost; the next call reconnects (and fails at once, without waiting, if
  /// the server is still unreachable: back off between calls).
  result<std::vector<change>> poll(std::chrono::milliseconds timeout);

  /// How many notifications on the channel were not valid change payloads
  /// (someone else sending NOTIFY cachebus) and were dropped.
  uint64_t malformed() const noexcept { return malformed_; }

 private:
  change_listener(std::string conninfo, std::chrono::seconds connect_timeout);

  status connect();

  // Moves the notifications libpq has already read into `out`.
  void drain(std::vector<change>& out);

  std::string conninfo_;
  std::chrono::seconds connect_timeout_;
  pg_connection conn_;
  uint64_t malformed_ = 0;
};

} // namespace cachebus::stores
