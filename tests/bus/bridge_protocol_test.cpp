#include "cachebus/bus/bridge_protocol.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"

#include "cachebus/bus/bridge_stats.hpp"
#include "cachebus/bus/peer_event.hpp"
#include "cachebus/bus/type_ids.hpp"

#include "bus_fixture.hpp"

using namespace cachebus;

namespace {

// Two separate systems stand for two nodes: what one writes, the other reads
// by registered type name only.
struct wire_fixture {
  test::bus_config sender_cfg;
  caf::actor_system sender{sender_cfg};
  test::bus_config receiver_cfg;
  caf::actor_system receiver{receiver_cfg};

  caf::message cross(const caf::message& msg) {
    std::vector<char> buf;
    {
      caf::binary_serializer sink{sender, buf};
      auto copy = msg;
      auto err = sink(copy);
      INFO(sender.render(err));
      REQUIRE(!err);
    }
    caf::message result;
    caf::binary_deserializer source{receiver, buf};
    auto err = source(result);
    INFO(receiver.render(err));
    REQUIRE(!err);
    CHECK(source.remaining() == 0);
    return result;
  }
};

bridge_handshake sample_handshake() {
  return {bridge_protocol_version,
          "node-a",
          0xDEADBEEFCAFEF00Dull,
          "127.0.0.1",
          40001,
          17,
          {{"node-a", "127.0.0.1", 40001}, {"node-b", "::1", 40002}}};
}

} // namespace

// An unregistered type does not fail to compile or to send: it arrives as an
// empty message (docs/CAF-0.17.md, pitfall 7). Every message of the bridge
// protocol is checked here, so forgetting to register one fails this test.
TEST_CASE_METHOD(wire_fixture,
                 "every bridge message crosses the wire intact by its "
                 "registered name") {
  auto hello
    = cross(caf::make_message(bridge_hello_atom_v, sample_handshake()));
  REQUIRE(hello.match_elements<caf::atom_value, bridge_handshake>());
  CHECK(hello.get_as<caf::atom_value>(0) == bridge_hello_atom_v);
  CHECK(hello.get_as<bridge_handshake>(1) == sample_handshake());
  auto reply = cross(caf::make_message(sample_handshake()));
  REQUIRE(reply.match_elements<bridge_handshake>());
  CHECK(reply.get_as<bridge_handshake>(0) == sample_handshake());
  auto beat = cross(caf::make_message(bridge_beat_atom_v, uint64_t{9}));
  REQUIRE(beat.match_elements<caf::atom_value, uint64_t>());
  CHECK(beat.get_as<caf::atom_value>(0) == bridge_beat_atom_v);
  CHECK(beat.get_as<uint64_t>(1) == 9);
  std::vector<bridge_member> list{{"a", "127.0.0.1", 1}, {"b", "h", 2}};
  auto members = cross(caf::make_message(bridge_members_atom_v, list));
  REQUIRE(
    members.match_elements<caf::atom_value, std::vector<bridge_member>>());
  CHECK(members.get_as<std::vector<bridge_member>>(1) == list);
  for (auto& payload : {caf::make_message(invalidated{"users", "1", 2, "a", 3}),
                        caf::make_message(tag_invalidated{"t", "a", 4}),
                        caf::make_message(keys_invalidated{{"k"}, "a", 5}),
                        caf::make_message(pattern_invalidated{"p*", "a", 6})}) {
    auto event = cross(caf::make_message(bridge_event_atom_v, payload));
    REQUIRE(event.match_elements<caf::atom_value, caf::message>());
    auto& inner = event.get_as<caf::message>(1);
    INFO(to_string(payload));
    CHECK(!inner.empty());
    CHECK(to_string(inner) == to_string(payload));
  }
  // Refusals travel as errors with a readable context.
  auto err = cross(caf::make_message(caf::make_error(
    caf::sec::invalid_argument, "node name \"b\" is already taken")));
  REQUIRE(err.match_elements<caf::error>());
  CHECK(err.get_as<caf::error>(0) == caf::sec::invalid_argument);
  CHECK(to_string(err.get_as<caf::error>(0).context()).find("already taken")
        != std::string::npos);
}

TEST_CASE_METHOD(wire_fixture,
                 "a replay request and its batch of events cross the wire "
                 "intact by their registered names") {
  replay_request req{0xABCDull, 17, 4000};
  auto asked = cross(caf::make_message(bridge_replay_atom_v, req));
  REQUIRE(asked.match_elements<caf::atom_value, replay_request>());
  CHECK(asked.get_as<caf::atom_value>(0) == bridge_replay_atom_v);
  CHECK(asked.get_as<replay_request>(1) == req);
  replay_batch b;
  b.status = replay_status::ok;
  b.incarnation = 0xABCDull;
  b.from = 17;
  b.events = {caf::make_message(invalidated{"users", "1", 2, "a", 17}),
              caf::make_message(tag_invalidated{"t", "a", 18}),
              caf::make_message(keys_invalidated{{"k", "l"}, "a", 19}),
              caf::make_message(pattern_invalidated{"p*", "a", 20})};
  auto got = cross(caf::make_message(b));
  REQUIRE(got.match_elements<replay_batch>());
  auto& x = got.get_as<replay_batch>(0);
  CHECK(x.status == replay_status::ok);
  CHECK(x.incarnation == b.incarnation);
  CHECK(x.from == 17);
  REQUIRE(x.events.size() == 4);
  for (size_t i = 0; i < 4; ++i)
    CHECK(to_string(x.events[i]) == to_string(b.events[i]));
  replay_batch refused;
  refused.status = replay_status::trimmed;
  auto got_refused = cross(caf::make_message(refused));
  REQUIRE(got_refused.match_elements<replay_batch>());
  CHECK(got_refused.get_as<replay_batch>(0).status == replay_status::trimmed);
}

TEST_CASE_METHOD(wire_fixture,
                 "peer events and bridge stats survive serialization") {
  peer_event ev{"b", peer_event_kind::gap, 41, 7, "expected 42, got 44"};
  ev.drop = drop_cause::trimmed;
  auto got = cross(caf::make_message(ev));
  REQUIRE(got.match_elements<peer_event>());
  CHECK(got.get_as<peer_event>(0) == ev);
  bridge_stats st;
  st.node = "a";
  st.port = 4000;
  st.events_out = 3;
  st.peers.push_back({"b", "127.0.0.1", 4001, peer_state::reconnecting, 9, 12,
                      13, "its bridge is down"});
  auto got_stats = cross(caf::make_message(st));
  REQUIRE(got_stats.match_elements<bridge_stats>());
  CHECK(got_stats.get_as<bridge_stats>(0) == st);
}

TEST_CASE("a node without add_bus_types reads a handshake as nothing") {
  test::bus_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    auto msg = caf::make_message(bridge_hello_atom_v, sample_handshake());
    REQUIRE(!sink(msg));
  }
  caf::actor_system_config bare_cfg;
  bare_cfg.set("scheduler.max-threads", size_t{1});
  caf::actor_system bare{bare_cfg};
  caf::message msg;
  caf::binary_deserializer source{bare, buf};
  auto err = source(msg);
  CHECK((err || msg.empty()));
}

TEST_CASE("peer event kinds and peer states print by name") {
  CHECK(to_string(peer_event_kind::rejoined) == "rejoined");
  CHECK(to_string(peer_event_kind::replaying) == "replaying");
  CHECK(to_string(peer_event_kind::replayed) == "replayed");
  CHECK(to_string(drop_cause::new_incarnation) == "new_incarnation");
  CHECK(to_string(drop_cause::gone) == "gone");
  CHECK(to_string(peer_event_kind::gap) == "gap");
  CHECK(to_string(peer_state::reconnecting) == "reconnecting");
  CHECK(to_string(peer_state::refused) == "refused");
}
