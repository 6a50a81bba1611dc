// A peer's network address as users write it: "host:port", or "[v6]:port"
// for an IPv6 literal. Parsing refuses anything else with
// `sec::invalid_argument` and a message that quotes the input and says what
// is wrong (missing port, port not a number, port out of 1-65535, empty or
// blank host). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace cachebus {

struct peer_address {
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const peer_address&, const peer_address&) = default;
};

caf::expected<peer_address> parse_peer_address(std::string_view text);

/// True for a loopback host: 127.0.0.0/8, ::1 in any spelling (bracketed
/// or not) or "localhost". What a port may listen on without TLS or a
/// password.
bool is_loopback_host(const std::string& host);

/// "host:port", with brackets around a host that contains ':'.
std::string to_string(const peer_address& x);

} // namespace cachebus
