// The options of a node's Redis-protocol port, all under `cachebus.resp-*`
// in CAF's configuration (command line, caf-application.ini), declared with
// the node's other options and checked before anything starts: a bad value
// is invalid_config naming the option. The port is off unless
// cachebus.resp-port is set; it listens on cachebus.listen-host, as the
// node's other ports do, and speaks TLS when the node does (cachebus.tls,
// with the node's certificates). A non-loopback address needs both TLS and
// cachebus.resp-password. Plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "caf/config_option_set.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

#include "cachebus/actors/resp/resp_parser.hpp"

namespace cachebus {

struct resp_options {
  /// True if cachebus.resp-port is set (0: any free port).
  bool enabled = false;
  uint16_t port = 0;
  /// cachebus.listen-host.
  std::string host = "127.0.0.1";
  /// AUTH password of user "default"; empty: no authentication.
  std::string password;
  /// cachebus.tls: connections speak TLS (resp_tls.hpp).
  bool tls = false;
  /// Request bounds (resp-max-request-bytes, resp-max-bulk-length,
  /// resp-max-multibulk-length; inline lines stay at 64 KiB).
  resp_parser::limits limits;
  /// A client whose unwritten replies exceed this is disconnected.
  size_t max_output_bytes = size_t{64} << 20;
  /// A client silent this long is disconnected (0: never; a subscribed
  /// client never is).
  caf::timespan idle_timeout{0};
  /// Keys CLIENT TRACKING remembers at most (resp_tracking.hpp).
  size_t tracking_max_keys = 1'000'000;
};

/// Declares the cachebus.resp-* options in `opts` (cachebus::config does).
void declare_resp_options(caf::config_option_set& opts);

/// Reads and checks the cachebus.resp-* options (and listen-host).
caf::expected<resp_options>
resp_options_from(const caf::actor_system_config& cfg);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

} // namespace cachebus
