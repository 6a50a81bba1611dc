#include "cachebus/bus/peer_address.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "caf/sec.hpp"

#include "cachebus/bus/bridge_options.hpp"

using namespace cachebus;

namespace {

std::string refusal(std::string_view text) {
  auto result = parse_peer_address(text);
  if (result)
    return "accepted";
  CHECK(result.error() == caf::sec::invalid_argument);
  REQUIRE(result.error().context().match_elements<std::string>());
  return result.error().context().get_as<std::string>(0);
}

bool says(std::string_view text, std::string_view needle) {
  auto msg = refusal(text);
  INFO(msg);
  return msg.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("a peer address is host:port or [ipv6]:port") {
  CHECK(parse_peer_address("127.0.0.1:4000")
        == peer_address{"127.0.0.1", 4000});
  CHECK(parse_peer_address("node-b.internal:1")
        == peer_address{"node-b.internal", 1});
  CHECK(parse_peer_address("[::1]:65535") == peer_address{"::1", 65535});
  CHECK(to_string(peer_address{"::1", 80}) == "[::1]:80");
  CHECK(to_string(peer_address{"127.0.0.1", 80}) == "127.0.0.1:80");
}

TEST_CASE("a malformed peer address is refused and the refusal says why") {
  CHECK(says("localhost", "missing ':port'"));
  CHECK(says("", "missing ':port'"));
  CHECK(says("127.0.0.1:", "the port is empty"));
  CHECK(says("127.0.0.1:65536", "out of range"));
  CHECK(says("127.0.0.1:99999999999999999999", "out of range"));
  CHECK(says("127.0.0.1:0", "out of range"));
  CHECK(says("127.0.0.1:+80", "not a decimal number"));
  CHECK(says("127.0.0.1: 80", "not a decimal number"));
  CHECK(says(":80", "the host is empty"));
  CHECK(says("my host:80", "blanks"));
  CHECK(says("::1:80", "must be written in brackets"));
  CHECK(says("[::1:80", "without a closing ']'"));
  CHECK(says("[::1]80", "missing ':port' after"));
  CHECK(says("localhost", "\"localhost\""));
}

TEST_CASE("bridge options are checked before anything starts") {
  bridge_options ok;
  ok.node = "a";
  CHECK(!check_bridge_options(ok));
  auto refused = [&](auto change, std::string needle) {
    auto opts = ok;
    change(opts);
    auto err = check_bridge_options(opts);
    REQUIRE(err);
    REQUIRE(err.context().match_elements<std::string>());
    auto text = err.context().get_as<std::string>(0);
    INFO(text);
    CHECK(text.find(needle) != std::string::npos);
  };
  refused([](auto& o) { o.node.clear(); }, "must not be empty");
  refused([](auto& o) { o.node = std::string(256, 'n'); }, "longer than 255");
  refused([](auto& o) { o.node = "a\nb"; }, "visible ASCII");
  refused([](auto& o) { o.host.clear(); }, "bridge host");
  refused([](auto& o) { o.host = "::"; }, "advertised_host");
  refused(
    [](auto& o) {
      o.seeds = {"127.0.0.1:1", "nope"};
    },
    "bridge seed: peer address \"nope\"");
  refused([](auto& o) { o.heartbeat_interval = caf::timespan{0}; },
          "heartbeat interval must be positive");
  refused([](auto& o) { o.peer_timeout = o.heartbeat_interval / 2; },
          "must exceed the heartbeat interval");
  refused([](auto& o) { o.reconnect_initial = caf::timespan{0}; },
          "initial reconnect delay");
  refused(
    [](auto& o) { o.reconnect_max = o.reconnect_initial - caf::timespan{1}; },
    "below the initial one");
  refused([](auto& o) { o.connect_timeout = caf::timespan{-1}; },
          "connect timeout");
  refused([](auto& o) { o.reorder_timeout = caf::timespan{0}; },
          "reorder timeout");
  refused([](auto& o) { o.first_sequence = 0; }, "first sequence");
  auto wildcard = ok;
  wildcard.host = "0.0.0.0";
  wildcard.advertised_host = "10.0.0.5";
  // Beyond loopback only with TLS (tls_bridge_test.cpp).
  CHECK(check_bridge_options(wildcard));
  wildcard.tls = true;
  CHECK(!check_bridge_options(wildcard));
}

TEST_CASE("only loopback hosts count as loopback, in any spelling") {
  for (auto host : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]",
                    "0:0:0:0:0:0:0:1"})
    CHECK(is_loopback_host(host));
  for (auto host : {"127.evil.example", "10.0.0.1", "0.0.0.0", "::", "",
                    "128.0.0.1", "localhost.example"})
    CHECK_FALSE(is_loopback_host(host));
}
